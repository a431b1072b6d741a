"""`ChunkedSocket`: the client socket of a chunked gunicorn response, written to around
gunicorn, and the HTTP/1.1 chunk of an event, made once for every stream it goes to.

Only where gunicorn frames the response as chunked: a GET over HTTP/1.1 on a plain socket
(not TLS, not HTTP/2). `python -m web` (gevent's pywsgi) never gets one and writes every
event the usual way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from gevent import socket as gevent_socket

from ..events import Event


WILL_DETACH = "progress.will_detach"
"""Set in a request's environ by the take-over (takeover.py) when it will serve a `Stream`
answer itself, so the response need not set up its socket for a greenlet that never waits."""


def sent_chunked(environ: Mapping[str, Any]) -> bool:
    """gunicorn sends this request's response chunked: a GET over HTTP/1.1 on its plain socket
    (not TLS, a subclass; HEAD has no body; HTTP/1.0 is not chunked; HTTP/2 frames its own)."""
    return (type(environ.get("gunicorn.socket")) is gevent_socket.socket and environ.get("REQUEST_METHOD") == "GET"
            and environ.get("SERVER_PROTOCOL") == "HTTP/1.1")


def http_chunk(frame: bytes) -> bytes:
    """`frame` as one chunk of HTTP/1.1 chunked transfer coding (RFC 9112, 7.1)."""
    return b"%x\r\n%s\r\n" % (len(frame), frame)


class _LastChunk:
    """The hub hands one event to every stream in turn: its chunk is made once, for all."""

    event: Event | None = None
    chunk = b""


def chunk_of(event: Event) -> bytes:
    if _LastChunk.event is not event:
        _LastChunk.event, _LastChunk.chunk = event, http_chunk(event.frame)
    return _LastChunk.chunk


class ChunkedSocket:
    """The client socket of one chunked gunicorn response, written to around gunicorn."""

    __slots__ = ("_sock", "_fd")

    def __init__(self, sock: gevent_socket.socket) -> None:
        self._sock = sock
        self._fd = sock.fileno()

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> ChunkedSocket | None:
        """The socket of this request if gunicorn sends its response chunked, else None."""
        return cls(environ["gunicorn.socket"]) if sent_chunked(environ) else None

    @property
    def socket(self) -> gevent_socket.socket:
        return self._sock

    def fileno(self) -> int:
        return self._fd

    def send_now(self, data: bytes) -> int:
        """Bytes written without waiting (0 when the socket would block).

        gevent keeps every socket non-blocking underneath, so this never blocks the loop.
        Raises `OSError` when the client is gone.
        """
        try:
            return os.write(self._fd, data)
        except BlockingIOError:
            return 0

    def send_rest(self, data: bytes) -> None:
        """Write all of `data`, waiting in this greenlet up to the socket's timeout (the
        slow-client cutoff); raises `OSError` (a timeout too) and the stream ends."""
        self._sock.sendall(data)


class Outbox:
    """What goes to one client at once, without waiting, and what its socket would not take yet."""

    __slots__ = ("sock", "unsent", "sent_at", "gone")

    def __init__(self, sock: ChunkedSocket) -> None:
        self.sock = sock
        self.unsent = b""
        self.sent_at = time.monotonic()
        self.gone = False

    def write_now(self, chunk: bytes) -> bool:
        """Write what the socket takes now; the rest waits in `unsent` for `flush`. False if
        the client is gone (then whoever sends next finds the broken connection)."""
        if self.gone:
            return False
        try:
            sent = self.sock.send_now(chunk)
        except OSError:
            self.gone = True
            return False
        self.sent_at = time.monotonic()
        if sent < len(chunk):
            self.unsent = chunk[sent:]
        return True

    def flush(self) -> None:
        """Send what was left half sent, waiting in this greenlet up to the socket's timeout."""
        if self.unsent:
            unsent, self.unsent = self.unsent, b""
            self.sock.send_rest(unsent)
