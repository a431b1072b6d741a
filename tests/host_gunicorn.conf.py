"""gunicorn settings of tests/host_app.py, as an embedding app would write its own."""

import os

from progress.gunicorn_transport import post_worker_init  # noqa: F401  (the README's one line: take-over, SIGTERM)

wsgi_app = "tests.host_app:create_host_app()"
worker_class = "gevent"
bind = [os.environ["BIND"]]
graceful_timeout = 5  # the one line above ends jobs and streams well before it
control_socket_disable = True  # one fixed socket path would collide between servers side by side
