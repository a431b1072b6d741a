"""gunicorn settings for the progress server, read as documentation.

Start it with `gunicorn -c gunicorn.conf.py`. Our own settings come from
environment variables (see the README); a bad one stops the start here, with
a line naming the variable.
"""

import os
import resource
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # so `web` imports from any cwd

from web.settings import SettingsError, load_settings  # noqa: E402

try:
    settings = load_settings(os.environ)
except SettingsError as error:
    sys.exit(f"gunicorn.conf.py: {error}")

# Without SECRET_KEY, one random key for every worker of this start: a key per worker
# would make a page session count only on the worker that signed it in.
if settings.api_tokens_file and not settings.secret_key:
    import secrets

    os.environ["SECRET_KEY"] = secrets.token_urlsafe(32)

# --- The app -----------------------------------------------------------------

# The WSGI app. No `preload_app`: it would import the app in the master, before
# the worker's gevent monkey-patching.
wsgi_app = "web.wsgi:app"

# Run from this folder, whatever the caller's working directory.
chdir = os.path.dirname(os.path.abspath(__file__))

# --- Where and how many -----------------------------------------------------

# Listen address, from BIND (default 127.0.0.1:8000).
bind = [settings.bind]

# gevent: one process serves thousands of open streams. Requests run in greenlets;
# an open stream holds none once `post_worker_init` below has set up the take-over.
worker_class = "gevent"

# Exactly one worker: the in-memory hub lives in one process, and a second worker
# would show each client only half of the events (sse-starlette#75). More
# workers need REDIS_URL; `on_starting` below refuses them otherwise.
workers = 1

# Several workers (with REDIS_URL) share one listening socket, and a worker whose loop is
# free takes the next connection, so streams spread evenly and a busy worker takes fewer.
# gunicorn's `reuse_port` (a socket per worker, the kernel hashing connections to them)
# spread them no more evenly and queued connections behind busy workers, so it stays off
# (measured with 100,000 streams on six workers: docs/performance.md).
reuse_port = False

# Connections gunicorn serves at once. A stream taken over (see `post_worker_init`)
# no longer counts here; streams are bounded by the open-file limit (`ulimit -n`):
# raise it to match. At that limit gevent retries accepting with a back-off and a
# log line, and new clients wait in the backlog.
worker_connections = 20000

# Every open stream is an open socket, and many systems start a process with a soft
# limit of 1,024 open files. Raise it as far as the hard limit allows (the workers
# inherit it); `on_starting` warns when it stays below worker_connections.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
_wanted = worker_connections + 1024  # the streams, plus files, logs and other sockets
if _soft != resource.RLIM_INFINITY and _soft < _wanted:
    _raised = _wanted if _hard == resource.RLIM_INFINITY else min(_wanted, _hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (_raised, _hard))

# Connections waiting to be accepted: a burst of reconnects after a restart
# must not be refused.
backlog = 4096

# --- Timeouts ----------------------------------------------------------------

# An idle keep-alive connection stays open longer than SSE_RETRY_MS, so a
# browser's reconnect on it never races the server closing it.
keepalive = max(5, settings.sse_retry_ms // 1000 + 3)

# The master restarts a worker silent for this long. The gevent worker reports
# every second from its own greenlet, so only a blocked event loop trips it.
timeout = 30

# After SIGTERM, how long gunicorn waits for connections before killing the
# worker. Our hook ends every stream within a few seconds, so this is a backstop.
graceful_timeout = 10

# No control socket: nothing here uses `gunicornc`, and one fixed socket path
# would collide between servers started side by side (tests, several sites).
control_socket_disable = True

# --- Logging -------------------------------------------------------------------

errorlog = "-"
loglevel = "info"


# --- Hooks -------------------------------------------------------------------

def on_starting(server):
    """Refuse more than one worker without Redis (REDIS_URL or REDIS_SENTINELS), and say why;
    with it, stop at once if Redis does not answer (rather than workers failing to boot one after
    another). Warn when the open-file limit caps the streams below worker_connections."""
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if open_files != resource.RLIM_INFINITY and open_files < server.cfg.worker_connections:
        server.log.warning("the open-file limit is %d, so a worker holds fewer than %d streams; raise "
                           "the hard limit (ulimit -Hn, or LimitNOFILE= under systemd)",
                           open_files, server.cfg.worker_connections)
    redis = settings.redis_address
    if server.cfg.workers > 1 and redis is None:
        sys.exit(f"gunicorn.conf.py: {server.cfg.workers} workers need REDIS_URL or REDIS_SENTINELS: without "
                 "Redis each worker has its own in-memory hub and clients would miss events. Use one worker.")
    if redis is not None:  # asked in a child: redis-py must not be imported before the workers patch
        import subprocess

        check = subprocess.run([sys.executable, "-m", "progress.redis_backend.connection", *redis.arguments()],
                               cwd=chdir, capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            reason = (check.stderr.strip().splitlines() or ["no answer"])[-1]
            sys.exit(f"gunicorn.conf.py: {redis.setting}: {reason}")


# --- Streams and SIGTERM -----------------------------------------------------

# gunicorn's `post_worker_init` hook, ready-made (progress/gunicorn_transport): open SSE
# streams are served detached, so none holds a greenlet and the hub writes events to the
# sockets; and SIGTERM ends the worker in seconds, not graceful_timeout: 503 for new jobs at
# once, running jobs `interrupted` after a short grace, every stream told and ended, idle
# keep-alive connections closed. An app of your own takes the same line.
from progress.gunicorn_transport import post_worker_init  # noqa: E402,F401
