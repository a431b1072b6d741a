"""`Bus`: ONE reader per worker feeds the worker's streams with every event, and its runner
with cancel requests.

Redis sees one connection per worker however many streams are open (flask-sse's one
connection per client falls over at a few thousand). Events are published by the
commit script (`scripts.py`); history for resume is read from Redis (`store.py`).
"""

from __future__ import annotations

import gevent
from redis import RedisError

from ..outage import Outage
from ..sse import encode_comment
from ..store import Feed
from .connection import READER_BLOCK_MS, Connection
from .records import event_of

BUS_LOST = encode_comment("event bus lost, resume")
"""The last words of every open stream when the reader loses Redis; clients resume."""

RECONNECT_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Waits between the reader's reconnects; the last repeats."""


class Bus:
    """Reads the `events` and `control` streams from their current ends into a `Feed`."""

    def __init__(self, connection: Connection, outage: Outage, feed: Feed) -> None:
        self._connection = connection
        self._outage = outage
        self._feed = feed
        self._reader: gevent.Greenlet | None = None

    def start(self) -> None:
        """What happened before is in Redis' history, read by streams as they open."""
        client = self._connection.client()
        positions = {self._connection.key(name): _last_stream_id(client, self._connection.key(name))
                     for name in ("events", "control")}
        client.close()
        self._reader = gevent.spawn(self._read_forever, positions)

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.kill(block=False)

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
                    self._feed.end_streams(BUS_LOST)
                gevent.sleep(RECONNECT_BACKOFF_S[min(failures, len(RECONNECT_BACKOFF_S) - 1)])
                failures += 1
                continue
            if failures:
                failures = 0
                self._outage.recovered()
            for key, entries in batches:
                positions[key.decode()] = entries[-1][0]
                for _, fields in entries:
                    if key.decode() == events_key:
                        self._feed.event(event_of(fields[b"e"]))
                    else:
                        self._feed.cancel_requested(fields[b"cancel"].decode())


def _last_stream_id(client, key: str) -> bytes:
    newest = client.xrevrange(key, count=1)
    return newest[0][0] if newest else b"0-0"
