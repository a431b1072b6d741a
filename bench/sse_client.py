"""The load generator: thousands of SSE connections on one asyncio (uvloop) loop.

Each connection is a small `asyncio.Protocol` that speaks HTTP/1.1 like a browser and
cuts complete events out of the byte stream with one regular expression per read, so
one core can hold 19,000 streams and take tens of thousands of events a second.
"""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import time
from collections.abc import Callable, Iterable, Sequence

import uvloop

EVENT = re.compile(rb"event: ([a-z]+)\nid: (\d+)\ndata: ([^\n]*)\n\n")
"""The contract's event; comments and `retry:` blocks never match. Chunk sizes sit between frames."""

STATE = re.compile(rb'"state":"([a-z]+)"')
MESSAGE = re.compile(rb'"message":"([0-9.]+)"')
JOB_ID = re.compile(rb'"id":"([^"]+)"')

TERMINAL = frozenset((b"succeeded", b"failed", b"cancelled", b"interrupted"))

OnEvent = Callable[["Stream", bytes, int, bytes, float], None]
"""Called with (stream, event type, id, data, arrival time) for every event."""

MakeStream = Callable[[str, "OnEvent | None", object], "Stream"]
"""Builds the protocol of one connection from (path, on_event, tag): `Stream` or a subclass."""

_LINGER_OFF = struct.pack("ii", 1, 0)

WALL_OFFSET = time.time() - time.perf_counter()
"""Adds to a `time.perf_counter()` reading to give wall-clock time, comparable with the server's."""


class Stream(asyncio.Protocol):
    """One SSE connection; keeps only what the benches read."""

    __slots__ = ("path", "on_event", "transport", "started", "first_event_at", "status",
                 "events", "_tail", "_in_body", "greeted", "tag")

    def __init__(self, path: str, on_event: OnEvent | None = None, tag: object = None) -> None:
        self.path = path
        self.on_event = on_event
        self.transport: asyncio.Transport | None = None
        self.started = time.perf_counter()
        self.first_event_at: float | None = None
        self.status = 0
        self.events = 0
        self._tail = b""
        self._in_body = False
        self.greeted = asyncio.get_running_loop().create_future()
        """Done at the first event, or when the connection is lost before it."""
        self.tag = tag

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request())  # type: ignore[attr-defined]

    def request(self, extra_headers: str = "") -> bytes:
        """The GET a browser's EventSource sends; `extra_headers` are whole `Name: value\\r\\n` lines."""
        return (f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Cache-Control: no-cache\r\n{extra_headers}\r\n").encode()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        data = self._tail + data
        if not self._in_body:
            head, found, data = data.partition(b"\r\n\r\n")
            if not found:
                self._tail = head
                return
            self.status = int(head[9:12])
            self._in_body = True
        end = data.rfind(b"\n\n")
        if end < 0:
            self._tail = data
            return
        self._tail = data[end + 2:]
        for match in EVENT.finditer(data, 0, end + 2):
            self.events += 1
            if self.first_event_at is None:
                self.first_event_at = now
                if not self.greeted.done():  # cancelled when the opener gave up
                    self.greeted.set_result(True)
            if self.on_event is not None:
                self.on_event(self, match[1], int(match[2]), match[3], now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.greeted.done():
            self.greeted.set_result(False)

    def close(self) -> None:
        """Drop the connection with a reset, so no TIME_WAIT eats ports between runs."""
        if self.transport is not None and not self.transport.is_closing():
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_OFF)
            self.transport.abort()


SOURCE_ADDRESSES = [f"127.0.0.{n}" for n in range(1, 9)]
"""Connections come from eight loopback addresses: one source address has only about 28,000
ephemeral ports (`ip_local_port_range`), too few for the largest hold levels."""


async def open_streams(port: int, paths: Iterable[tuple[str, object]], on_event: OnEvent | None = None,
                       in_flight: int = 200, deadline_s: float = 60.0, make: MakeStream = Stream,
                       sources: Sequence[str] = SOURCE_ADDRESSES) -> list[Stream]:
    """Open one stream per (path, tag), at most `in_flight` still waiting for their first event,
    from the loopback addresses `sources` in turn.

    Returns the streams that got their first event within the deadline; the others are closed.
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(in_flight)
    deadline = time.monotonic() + deadline_s
    opened: list[Stream] = []

    async def one(n: int, path: str, tag: object) -> None:
        async with gate:
            stream = make(path, on_event, tag)
            source = (sources[n % len(sources)], 0)
            try:
                await asyncio.wait_for(loop.create_connection(lambda: stream, "127.0.0.1", port, local_addr=source),
                                       deadline - time.monotonic())
                greeted = await asyncio.wait_for(stream.greeted, deadline - time.monotonic())
            except (OSError, TimeoutError):
                stream.close()
                return
            if greeted:
                opened.append(stream)

    await asyncio.gather(*(one(n, path, tag) for n, (path, tag) in enumerate(paths)))
    return opened


def close_all(streams: Iterable[Stream]) -> None:
    for stream in streams:
        stream.close()


async def wait_until(predicate: Callable[[], bool], deadline_s: float, step: float = 0.02) -> bool:
    """Poll `predicate` on the loop until it holds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


def run(main: Callable[[], object]) -> object:
    """Run a coroutine function on uvloop."""
    return uvloop.run(main())  # type: ignore[arg-type]
