# examples/host_app/gunicorn.conf.py
"""`gunicorn -c examples/host_app/gunicorn.conf.py`: the example on gunicorn's gevent worker."""

import os

from progress.gunicorn_transport import post_worker_init  # noqa: F401  (streams hold no greenlet; SIGTERM ends in seconds)

wsgi_app = "app:app"
chdir = os.path.dirname(os.path.abspath(__file__))  # app.py, kinds.py and users.py are here
worker_class = "gevent"
workers = 1  # its jobs database belongs to one process
bind = [os.environ.get("BIND", "127.0.0.1:5000")]
graceful_timeout = 5  # how long open streams may hold a stopping worker
control_socket_disable = True  # gunicorn's control socket has one fixed path: two servers would collide
