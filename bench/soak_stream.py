"""One soak client stream (issue #8): who opens it, where it resumes from, what it saw, how it ended.

A `SoakStream` is the benches' `Stream` with a token and an optional `Last-Event-ID`, that
also reads its response head (status, `Retry-After`), notices the server ending the
response (chunked encoding's last chunk) and the `: server stopping` comment, and can stop
reading for a while (a slow reader) or for good (a frozen one) with a small receive buffer,
so the server's send side really fills.
"""

from __future__ import annotations

import asyncio
import socket
import time

from .sse_client import JOB_ID, STATE, TERMINAL, OnEvent, Stream

STOPPING = b": server stopping\n\n"
RESPONSE_END = b"\r\n0\r\n\r\n"
"""Chunked encoding's last chunk: the server ended the response (the connection may stay open)."""
SMALL_BUFFER = 4096
"""Receive buffer of slow and frozen readers: a few events fill it, then the server's writes wait."""
RECENT = 32


class SoakStream(Stream):
    """An SSE response as the soak's checks need it; `tag` is unused."""

    __slots__ = ("owner", "job_id", "resume_id", "token", "also", "first_id", "last_id", "terminals",
                 "out_of_order", "retry_after", "stopping", "server_ended", "dropped", "lost_at",
                 "answered", "paused", "_recent")

    def __init__(self, path: str, owner: str, token: str, job_id: bytes | None = None,
                 resume_id: int | None = None, also: OnEvent | None = None) -> None:
        super().__init__(path, SoakStream.seen)
        self.owner = owner
        self.job_id = job_id
        self.resume_id = resume_id
        self.token = token
        self.also = also
        self.first_id: int | None = None
        """The stream is answerable for terminal events after this id: its snapshot's, or the resume id."""
        self.last_id = 0
        self.terminals: set[bytes] = set()
        self.out_of_order = 0
        self.retry_after = False
        self.stopping = False
        self.server_ended = False
        self.dropped = False
        self.lost_at: float | None = None
        self.answered = asyncio.get_running_loop().create_future()
        """Done with the status once the head is read, or with 0 when the connection ends first."""
        self.paused = False
        self._recent = b""

    def request(self, extra_headers: str = "") -> bytes:
        extra = f"Authorization: Bearer {self.token}\r\n"
        if self.resume_id is not None and "lastEventId=" not in self.path:
            extra += f"Last-Event-ID: {self.resume_id}\r\n"
        return super().request(extra + extra_headers)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.paused:
            transport.pause_reading()  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        head = None if self._in_body else self._tail + data
        super().data_received(data)
        if head is not None and self._in_body:
            self._read_head(head.partition(b"\r\n\r\n")[0])
        recent = self._recent + data
        self._recent = recent[-RECENT:]
        if STOPPING in recent:
            self.stopping = True
        if RESPONSE_END in recent and self.status == 200:
            self.server_ended = True
            self.close()

    def _read_head(self, head: bytes) -> None:
        self.retry_after = b"\r\nretry-after:" in head.lower()
        if not self.answered.done():
            self.answered.set_result(self.status)
        if self.status != 200:
            self.close()  # 204, 429 and the rest: nothing to stream

    def seen(self, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        """Every event: ids in order, and the jobs whose terminal state this stream received."""
        if self.first_id is None:
            self.first_id = event_id if kind == b"snapshot" or self.resume_id is None else self.resume_id
        if event_id <= self.last_id:
            self.out_of_order += 1
        self.last_id = event_id
        if kind == b"state" or (kind == b"snapshot" and self.job_id is not None):
            if STATE.search(data)[1] in TERMINAL:
                self.terminals.add(JOB_ID.search(data)[1])
        if self.also is not None:
            self.also(self, kind, event_id, data, now)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.lost_at = time.perf_counter()
        if not self.answered.done():
            self.answered.set_result(0)

    def drop(self, graceful: bool) -> None:
        """The client leaves: a FIN as a closed tab sends, or a reset as a killed process."""
        self.dropped = True
        if graceful and self.transport is not None:
            self.transport.close()
        else:
            self.close()

    def pause_for(self, seconds: float) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.pause_reading()
            asyncio.get_running_loop().call_later(seconds, self.resume_reading)

    def resume_reading(self) -> None:
        self.paused = False
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    @property
    def open(self) -> bool:
        return self.lost_at is None and not self.server_ended

    @property
    def got_terminal(self) -> bool:
        return self.job_id is not None and self.job_id in self.terminals


async def connect(port: int, stream: SoakStream, small_buffer: bool, deadline_s: float) -> int:
    """Connect and send the request; returns the status (0: no answer), or 0 at once for a frozen stream."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    if small_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), deadline_s)
        await loop.create_connection(lambda: stream, sock=sock)
        if stream.paused:
            return 0
        return await asyncio.wait_for(asyncio.shield(stream.answered), deadline_s)
    except (OSError, TimeoutError):
        sock.close()
        stream.close()
        return 0

