"""`Bus`: ONE reader per worker feeds the worker's streams with every event, and its runner
with cancel requests.

Redis sees one connection per worker however many streams are open (flask-sse's one
connection per client falls over at a few thousand). Events are published by the
commit script (`scripts.py`); history for resume is read from Redis (`store.py`).
"""

from __future__ import annotations

import gevent
from redis import Redis, RedisError

from ..outage import Outage
from ..sse import encode_comment
from ..store import Feed
from .connection import READER_BLOCK_MS, Connection
from .records import event_of

BUS_LOST = encode_comment("event bus lost, resume")
"""The last words of every open stream when the reader loses Redis; clients resume."""

RECONNECT_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)
"""Waits between the reader's reconnects; the last repeats."""

STREAMS = ("events", "control")


class Bus:
    """Reads the `events` and `control` streams from their ends as first seen into a `Feed`."""

    def __init__(self, connection: Connection, outage: Outage, feed: Feed) -> None:
        self._connection = connection
        self._outage = outage
        self._feed = feed
        self._positions: dict[str, bytes] | None = None
        self._reader: gevent.Greenlet | None = None

    def start(self, client: Redis) -> None:
        """Read from the streams' current ends (what happened before is in Redis' history, read
        by streams as they open); with Redis away, from where they end once it answers."""
        try:
            self.position(client)
        except RedisError as error:
            self._outage.failed(error, "starting")
        self._reader = gevent.spawn(self._read_forever)

    def position(self, client: Redis) -> None:
        """Learn where the streams end now, once: the reader goes on from there."""
        if self._positions is None:
            positions = {self._connection.key(name): _last_stream_id(client, self._connection.key(name))
                         for name in STREAMS}
            if self._positions is None:  # another greenlet may have learnt it meanwhile
                self._positions = positions

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.kill(block=False)

    def _read_forever(self) -> None:
        failures = 0
        client = self._connection.reader_client()
        events_key = self._connection.key("events")
        while True:
            try:
                self.position(client)
                batches = client.xread(self._positions, count=500, block=READER_BLOCK_MS)
            except RedisError as error:
                self._outage.failed(error, "reading events")
                if failures == 0:
                    self._feed.end_streams(BUS_LOST)
                gevent.sleep(RECONNECT_BACKOFF_S[min(failures, len(RECONNECT_BACKOFF_S) - 1)])
                failures += 1
                continue
            failures = 0
            for key, entries in batches:
                self._positions[key.decode()] = entries[-1][0]
                for _, fields in entries:
                    if key.decode() == events_key:
                        self._feed.event(event_of(fields[b"e"]))
                    else:
                        self._feed.cancel_requested(fields[b"cancel"].decode())


def _last_stream_id(client: Redis, key: str) -> bytes:
    newest = client.xrevrange(key, count=1)
    return newest[0][0] if newest else b"0-0"
