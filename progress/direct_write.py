"""`ChunkedSocket`: the hub writes an event straight to an idle stream's socket (issue #6).

Under gunicorn each SSE write otherwise costs a wake-up of the stream's greenlet, a resume
of its generator and gunicorn's chunked write (framing, then gevent's `sendall`, which asks
the kernel for the buffer size every call): about 30 µs per delivery, most of the worker's
CPU with 1,000 subscribers. While a stream's greenlet waits with nothing pending, the hub
instead sends the event framed as one HTTP/1.1 chunk with one non-blocking write. The
greenlet wakes only when the socket would block (it then sends the rest itself, under the
slow-client timeout), when the write failed, or when the stream must end.

Only where gunicorn frames the response as chunked: a GET over HTTP/1.1 on a plain socket
(not TLS, not HTTP/2). gunicorn itself still writes the headers, the first chunk and the
closing `0\\r\\n\\r\\n`, so the keep-alive connection stays usable after a job stream ends.
`python -m web` (gevent's pywsgi) never gets one and writes every event the usual way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gevent import socket as gevent_socket


def http_chunk(frame: bytes) -> bytes:
    """`frame` as one chunk of HTTP/1.1 chunked transfer coding (RFC 9112, 7.1)."""
    return b"%x\r\n%s\r\n" % (len(frame), frame)


class ChunkedSocket:
    """The client socket of one chunked gunicorn response, written to around gunicorn."""

    __slots__ = ("_sock", "_fd")

    def __init__(self, sock: gevent_socket.socket) -> None:
        self._sock = sock
        self._fd = sock.fileno()

    @classmethod
    def from_environ(cls, environ: Mapping[str, Any]) -> ChunkedSocket | None:
        """The socket of this request if gunicorn sends its response chunked, else None."""
        sock = environ.get("gunicorn.socket")
        if type(sock) is not gevent_socket.socket:  # absent, or TLS (a subclass)
            return None
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
            return None  # HEAD has no body; HTTP/1.0 is not chunked; HTTP/2 frames its own
        return cls(sock)

    @property
    def socket(self) -> gevent_socket.socket:
        return self._sock

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
