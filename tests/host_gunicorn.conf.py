"""gunicorn settings of tests/host_app.py, as an embedding app would write its own."""

import os

from progress.gunicorn_transport import post_worker_init  # noqa: F401  (the README's one line: the take-over)

wsgi_app = "tests.host_app:create_host_app()"
worker_class = "gevent"
bind = [os.environ["BIND"]]
graceful_timeout = 5  # nothing here ends open streams on SIGTERM; the tests close theirs first
control_socket_disable = True  # one fixed socket path would collide between servers side by side
