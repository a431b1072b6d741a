"""The gunicorn transport: how SSE bytes reach a socket under gunicorn's gevent worker.

Everything here leans on gunicorn's insides, so it lives apart from the core (hub, store,
runner, streams), which knows only the `Writer` interface of `progress.hub`:
- `chunked.py`: an event as an HTTP/1.1 chunk, and a socket written to around gunicorn;
- `direct.py`: the hub writes events to an idle stream greenlet's socket itself;
- `detached.py` and `takeover.py`: streams with no greenlet at all;
- `front_door.py`: for an app that registers a `StreamOpener` (web does), a stream request
  answered before gunicorn reads it;
- `graceful.py`: SIGTERM ends jobs and streams in seconds, not gunicorn's graceful timeout.

`post_worker_init` installs them; gunicorn.conf.py and an embedding app's gunicorn config
both take it with one line, `from progress.gunicorn_transport import post_worker_init`.
"""

from __future__ import annotations

import logging
from typing import Any

from packaging.version import Version

log = logging.getLogger("progress.gunicorn_transport")

STREAM_OPENER_KEY = "progress.stream_opener"
"""Where an app keeps its `front_door.StreamOpener` (Flask's `app.extensions`) for `install`."""

TESTED_GUNICORN = (Version("23"), Version("28"))
"""gunicorn versions the take-over was tested on, from the first up to (not including) the
second; pyproject.toml bounds gunicorn the same way."""


def takeover_supported(version: str) -> bool:
    low, high = TESTED_GUNICORN
    return low <= Version(version) < high


def install(worker: Any, version: str | None = None) -> Any:
    """Track the worker's connections and, on a tested gunicorn, serve SSE streams detached,
    opened before gunicorn reads the request where the app registered a `StreamOpener`;
    elsewhere streams stay in gunicorn's greenlets, with one warning line. Returns the
    tracked connections, for a graceful shutdown."""
    import gunicorn

    from .front_door import FrontDoor
    from .takeover import OpenConnections, Takeover, track_connections

    version = version or gunicorn.__version__
    if not takeover_supported(version):
        low, high = TESTED_GUNICORN
        log.warning("gunicorn %s is outside the versions tested (%s to before %s): SSE streams keep "
                    "a greenlet each instead of being served detached", version, low, high)
        return track_connections(worker, {})
    connections: OpenConnections = {}
    takeover = Takeover(worker, connections)
    worker.wsgi.wsgi_app = takeover.wrap(worker.wsgi.wsgi_app)
    opener = getattr(worker.wsgi, "extensions", {}).get(STREAM_OPENER_KEY)
    if opener is not None and FrontDoor.applies_to(worker.cfg):
        worker.handle = FrontDoor(worker, opener, takeover.detach).wrap(worker.handle)
    return track_connections(worker, connections)  # outermost: a connection is tracked from its start


def post_worker_init(worker: Any) -> None:
    """gunicorn's hook of that name, for a config file to import as it is: streams served
    detached and, for an app with a `ProgressExtension`, its graceful SIGTERM (503 for new jobs
    at once, running jobs `interrupted` after a short grace, every stream told and ended, idle
    keep-alive connections closed, then gunicorn's own exit)."""
    from . import graceful

    connections = install(worker)
    mounted = getattr(worker.wsgi, "extensions", {}).get("progress")  # no Flask import here
    if mounted is not None:
        graceful.install(worker, mounted.service, connections)
