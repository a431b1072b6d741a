"""Opening SSE streams: snapshot or resume, then live events (the contract's Resuming table)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from . import defaults
from .access import EVERYONE, Owner
from .direct_write import ChunkedSocket
from .errors import RateLimited
from .hub import Event, Hub
from .jobs import Job
from .runner import JobRunner, job_json
from .sse import encode_event, encode_retry, event_stream, parse_event_id


class StreamService:
    """Builds the byte iterators of `/api/jobs/<id>/events` and `/api/events`.

    Refusals (404, 429, 204) are decided before the response starts. History is read
    and the subscription made at the stream's first step, together, with no greenlet
    switch between (so no event falls in the gap, mercure#178), and only once the
    response is really being sent (so an unsent response holds no subscription).
    """

    def __init__(self, runner: JobRunner, hub: Hub, *, retry_ms: int = defaults.SSE_RETRY_MS,
                 heartbeat_s: float = defaults.SSE_HEARTBEAT_S, streams_per_owner: int = 0) -> None:
        self.runner = runner
        self.hub = hub
        self.heartbeat_s = heartbeat_s
        self.streams_per_owner = streams_per_owner
        self._retry = encode_retry(retry_ms)

    def job_stream(self, job_id: str, last_event_id: str | None, viewer: Owner = EVERYONE,
                   sock: ChunkedSocket | None = None) -> Iterator[bytes] | None:
        """One job's stream, or None for 204 when the client already saw its end.

        Raises `JobNotFound` (someone else's job too) or `RateLimited` before anything is sent.
        With `sock`, events may go straight to the client (progress/direct_write.py).
        """
        job = self.runner.get(job_id, viewer)
        since = parse_event_id(last_event_id)
        if saw_the_end(self.hub.terminal_id(job_id), since, self.hub.last_id):
            return None
        self._check_limit(viewer)
        return self._job_events(job, since, viewer, sock)

    def all_stream(self, last_event_id: str | None, viewer: Owner = EVERYONE,
                   sock: ChunkedSocket | None = None) -> Iterator[bytes]:
        """Every job `viewer` may see: a snapshot (or what was missed), then live; never ends by itself."""
        self._check_limit(viewer)
        return self._all_events(parse_event_id(last_event_id), viewer, sock)

    def _job_events(self, job: Job, since: int | None, viewer: Owner,
                    sock: ChunkedSocket | None) -> Iterator[bytes]:
        missed = self.hub.missed(since, job.id, viewer)
        if missed is None:
            first = self._retry + encode_event("snapshot", self.hub.last_id, job_json(job))
            ended = job.terminal
        else:
            first = self._retry + _frames(missed)
            ended = any(event.terminal for event in missed)
        if ended:
            yield first
            return
        yield from event_stream(self.hub.subscribe(job.id, viewer), first, self.heartbeat_s, sock)

    def _all_events(self, since: int | None, viewer: Owner, sock: ChunkedSocket | None) -> Iterator[bytes]:
        missed = self.hub.missed(since, viewer=viewer)
        if missed is None:
            jobs = self.runner.store.snapshot(defaults.SNAPSHOT_FINISHED_JOBS, viewer)
            first = self._retry + encode_event("snapshot", self.hub.last_id, snapshot_json(jobs))
        else:
            first = self._retry + _frames(missed)
        yield from event_stream(self.hub.subscribe(None, viewer), first, self.heartbeat_s, sock)

    def _check_limit(self, viewer: Owner) -> None:
        if self.streams_per_owner and self.hub.subscriptions_of(viewer) >= self.streams_per_owner:
            raise RateLimited(f"You already have {self.streams_per_owner} streams open.",
                              retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)


def saw_the_end(terminal_id: int | None, since: int | None, last_id: int) -> bool:
    """The Resuming table's 204 row: a usable id at or after the job's terminal event."""
    return terminal_id is not None and since is not None and terminal_id <= since <= last_id


def snapshot_json(jobs: list[Job]) -> str:
    """The `/api/events` snapshot's data: `{"jobs": [...]}` on one line."""
    return json.dumps({"jobs": [job.to_dict() for job in jobs]}, separators=(",", ":"), ensure_ascii=False)


def _frames(events: list[Event]) -> bytes:
    return b"".join(event.frame for event in events)
