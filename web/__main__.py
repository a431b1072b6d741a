"""`python -m web`: the development server on gevent's own WSGI server."""

from gevent import monkey

monkey.patch_all()  # first, before anything imports socket, ssl or threading

import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

import gevent  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from progress.flask_adapter import service_of  # noqa: E402
from progress.redis_backend.address import RedisAddress  # noqa: E402

from .app import configure_logging, create_app  # noqa: E402
from .settings import SettingsError, load_settings  # noqa: E402


def listen_address(bind: str) -> tuple[str, int] | str:
    if bind.startswith("unix:"):
        return bind[len("unix:"):]
    host, port = bind.rsplit(":", 1)
    return host.strip("[]"), int(port)


def check_redis(address: RedisAddress) -> None:
    """At the first start, as gunicorn's master does: a Redis that does not answer then is most
    likely a wrong URL. A worker started later connects when it can (docs/redis.md)."""
    from progress.redis_backend.connection import Connection, RedisUnreachable, check_reachable

    try:
        check_reachable(Connection(address).client(), address)
    except RedisUnreachable as error:
        raise SettingsError(f"{address.setting}: {error}") from None


def main() -> None:
    configure_logging()
    try:
        settings = load_settings(os.environ)
        if settings.redis_address is not None:
            check_redis(settings.redis_address)
        app = create_app(settings)
    except SettingsError as error:
        sys.exit(str(error))
    server = WSGIServer(listen_address(settings.bind), app)

    def stop() -> None:
        service_of(app).shutdown()
        server.stop(timeout=5)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: gevent.spawn(stop))
    print(f"serving on http://{settings.bind}", file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
