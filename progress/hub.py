"""This process's fan-out: a bounded mailbox per reader, fed with every committed event."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Protocol

from . import defaults
from .access import EVERYONE, Owner
from .direct_write import ChunkedSocket, http_chunk
from .events import Event
from .wakeup import Wakeup


class Writer(Protocol):
    """Who sends a subscription's mailbox: the reader greenlet waiting on a `Wakeup`, or a
    detached stream's `Drainer`. `waited_on` means "idle, so the publisher may write"."""

    @property
    def waited_on(self) -> bool: ...

    def set(self) -> None: ...

    def clear(self) -> None: ...


class Subscription:
    """One reader's bounded mailbox: a job's pending `progress` is replaced by its newest,
    `state` events are kept; past `limit` pending events the reader is cut off to resume.

    With a socket attached (`attach`), an event that finds the reader idle is written to
    the client at once by the publisher (progress/direct_write.py); what the socket would
    not take at once is the reader's to send before anything else. A detached stream has no
    reader greenlet at all: its `Drainer` starts one only when there is something to send
    (`hand_to`, progress/detached.py).
    """

    __slots__ = ("_hub", "job_id", "viewer", "_pending", "_ready", "_limit", "_farewell",
                 "closed", "finished", "coalesced", "_skip_through", "_socket", "_unsent", "_sent_at")

    def __init__(self, hub: Hub, job_id: str | None, viewer: Owner, limit: int) -> None:
        self._hub = hub
        self.job_id = job_id
        self.viewer = viewer
        self._pending: dict[object, Event] = {}
        self._ready: Writer = Wakeup()
        self._limit = limit
        self._farewell = b""
        self.closed = False
        self.finished = False
        self.coalesced = 0
        self._skip_through = 0
        self._socket: ChunkedSocket | None = None
        self._unsent = b""
        self._sent_at = 0.0

    def attach(self, sock: ChunkedSocket) -> None:
        """Let `deliver` write to the client itself while the reader waits with nothing to
        send; called by the stream once its first bytes (and gunicorn's headers) are out."""
        self._socket = sock

    def hand_to(self, writer: Writer, sock: ChunkedSocket) -> None:
        """Detach from any reader: from now on `writer` is woken instead (progress/detached.py)."""
        self._ready = writer
        self._socket = sock
        self._sent_at = time.monotonic()
        if self.has_work:
            writer.set()

    def deliver(self, event: Event, chunk: bytes | None = None) -> None:
        """Called by the hub; never waits. Skips events of jobs the viewer may not see.

        `chunk` is the event's frame as an HTTP chunk, made once for every subscriber.
        """
        if self.closed or not (self.viewer.admin or event.owner == self.viewer.name):
            return
        if event.id <= self._skip_through:
            return
        if self._writer_idle() and self._send_now(chunk or http_chunk(event.frame)):
            if self.job_id is not None and event.terminal:
                self.finished = True
                self._ready.set()
            return
        key = ("progress", event.job_id) if event.type == "progress" else event.id
        if self._pending.pop(key, None) is not None:
            self.coalesced += 1
        self._pending[key] = event  # re-inserted last, so pending stays in id order
        if len(self._pending) > self._limit:
            self._pending.clear()
            self.end()
        self._ready.set()

    def ping(self, chunk: bytes, quiet_since: float) -> None:
        """Write `chunk` (a heartbeat) straight to an idle client that was sent nothing since
        `quiet_since`; a client found gone ends the stream."""
        if self._sent_at <= quiet_since and self._writer_idle() and not self._send_now(chunk):
            self.end()

    def _writer_idle(self) -> bool:
        """True when the publisher may write to the client itself: a socket is attached, its
        writer waits with nothing pending, and nothing is half sent."""
        return (self._socket is not None and self._ready.waited_on
                and not self._pending and not self._unsent)

    def _send_now(self, chunk: bytes) -> bool:
        """Write to the idle reader's client; False if the client is gone (the event then
        goes to the mailbox, and the reader's own write finds the broken connection)."""
        assert self._socket is not None
        try:
            sent = self._socket.send_now(chunk)
        except OSError:
            self._socket = None
            return False
        self._sent_at = time.monotonic()
        if sent < len(chunk):
            self._unsent = chunk[sent:]
            self._ready.set()
        return True

    def skip_through(self, event_id: int) -> None:
        """Drop pending and later events up to `event_id`: a snapshot read elsewhere covers them
        (a stream subscribes first, then reads its snapshot, so nothing falls in between)."""
        self._skip_through = event_id
        self._pending = {key: event for key, event in self._pending.items() if event.id > event_id}
        if not self._pending and not self.closed:
            self._ready.clear()

    def end(self, farewell: bytes = b"") -> None:
        """Stop taking events; the reader gets what is pending, then `farewell`, then the end."""
        self.closed = True
        self._farewell = farewell
        self._ready.set()

    @property
    def hub_closed(self) -> bool:
        """The server is stopping: a stream ending now should not keep its connection."""
        return self._hub.closed

    @property
    def has_work(self) -> bool:
        """Something for the writer to send: pending events, a half-sent chunk, or the ending."""
        return bool(self._pending or self._unsent) or (self.closed and not self.finished)

    def next_block(self, timeout: float) -> bytes | None:
        """Every pending event as one write, or None after `timeout` seconds in which nothing
        was sent; b"" when the publisher already wrote everything (and maybe ended the stream)."""
        if not self._pending and not self.closed and not self._unsent and not self._wait(timeout):
            return None
        return self.take_block()

    def take_block(self) -> bytes | None:
        """What is pending as one write, after finishing a half-sent chunk; at the ending, the
        farewell last (None when that leaves nothing to write)."""
        self._ready.clear()
        if self._unsent:
            unsent, self._unsent = self._unsent, b""
            self._socket.send_rest(unsent)  # type: ignore[union-attr]
        events, self._pending = self._pending.values(), {}
        block = b"".join(event.frame for event in events)
        if self.job_id is not None and any(event.terminal for event in events):
            self.finished = True
        if self.closed:
            self.finished = True
            return block + self._farewell or None
        return block

    def _wait(self, quiet_s: float) -> bool:
        """Wait to be woken; False once `quiet_s` seconds passed with nothing sent to the client,
        counting what the publisher wrote directly meanwhile."""
        ready = self._ready
        assert isinstance(ready, Wakeup), "a detached subscription has no reader to wait"
        start = time.monotonic()
        remaining = quiet_s
        while not ready.wait(remaining):
            remaining = max(start, self._sent_at) + quiet_s - time.monotonic()
            if remaining <= 0:
                return False
        return True

    def close(self) -> None:
        """Release the mailbox; called in the stream's `finally`."""
        self.closed = True
        self.finished = True
        self._pending = {}
        self._hub.unsubscribe(self)


