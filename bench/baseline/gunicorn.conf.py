"""The baseline under exactly our gunicorn settings: copied from the project's `gunicorn.conf.py`."""

import os
import runpy

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_OURS = runpy.run_path(os.path.join(_ROOT, "gunicorn.conf.py"))

for _name in ("bind", "worker_class", "workers", "worker_connections", "backlog", "keepalive",
              "timeout", "graceful_timeout", "control_socket_disable", "errorlog", "loglevel", "chdir"):
    globals()[_name] = _OURS[_name]

wsgi_app = "bench.baseline.app:app"
