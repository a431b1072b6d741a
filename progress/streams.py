"""Opening SSE streams: snapshot or resume, then live events (the contract's Resuming table)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any

from . import defaults
from .access import EVERYONE, Owner
from .errors import JobNotFound, RateLimited
from .events import frames
from .hub import Hub, Subscription
from .jobs import Job, job_json
from .snapshots import Snapshots
from .sse import encode_comment, encode_event, encode_retry, event_stream, parse_event_id
from .store import JobStore


@dataclass(slots=True, frozen=True)
class Opened:
    """A stream's first bytes and, unless it ends with them, the subscription that goes on."""

    first: bytes
    source: Subscription | None = None


class Stream:
    """One SSE response before it starts: iterate it for its bytes (a greenlet per stream),
    or let a transport `open` it and send its events without a greenlet per stream
    (progress/gunicorn_transport/detached.py).

    History is read and the subscription made when the response starts, together, with no
    greenlet switch between (so no event falls in the gap, mercure#178), and only then (so
    an unsent response holds no subscription).
    """

    __slots__ = ("open", "quiet_s", "_writer", "_bytes")

    def __init__(self, open_: Callable[[], Opened], quiet_s: float) -> None:
        self.open = open_
        """Read the snapshot or missed events and subscribe: the first bytes and what goes on."""
        self.quiet_s = quiet_s
        """The heartbeat interval: no stream is silent longer."""
        self._writer: Any = None
        self._bytes: Generator[bytes, None, None] | None = None

    def use_writer(self, writer: Any) -> None:
        """Once the first bytes are out, `writer` sends the events while this stream's greenlet
        waits (a transport's `Reader`, progress/gunicorn_transport/direct.py)."""
        self._writer = writer

    def __iter__(self) -> Iterator[bytes]:
        self._bytes = self._generate()
        return self._bytes

    def _generate(self) -> Generator[bytes, None, None]:
        opened = self.open()
        if opened.source is None:
            yield opened.first
            return
        yield from event_stream(opened.source, opened.first, self.quiet_s, self._writer)

    def close(self) -> None:
        """WSGI's `close()`: a client gone mid-stream releases the subscription at once."""
        if self._bytes is not None:
            self._bytes.close()


UNAVAILABLE = encode_comment("events unavailable, retry")
"""A stream opened while the store is away: 200, `retry:`, this, the end; the client retries
(EventSource gives up for good on any status but 200 and 204)."""


class StreamService:
    """Makes the `Stream`s of `/api/jobs/<id>/events` and `/api/events`.

    Refusals (404, 429, 204) are decided before the response starts. A stream subscribes
    to this process's hub FIRST, then reads its snapshot (or the missed events) and the
    newest id N from the store, then drops what the hub brings up to N: the hub may lag
    the store, never lead it, so every event after N arrives exactly once and none at or
    below it is sent twice (mercure#178's race, across workers too).
    """

    def __init__(self, store: JobStore, hub: Hub, *, retry_ms: int = defaults.SSE_RETRY_MS,
                 heartbeat_s: float = defaults.SSE_HEARTBEAT_S, streams_per_owner: int = 0) -> None:
        self.store = store
        self.hub = hub
        self.heartbeat_s = heartbeat_s
        self.streams_per_owner = streams_per_owner
        self._retry = encode_retry(retry_ms)
        self._snapshots = Snapshots()

    def job_stream(self, job_id: str, last_event_id: str | None,
                   viewer: Owner = EVERYONE) -> Stream | None:
        """One job's stream, or None for 204 when the client already saw its end.

        Raises `JobNotFound` (someone else's job too) or `RateLimited` before anything is sent.
        """
        since = parse_event_id(last_event_id)
        try:
            view = self.store.view_job(job_id)
        except self.store.outage_errors as error:
            unavailable = self._unavailable(error)
            return Stream(lambda: unavailable, self.heartbeat_s)
        job = view.job
        if job is None or not viewer.may_see(job.owner):
            raise JobNotFound()
        if saw_the_end(view.terminal_id, since, view.last_id):
            return None
        self._check_limit(viewer)
        return Stream(lambda: self._open_job(job, since, viewer), self.heartbeat_s)

    def all_stream(self, last_event_id: str | None, viewer: Owner = EVERYONE) -> Stream:
        """Every job `viewer` may see: a snapshot (or what was missed), then live; never ends by itself."""
        self._check_limit(viewer)
        since = parse_event_id(last_event_id)
        return Stream(lambda: self._open_all(since, viewer), self.heartbeat_s)

    def open_count(self) -> int:
        """Streams open in every process of the deployment, for `/healthz`."""
        return self.hub.subscriber_count + self.store.streams_elsewhere(None)

    def _open_job(self, job: Job, since: int | None, viewer: Owner) -> Opened:
        sub = self.hub.subscribe(job.id, viewer)
        try:
            view = self.store.view_job(job.id)
        except self.store.outage_errors as error:
            sub.close()
            return self._unavailable(error)
        sub.skip_through(view.last_id)
        missed = view.missed(since)
        if missed is None:
            current = view.job or job  # forgotten meanwhile: what the request saw
            first = self._retry + encode_event("snapshot", view.last_id, job_json(current))
            ended = current.terminal
        else:
            first = self._retry + frames(missed)
            ended = any(event.terminal for event in missed)
        if ended:
            sub.close()
            return Opened(first)
        return Opened(first, sub)

    def _open_all(self, since: int | None, viewer: Owner) -> Opened:
        sub = self.hub.subscribe(None, viewer)
        try:
            view = self.store.view_all(since, viewer)
        except self.store.outage_errors as error:
            sub.close()
            return self._unavailable(error)
        sub.skip_through(view.last_id)
        if view.missed is None:
            return Opened(self._retry + self._snapshots.event(view.last_id, view.jobs), sub)
        return Opened(self._retry + frames(view.missed), sub)

    def _unavailable(self, error: Exception) -> Opened:
        self.store.outage.failed(error, "opening a stream")
        return Opened(self._retry + UNAVAILABLE)

    def _check_limit(self, viewer: Owner) -> None:
        """The viewer's streams everywhere: here now, elsewhere as the store last heard. A
        burst across processes may pass the limit by what the others admitted meanwhile."""
        if not self.streams_per_owner:
            return
        if self.hub.subscriptions_of(viewer) + self.store.streams_elsewhere(viewer.name) >= self.streams_per_owner:
            raise RateLimited(f"You already have {self.streams_per_owner} streams open.",
                              retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)


def saw_the_end(terminal_id: int | None, since: int | None, last_id: int) -> bool:
    """The Resuming table's 204 row: a usable id at or after the job's terminal event."""
    return terminal_id is not None and since is not None and terminal_id <= since <= last_id