class Hub:
    """Fans every committed event out to this process's subscribers; never waits, keeps nothing.

    Ids and history belong to the job store (progress/store.py): the hub only counts.
    """

    def __init__(self, mailbox_limit: int = defaults.MAILBOX_MAX_EVENTS) -> None:
        self._mailbox_limit = mailbox_limit
        self._all: set[Subscription] = set()
        self._by_job: dict[str, set[Subscription]] = {}
        self._per_viewer: Counter[str] = Counter()
        self.published = 0
        self._coalesced_gone = 0  # by subscriptions already closed
        self.closed = False

    @property
    def subscriber_count(self) -> int:
        return len(self._all) + sum(len(subs) for subs in self._by_job.values())

    def coalescing(self) -> tuple[int, int]:
        """Progress events replaced in mailboxes since start, and open streams that had to
        replace any (the slow clients), for `/metrics`."""
        live = [sub.coalesced for sub in self._subscriptions() if sub.coalesced]
        return self._coalesced_gone + sum(live), len(live)

    def _subscriptions(self) -> Iterator[Subscription]:
        yield from self._all
        for subs in self._by_job.values():
            yield from subs

    def subscriptions_of(self, viewer: Owner) -> int:
        """Open subscriptions of one viewer, for the per-owner stream limit."""
        return self._per_viewer[viewer.name]

    def subscriptions_by_viewer(self) -> dict[str, int]:
        """Open subscriptions of every viewer that has any (a Redis worker reports them)."""
        return dict(self._per_viewer)

    def relay(self, event: Event) -> None:
        """Hand an event to every subscriber that wants it."""
        self.published += 1
        chunk = http_chunk(event.frame)
        for sub in tuple(self._all):
            sub.deliver(event, chunk)
        for sub in tuple(self._by_job.get(event.job_id, ())):
            sub.deliver(event, chunk)

    def subscribe(self, job_id: str | None = None, viewer: Owner = EVERYONE) -> Subscription:
        """A mailbox for every job's events (`job_id` None) or one job's, as `viewer` may see them."""
        sub = Subscription(self, job_id, viewer, self._mailbox_limit)
        if self.closed:
            sub.end()
            return sub
        if job_id is None:
            self._all.add(sub)
        else:
            self._by_job.setdefault(job_id, set()).add(sub)
        self._per_viewer[viewer.name] += 1
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.job_id is None:
            subs = self._all
        else:
            subs = self._by_job.get(sub.job_id, set())
        if sub not in subs:
            return
        subs.discard(sub)
        self._coalesced_gone += sub.coalesced
        if sub.job_id is not None and not subs:
            del self._by_job[sub.job_id]
        self._per_viewer[sub.viewer.name] -= 1
        if not self._per_viewer[sub.viewer.name]:
            del self._per_viewer[sub.viewer.name]

    def close(self, farewell: bytes) -> None:
        """End every subscription after what it has pending, then `farewell`."""
        self.closed = True
        self.end_all(farewell)

    def end_all(self, farewell: bytes = b"") -> None:
        """End every open subscription (its client resumes); new ones are still taken."""
        for sub in tuple(self._subscriptions()):
            sub.end(farewell)
