"""`DirectReader`: the hub writes an event straight to the socket of a stream whose greenlet
waits idle (issue #6).

Under gunicorn each SSE write otherwise costs a wake-up of the stream's greenlet, a resume
of its generator and gunicorn's chunked write (framing, then gevent's `sendall`, which asks
the kernel for the buffer size every call): about 30 µs per delivery, most of the worker's
CPU with 1,000 subscribers. While a stream's greenlet waits with nothing pending, the hub
instead sends the event framed as one HTTP/1.1 chunk with one non-blocking write. The
greenlet wakes only when the socket would block (it then sends the rest itself, under the
slow-client timeout), when the write failed, or when the stream must end. gunicorn itself
still writes the headers, the first chunk and the closing `0\\r\\n\\r\\n`, so the keep-alive
connection stays usable after a job stream ends.
"""

from __future__ import annotations

import time

from ..events import Event
from ..hub import Reader
from .chunked import ChunkedSocket, Outbox, chunk_of


class DirectReader(Reader):
    """A stream greenlet's `Reader` that lets the publisher write to the client while it waits."""

    __slots__ = ("_outbox",)

    def __init__(self, sock: ChunkedSocket) -> None:
        super().__init__()
        self._outbox = Outbox(sock)

    def offer(self, event: Event) -> bool:
        """Write to the idle reader's client; False if it is busy or the client is gone (the
        event then goes to the mailbox, and the reader's own write finds the broken connection)."""
        if not self.wakeup.waited_on or self._outbox.unsent or not self._outbox.write_now(chunk_of(event)):
            return False
        if self._outbox.unsent:
            self.wake()  # the reader sends the rest before anything else
        return True

    def flush(self) -> None:
        self._outbox.flush()

    def wait(self, quiet_s: float) -> bool:
        """False once `quiet_s` seconds passed with nothing sent to the client, counting what
        the publisher wrote directly meanwhile."""
        start = time.monotonic()
        remaining = quiet_s
        while not self.wakeup.wait(remaining):
            remaining = max(start, self._outbox.sent_at) + quiet_s - time.monotonic()
            if remaining <= 0:
                return False
        return True
