"""`RedisHub`: ONE reader per worker feeds the worker's in-memory `Hub`, which fans out.

Redis sees one connection per worker however many streams are open (flask-sse's one
connection per client falls over at a few thousand). Events are published by the
commit script (`scripts.py`); history for resume is read from Redis (`streams.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import gevent
from redis import RedisError

from ..access import EVERYONE, Owner
from ..hub import Hub, Subscription
from ..sse import encode_comment
from .connection import READER_BLOCK_MS, Connection, Outage
from .records import Entry

log = logging.getLogger("progress.redis")

BUS_LOST = encode_comment("event bus lost, resume")
"""The last words of every open stream when the reader loses Redis; clients resume."""

RECONNECT_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Waits between the reader's reconnects; the last repeats."""


class RedisHub:
    """The parts of the `Hub` interface the service and `/metrics` use, over a local hub."""

    def __init__(self, connection: Connection, outage: Outage) -> None:
        self.local = Hub()
        self._connection = connection
        self._outage = outage
        self._reader: gevent.Greenlet | None = None
        self.on_entry: Callable[[Entry], None] = lambda entry: None
        """Told of every event after its subscribers (the runner wakes on `queued` and ends)."""
        self.on_cancel: Callable[[str], None] = lambda job_id: None
        """Told of every cancel request (the worker running the job stops it)."""

    # The local hub's side -------------------------------------------------------

    @property
    def subscriber_count(self) -> int:
        return self.local.subscriber_count

    @property
    def published(self) -> int:
        """Events this worker handed to its subscribers."""
        return self.local.published

    def coalescing(self) -> tuple[int, int]:
        return self.local.coalescing()

    def subscriptions_of(self, viewer: Owner) -> int:
        return self.local.subscriptions_of(viewer)

    def subscriptions_by_viewer(self) -> dict[str, int]:
        return self.local.subscriptions_by_viewer()

    def subscribe(self, job_id: str | None = None, viewer: Owner = EVERYONE) -> Subscription:
        return self.local.subscribe(job_id, viewer)

    def close(self, farewell: bytes) -> None:
        if self._reader is not None:
            self._reader.kill(block=False)
        self.local.close(farewell)

    # The reader -------------------------------------------------------------------

    def start(self) -> None:
        """Read from the streams' current ends: what happened before is in Redis' history."""
        client = self._connection.client()
        positions = {self._connection.key(name): _last_stream_id(client, self._connection.key(name))
                     for name in ("events", "control")}
        client.close()
        self._reader = gevent.spawn(self._read_forever, positions)

    def _read_forever(self, positions: dict[str, bytes]) -> None:
        failures = 0
        client = self._connection.reader_client()
        events_key = self._connection.key("events")
        while True:
            try:
                batches = client.xread(positions, count=500, block=READER_BLOCK_MS)
            except RedisError as error:
                self._outage.failed(error, "reading events")
                if failures == 0:
                    self.local.end_all(BUS_LOST)
                gevent.sleep(RECONNECT_BACKOFF_S[min(failures, len(RECONNECT_BACKOFF_S) - 1)])
                failures += 1
                continue
            if failures:
                failures = 0
                self._outage.recovered()
            for key, entries in batches:
                positions[key.decode()] = entries[-1][0]
                if key.decode() == events_key:
                    self._relay(entry for _, fields in entries for entry in fields.values())
                else:
                    for _, fields in entries:
                        self.on_cancel(fields[b"cancel"].decode())

    def _relay(self, raw_entries: Iterator[bytes]) -> None:
        for raw in raw_entries:
            entry = Entry.parse(raw)
            self.local.relay(entry.event())
            self.on_entry(entry)


def _last_stream_id(client, key: str) -> bytes:
    newest = client.xrevrange(key, count=1)
    return newest[0][0] if newest else b"0-0"
