"""Detached streams: an SSE response with no greenlet waiting on it (issue #6).

A greenlet parked between events, with gunicorn's request objects on its stack, costs
about 17 KB per open stream. Once the server hands a stream's connection over
(takeover.py), the hub's publishers write each event straight to the socket, as they
already do for an idle reader (direct.py). A greenlet starts only
when there is something the publisher could not write at once: a slow client's backlog
(sent under the slow-client cutoff), a client gone, or the stream's ending; it exits as
soon as that is sent. One greenlet sends the heartbeat to every quiet detached stream.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent

from ..events import Event
from ..hub import Subscription
from ..sse import HEARTBEAT
from ..streams import Stream
from .chunked import ChunkedSocket, Outbox, chunk_of, http_chunk
from .hangups import HangUps

LAST_CHUNK = b"0\r\n\r\n"
"""Ends a chunked HTTP/1.1 body; the connection can carry the next request."""

HEARTBEAT_CHUNK = http_chunk(HEARTBEAT)

PINGS_PER_TURN = 500
"""Heartbeats written before the heartbeat greenlet lets the loop run others (about 1.6 ms,
at 3.3 µs each measured on socketpairs)."""

OnEnd = Callable[[ChunkedSocket, bool], None]
"""Called once with the connection when the stream is over, and whether it may serve
another request (the body ended cleanly and the server is not stopping)."""


class Heartbeats:
    """One greenlet for every detached stream: a comment to each one quiet for `quiet_s`,
    which is also how a client that left without a word is found; one that resets or closes
    its connection is found at once (hangups.py)."""

    def __init__(self, quiet_s: float) -> None:
        self.quiet_s = quiet_s
        self._drainers: set[Drainer] = set()
        self._greenlet: gevent.Greenlet | None = None
        self._hangups = HangUps()

    def add(self, drainer: Drainer) -> None:
        self._drainers.add(drainer)
        self._hangups.watch(drainer.fileno, drainer)
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def discard(self, drainer: Drainer) -> None:
        self._drainers.discard(drainer)
        self._hangups.forget(drainer.fileno, drainer)

    def _run(self) -> None:
        """Every quarter of `quiet_s`, to the streams that would otherwise pass `quiet_s` in
        silence before the next round. Streams that got the same events fall quiet together,
        so the loop gets a turn after every batch."""
        tick = self.quiet_s / 4
        try:
            while self._drainers:
                gevent.sleep(tick)
                quiet_since = time.monotonic() - (self.quiet_s - tick)
                for n, drainer in enumerate(tuple(self._drainers), 1):
                    drainer.ping(quiet_since)
                    if n % PINGS_PER_TURN == 0:
                        gevent.sleep(0)
        finally:
            self._greenlet = None


class Drainer:
    """The writer of one detached subscription, in the place of a waiting reader: the
    publisher writes while it is idle; a greenlet runs only while something waits to be sent."""

    __slots__ = ("_sub", "_outbox", "_on_end", "_heartbeats", "_running")

    def __init__(self, sub: Subscription, sock: ChunkedSocket, on_end: OnEnd, heartbeats: Heartbeats) -> None:
        self._sub = sub
        self._outbox = Outbox(sock)
        self._on_end = on_end
        self._heartbeats = heartbeats
        self._running = False

    @classmethod
    def run(cls, stream: Stream, sock: ChunkedSocket, head: bytes, on_end: OnEnd,
            heartbeats: Heartbeats) -> None:
        """Send `head` (status line and headers) and the stream's first bytes now, in this
        greenlet; after that the hub writes the events, and `on_end` gets the connection back
        when the stream is over."""
        opened = stream.open()
        ending = b"" if opened.source is not None else LAST_CHUNK
        try:
            sock.send_rest(head + http_chunk(opened.first) + ending)
        except OSError:
            if opened.source is not None:
                opened.source.close()
            on_end(sock, False)
            return
        if opened.source is None:
            on_end(sock, True)
            return
        drainer = cls(opened.source, sock, on_end, heartbeats)
        heartbeats.add(drainer)
        opened.source.use(drainer)

    def offer(self, event: Event) -> bool:
        """Write at once while idle; False if busy or the client is gone (then the drain finds it)."""
        return not self._running and not self._outbox.unsent and self._send_now(chunk_of(event))

    def wake(self) -> None:
        """The subscription has something to send: start a greenlet unless one is sending."""
        if not self._running:
            self._running = True
            gevent.spawn(self._drain)

    @property
    def fileno(self) -> int:
        return self._outbox.sock.fileno()

    def client_gone(self) -> None:
        """The client reset or closed the connection: end the stream now."""
        self._sub.end()

    def settle(self) -> None:
        """Nothing to forget: the drainer asks the subscription itself what is left."""

    def flush(self) -> None:
        self._outbox.flush()

    def ping(self, quiet_since: float) -> None:
        """A heartbeat to an idle client sent nothing since `quiet_since`; one found gone ends
        the stream."""
        outbox = self._outbox
        if outbox.sent_at <= quiet_since and not (self._running or outbox.unsent or self._sub.has_work) \
                and not self._send_now(HEARTBEAT_CHUNK):
            self._sub.end()

    def _send_now(self, chunk: bytes) -> bool:
        if not self._outbox.write_now(chunk):
            return False
        if self._outbox.unsent:
            self.wake()  # a greenlet waits for the socket to take the rest
        return True

    def _drain(self) -> None:
        """Send what is pending; exit when idle again, or end the stream once it is finished.
        After the end `_running` stays set, so nothing starts another drain."""
        sub, sock = self._sub, self._outbox.sock
        try:
            while sub.has_work or self._outbox.unsent:
                block = sub.take_block()
                if block:
                    sock.send_rest(http_chunk(block))
            if not sub.finished:
                self._running = False
                return
            sock.send_rest(LAST_CHUNK)
            keep_alive = not sub.hub_closed
        except OSError:  # the client is gone, or took nothing for the slow-client cutoff
            keep_alive = False
        self._heartbeats.discard(self)
        sub.close()
        self._on_end(sock, keep_alive)
