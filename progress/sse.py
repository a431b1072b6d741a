"""Server-Sent Events as bytes: pure functions, no I/O (the HTML standard's event-stream format)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

MAX_EVENT_ID = 2**53 - 1
"""Ids stay below 2^53 so JavaScript reads them exactly."""


def _check_field(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an SSE {name} cannot hold a line break: {value!r}")


def encode(data: str | None = None, *, event: str | None = None, id: int | str | None = None,
           retry: int | None = None, comment: str | None = None) -> bytes:
    """One block of the event stream; multi-line data becomes several `data:` lines.

    Fields are tested with `is not None`, so id 0 and empty data are kept (flask-sse's
    `if self.id:` drops id 0).
    """
    lines = []
    if comment is not None:
        lines.extend(f": {line}" if line else ":" for line in comment.splitlines() or [""])
    if event is not None:
        _check_field("event", event)
        lines.append(f"event: {event}")
    if id is not None:
        _check_field("id", str(id))
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {int(retry)}")
    if data is not None:
        lines.extend(f"data: {line}" for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def encode_event(event: str, id: int, data: str) -> bytes:
    """The contract's event: `event:`, `id:`, one line of `data:`; data is compact JSON text.
    What `encode` makes of the same fields, without its general cases: every event and every
    stream's snapshot goes through here."""
    _check_field("event", event)
    _check_field("id", str(id))
    _check_field("data", data)
    return f"event: {event}\nid: {id}\ndata: {data}\n\n".encode("utf-8")


def encode_comment(text: str) -> bytes:
    """A comment line; clients ignore it, proxies see traffic, dead clients show on write."""
    _check_field("comment", text)
    return encode(comment=text)


def encode_retry(milliseconds: int) -> bytes:
    return encode(retry=milliseconds)


HEARTBEAT = encode_comment("keep-alive")
SERVER_STOPPING = encode_comment("server stopping")


def parse_event_id(value: str | None) -> int | None:
    """A `Last-Event-ID` as the contract reads it: digits only, no leading zero, below 2^53.

    Anything else is None, which means "no usable id": never an error.
    """
    if not value or not value.isascii() or not value.isdigit():
        return None
    if len(value) > 1 and value[0] == "0":
        return None
    number = int(value)
    return number if number <= MAX_EVENT_ID else None


class BlockSource(Protocol):
    """What a stream reads from: the hub's subscription, or anything shaped like it."""

    @property
    def finished(self) -> bool: ...

    def next_block(self, timeout: float) -> bytes | None: ...

    def use(self, writer: Any) -> None: ...

    def close(self) -> None: ...


def event_stream(source: BlockSource, first: bytes, heartbeat: float, writer: Any = None) -> Iterator[bytes]:
    """The bytes of one SSE response.

    Endings: the job's terminal event or the server's shutdown (`source.finished`),
    the client leaving (GeneratorExit at a `yield`, noticed on the next write: the
    heartbeat is also the dead-client probe), or a backlog overflow (the source ends
    itself and the client resumes). Every ending releases the subscription.
    With a `writer` (a transport's reader that may write events itself once the first
    bytes are out, progress/gunicorn_transport/direct.py), `next_block` gives b"" for
    "nothing left to write here".
    """
    try:
        yield first  # headers leave with the first real bytes: gunicorn holds them until then
        if writer is not None:
            source.use(writer)
        while not source.finished:
            block = source.next_block(timeout=heartbeat)
            if block is None:
                yield HEARTBEAT
            elif block:
                yield block
    finally:
        source.close()
