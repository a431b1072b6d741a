"""SIGTERM under gunicorn's gevent worker: end everything in seconds, not `graceful_timeout`.

At once: new jobs and `/healthz` get 503. Then running jobs get a short grace, the rest
become `interrupted`, every stream is told and ended (`ProgressService.shutdown`), and
gunicorn's own exit begins. Its worker then waits until no connection is open, and an
idle keep-alive connection would hold it for up to `keepalive` seconds after its last
request; so the read side of every connection still open is shut, which ends the idle
ones at once and lets a request in flight finish its answer.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Collection
from contextlib import suppress
from typing import Any

import gevent

from ..service import ProgressService


def install(worker: Any, service: ProgressService, connections: Collection[socket.socket]) -> None:
    """Called from `post_worker_init`, before the worker starts serving; `connections` are
    those gunicorn is serving (`takeover.track_connections` keeps them)."""
    gunicorn_exit = worker.handle_exit

    def stop(signum: int, frame: Any) -> None:
        service.shutdown()
        gunicorn_exit(signum, frame)
        for client in tuple(connections):
            with suppress(OSError):  # already closed by its peer
                _end_reading(client)

    signal.signal(signal.SIGTERM, lambda signum, frame: gevent.spawn(stop, signum, frame))


def _end_reading(client: socket.socket) -> None:
    """Shut the read side through a twin of the descriptor: gevent's own `shutdown` fails a
    waiting `recv` with an error gunicorn logs as a socket error; this way the kernel wakes it
    to read end-of-file, a client leaving (found by the soak, issue #8)."""
    with socket.socket(fileno=os.dup(client.fileno())) as twin:
        twin.shutdown(socket.SHUT_RD)
