"""This process's fan-out: a bounded mailbox per reader, fed with every committed event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from typing import Protocol

from . import defaults
from .access import EVERYONE, Owner
from .events import Event
from .wakeup import Wakeup


class Writer(Protocol):
    """Sends one subscription's mailbox to its client. The hub calls it and never waits on it:
    a `Reader` greenlet (below) or a transport's writer (progress/gunicorn_transport)."""

    def offer(self, event: Event) -> bool:
        """Send `event` at once if the client is idle and nothing is half sent; False leaves it
        to the mailbox."""

    def wake(self) -> None:
        """The mailbox has something to send, or the stream ended."""

    def settle(self) -> None:
        """Nothing is left to send after all (a snapshot covered what was pending)."""

    def flush(self) -> None:
        """Send what `offer` left half sent, before the mailbox's next block."""


class Reader:
    """The writer of a stream served by its own greenlet, which waits here for its mailbox."""

    __slots__ = ("wakeup",)

    def __init__(self) -> None:
        self.wakeup = Wakeup()

    def offer(self, event: Event) -> bool:
        return False  # the greenlet sends everything itself

    def wake(self) -> None:
        self.wakeup.set()

    def settle(self) -> None:
        self.wakeup.clear()

    def flush(self) -> None:
        """Nothing is ever half sent here."""

    def wait(self, quiet_s: float) -> bool:
        """Block the reader until woken; False after `quiet_s` seconds in which nothing was sent."""
        return self.wakeup.wait(quiet_s)


class Subscription:
    """One reader's bounded mailbox: a job's pending `progress` is replaced by its newest,
    `state` events are kept; past `limit` pending events the reader is cut off to resume.

    Its `writer` sends the mailbox to the client: a greenlet waiting in `next_block` (a
    `Reader`), or a transport's writer that may also take an event at once (`offer`) while
    nothing is pending.
    """

    __slots__ = ("_hub", "job_id", "viewer", "_pending", "writer", "_limit", "_farewell",
                 "closed", "finished", "coalesced", "_skip_through")

    def __init__(self, hub: Hub, job_id: str | None, viewer: Owner, limit: int) -> None:
        self._hub = hub
        self.job_id = job_id
        self.viewer = viewer
        self._pending: dict[object, Event] = {}
        self.writer: Writer = Reader()
        self._limit = limit
        self._farewell = b""
        self.closed = False
        self.finished = False
        self.coalesced = 0
        self._skip_through = 0

    def use(self, writer: Writer) -> None:
        """From now on `writer` sends the mailbox (a transport, once the first bytes are out)."""
        self.writer = writer
        if self.has_work:
            writer.wake()

    def deliver(self, event: Event) -> None:
        """Called by the hub; never waits. Skips events of jobs the viewer may not see."""
        if self.closed or not (self.viewer.admin or event.owner == self.viewer.name):
            return
        if event.id <= self._skip_through:
            return
        if not self._pending and self.writer.offer(event):
            if self.job_id is not None and event.terminal:
                self.finished = True
                self.writer.wake()
            return
        key = ("progress", event.job_id) if event.type == "progress" else event.id
        if self._pending.pop(key, None) is not None:
            self.coalesced += 1
        self._pending[key] = event  # re-inserted last, so pending stays in id order
        if len(self._pending) > self._limit:
            self._pending.clear()
            self.end()
        self.writer.wake()

    def skip_through(self, event_id: int) -> None:
        """Drop pending and later events up to `event_id`: a snapshot read elsewhere covers them
        (a stream subscribes first, then reads its snapshot, so nothing falls in between)."""
        self._skip_through = event_id
        self._pending = {key: event for key, event in self._pending.items() if event.id > event_id}
        if not self._pending and not self.closed:
            self.writer.settle()

    def end(self, farewell: bytes = b"") -> None:
        """Stop taking events; the reader gets what is pending, then `farewell`, then the end."""
        self.closed = True
        self._farewell = farewell
        self.writer.wake()

    @property
    def hub_closed(self) -> bool:
        """The server is stopping: a stream ending now should not keep its connection."""
        return self._hub.closed

    @property
    def has_work(self) -> bool:
        """Something for the writer to send: pending events, or the ending."""
        return bool(self._pending) or (self.closed and not self.finished)

    def next_block(self, timeout: float) -> bytes | None:
        """For a `Reader`: every pending event as one write, or None after `timeout` seconds in
        which nothing was sent; b"" when the writer already sent everything."""
        reader = self.writer
        assert isinstance(reader, Reader), "only a reader greenlet waits for its mailbox"
        if not self._pending and not self.closed and not reader.wait(timeout):
            return None
        return self.take_block()

    def take_block(self) -> bytes | None:
        """What is pending as one write, after the writer finished a half-sent event; at the
        ending, the farewell last (None when that leaves nothing to write)."""
        self.writer.settle()
        self.writer.flush()
        events, self._pending = self._pending.values(), {}
        block = b"".join(event.frame for event in events)
        if self.job_id is not None and any(event.terminal for event in events):
            self.finished = True
        if self.closed:
            self.finished = True
            return block + self._farewell or None
        return block

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
        for sub in tuple(self._all):
            sub.deliver(event)
        for sub in tuple(self._by_job.get(event.job_id, ())):
            sub.deliver(event)

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

    def end_streams_of(self, names: Collection[str]) -> None:
        """End the open subscriptions of these viewers, whose access was taken back: the events
        they were allowed to see stop, and their reconnect asks for credentials again."""
        for sub in tuple(self._subscriptions()):
            if sub.viewer.name in names:
                sub.end()

    def end_all(self, farewell: bytes = b"") -> None:
        """End every open subscription (its client resumes); new ones are still taken."""
        for sub in tuple(self._subscriptions()):
            sub.end(farewell)
