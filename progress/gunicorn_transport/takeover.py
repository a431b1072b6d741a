"""Taking SSE connections over from gunicorn's gevent worker, so no greenlet waits per stream.

gunicorn serves each connection in a greenlet that stays parked inside a streaming
response, holding the request's objects: about 17 KB per open stream (docs/performance.md).
With this installed (`post_worker_init` in gunicorn.conf.py), an SSE response that
gunicorn would send chunked, with nothing pipelined behind its request, is sent by us
instead: the headers and first bytes at once, then its events by the hub's publishers
(detached.py). gunicorn's greenlet ends at once, the descriptor detached from its
socket object, so nothing of it stays. When a job's stream ends, the connection goes back
to gunicorn's keep-alive loop in a new greenlet, so the client's next request is served on
it as usual.

It leans on six gunicorn internals, so `install` (in `__init__.py`) turns it on only for
the gunicorn versions the tests ran: its handler ends a connection quietly when the app
raises `StopIteration` (its own way of saying "close"); the worker's `handle` serves any
connected socket; `worker.alive` and `worker.cfg.keepalive`; `environ["gunicorn.socket"]`;
and the parser's read-ahead buffer at `wsgi.input.reader.unreader.buf`.
"""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any

import gevent
from gevent import socket as gevent_socket

from .. import defaults
from ..streams import Stream
from .chunked import WILL_DETACH, ChunkedSocket, sent_chunked
from .detached import Drainer, Heartbeats

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


OpenConnections = dict[gevent_socket.socket, tuple[Any, Any]]
"""Every connection one gunicorn gevent worker is serving, with the listener it came in on
and the peer's address: for the take-over, and for closing idle ones at shutdown (graceful.py)."""


def track_connections(worker: Any, open_connections: OpenConnections) -> OpenConnections:
    """Keep the worker's connections in `open_connections` while its `handle` serves them."""
    serve = worker.handle

    def handle(listener: Any, client: gevent_socket.socket, addr: Any) -> None:
        open_connections[client] = (listener, addr)
        try:
            serve(listener, client, addr)
        finally:
            open_connections.pop(client, None)

    worker.handle = handle  # the worker binds `self.handle` when it starts serving, after this
    return open_connections


class Takeover:
    """Installed on one gunicorn gevent worker whose connections are tracked."""

    def __init__(self, worker: Any, connections: OpenConnections) -> None:
        self._worker = worker
        self._connections = connections
        self._heartbeats: dict[float, Heartbeats] = {}

    def wrap(self, app: WSGIApp) -> WSGIApp:
        """The WSGI middleware that serves a `Stream` response detached where it can."""

        def serve_detached_streams(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            client = environ.get("gunicorn.socket")
            where = self._connections.get(client) if _detachable(environ) else None  # type: ignore[arg-type]
            if where is None:
                return app(environ, start_response)
            environ[WILL_DETACH] = True
            head: list[Any] = []

            def keep_head(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                """gunicorn is told the head only if the answer stays its to send."""
                head[:] = [status, headers, exc_info]
                return write_now

            def write_now(data: bytes) -> None:
                """WSGI's `write()`: an app that writes before it returns sends through gunicorn."""
                write = start_response(*head)
                head.clear()
                write(data)

            body = app(environ, keep_head)
            if not isinstance(body, Stream) or not head:
                if head:
                    start_response(*head)
                return body
            self.detach(body, client, where, *head[:2], keep_alive=keeps_alive(environ))  # type: ignore[arg-type]
            raise StopIteration  # gunicorn ends its handler without a word; the connection is ours

        return serve_detached_streams

    def detach(self, stream: Stream, client: gevent_socket.socket, where: tuple[Any, Any], status: str,
               headers: list[tuple[str, str]], keep_alive: bool) -> None:
        """Take the descriptor from gunicorn's socket object and serve `stream` on it detached."""
        sock = gevent_socket.socket(fileno=client.detach())
        sock.settimeout(defaults.SLOW_CLIENT_CUTOFF_S)
        listener, addr = where

        def give_back(conn: ChunkedSocket, reusable: bool) -> None:
            """The stream is over: gunicorn serves the connection's next request, or it closes."""
            if reusable and keep_alive and self._worker.alive and self._worker.cfg.keepalive:
                gevent.spawn(self._worker.handle, listener, conn.socket, addr)
            else:
                conn.socket.close()

        heartbeats = self._heartbeats.get(stream.quiet_s)
        if heartbeats is None:  # one per interval, made once
            heartbeats = self._heartbeats[stream.quiet_s] = Heartbeats(stream.quiet_s)
        try:
            Drainer.run(stream, ChunkedSocket(sock), response_head(status, headers, keep_alive), give_back,
                        heartbeats)
        except BaseException:
            sock.close()  # a failure opening the stream: no descriptor left behind
            raise


def keeps_alive(environ: dict[str, Any]) -> bool:
    """HTTP/1.1 keeps the connection unless the client said `Connection: close`."""
    return "close" not in environ.get("HTTP_CONNECTION", "").lower()


def _detachable(environ: dict[str, Any]) -> bool:
    """Where gunicorn would send the response chunked, and its parser holds no byte past
    this request: no body, no pipelined request (which the parser would take away with it)."""
    return (sent_chunked(environ)
            and environ.get("CONTENT_LENGTH") in (None, "", "0")
            and "HTTP_TRANSFER_ENCODING" not in environ
            and _nothing_read_ahead(environ))


def _nothing_read_ahead(environ: dict[str, Any]) -> bool:
    """gunicorn's read-ahead buffer is empty; False if it cannot be found (a gunicorn
    whose insides changed keeps its streams rather than lose a request)."""
    reader = getattr(environ.get("wsgi.input"), "reader", None)
    read_ahead = getattr(getattr(reader, "unreader", None), "buf", None)
    return isinstance(read_ahead, io.BytesIO) and not read_ahead.getvalue()


def response_head(status: str, headers: list[tuple[str, str]], keep_alive: bool) -> bytes:
    """The status line and headers gunicorn would send for a chunked response."""
    connection = "keep-alive" if keep_alive else "close"
    lines = [f"HTTP/1.1 {status}", f"Date: {http_date(int(time.time()))}", f"Connection: {connection}",
             "Transfer-Encoding: chunked", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@functools.lru_cache(maxsize=1)
def http_date(second: int) -> str:
    """The `Date` of a response sent in this second (RFC 9110), made once a second in a storm."""
    return formatdate(second, usegmt=True)
