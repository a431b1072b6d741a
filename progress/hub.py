"""In-memory pub/sub: one id counter, a bounded history for resume, a mailbox per reader.

The interface is small (publish, subscribe, missed, forget, close) so that a Redis
hub can stand in for it with the same contract.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from . import defaults
from .access import EVERYONE, Owner
from .direct_write import ChunkedSocket, http_chunk
from .sse import encode_event
from .wakeup import Wakeup


@dataclass(slots=True, frozen=True)
class Event:
    """One published event, encoded once for every subscriber."""

    id: int
    type: str
    job_id: str
    frame: bytes
    terminal: bool
    owner: str


@dataclass(slots=True)
class _JobHistory:
    """What resume needs of one job: all its `state` events and its newest `progress`."""

    states: list[Event] = field(default_factory=list)
    progress: Event | None = None


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
        (a Redis hub subscribes first, then reads its snapshot, so nothing falls in between)."""
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
    """Publishes job events with strictly increasing ids and remembers what resume needs."""

    def __init__(self, state_history: int = defaults.STATE_HISTORY,
                 mailbox_limit: int = defaults.MAILBOX_MAX_EVENTS) -> None:
        # The counter starts at the start time in µs, so a restart never reuses an id.
        self.first_id = int(time.time() * 1_000_000)
        self.last_id = self.first_id - 1
        self._mailbox_limit = mailbox_limit
        self._histories: dict[str, _JobHistory] = {}
        self._states: deque[Event] = deque(maxlen=state_history)
        self._floor = self.last_id  # resume from below this id gets a fresh snapshot
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

    def publish(self, type: str, job_id: str, payload: str, terminal: bool = False,
                owner: str = EVERYONE.name) -> Event:
        """Encode once, remember for resume, hand to every subscriber; never waits."""
        self.last_id += 1
        event = Event(self.last_id, type, job_id, encode_event(type, self.last_id, payload),
                      terminal, owner)
        self._remember(event)
        self.relay(event)
        return event

    def relay(self, event: Event) -> None:
        """Hand an event to every subscriber; a Redis hub's reader calls this with events whose
        ids were assigned elsewhere (their history is kept in Redis, not here)."""
        self.last_id = max(self.last_id, event.id)
        self.published += 1
        chunk = http_chunk(event.frame)
        for sub in tuple(self._all):
            sub.deliver(event, chunk)
        for sub in tuple(self._by_job.get(event.job_id, ())):
            sub.deliver(event, chunk)

    def _remember(self, event: Event) -> None:
        history = self._histories.setdefault(event.job_id, _JobHistory())
        if event.type == "progress":
            history.progress = event
            return
        history.states.append(event)
        if len(self._states) == self._states.maxlen:
            self._floor = max(self._floor, self._states[0].id)
        self._states.append(event)

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

    def missed(self, since: int | None, job_id: str | None = None,
               viewer: Owner = EVERYONE) -> list[Event] | None:
        """The events after `since` in id order that `viewer` may see, or None when a fresh
        snapshot is due: no id, an id above the newest, or one older than what is still held."""
        if since is None or since > self.last_id or since < self.first_id - 1:
            return None
        if job_id is not None:
            history = self._histories.get(job_id)
            if history is None:
                return None
            events = [event for event in history.states if event.id > since]
            progress = [history.progress] if history.progress else []
        else:
            if since < self._floor:
                return None
            events = [event for event in self._states if event.id > since]
            progress = [h.progress for h in self._histories.values() if h.progress]
        events.extend(event for event in progress if event.id > since)
        return sorted((event for event in events if viewer.may_see(event.owner)),
                      key=lambda event: event.id)

    def terminal_id(self, job_id: str) -> int | None:
        """The id of the event that ended the job, if it ended."""
        history = self._histories.get(job_id)
        if history and history.states and history.states[-1].terminal:
            return history.states[-1].id
        return None

    def forget(self, job_id: str) -> None:
        """Drop a job's history; resuming from before its last event now gets a snapshot."""
        history = self._histories.pop(job_id, None)
        if history is None:
            return
        newest = max([e.id for e in history.states] + ([history.progress.id] if history.progress else []))
        self._floor = max(self._floor, newest)

    def close(self, farewell: bytes) -> None:
        """End every subscription after what it has pending, then `farewell`."""
        self.closed = True
        self.end_all(farewell)

    def end_all(self, farewell: bytes = b"") -> None:
        """End every open subscription (its client resumes); new ones are still taken."""
        for sub in tuple(self._subscriptions()):
            sub.end(farewell)
