"""`RedisStreams`: the two SSE streams, with snapshots and history read from Redis.

A stream subscribes to the local hub FIRST, then reads its snapshot (or the missed
events) and the newest id N from Redis in one script, then drops what the local hub
brings up to N: the reader may lag Redis, never lead it, so every event after N arrives
exactly once and none at or below it is sent twice (mercure#178's race, across workers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import RedisError
from redis.client import Pipeline

from .. import defaults
from ..access import EVERYONE, Owner
from ..errors import JobNotFound
from ..hub import Subscription
from ..jobs import Job
from ..runner import job_json
from ..sse import encode_comment, encode_event, parse_event_id
from ..streams import Opened, Stream, StreamService, saw_the_end, snapshot_json
from .connection import Connection, Outage
from .records import Entry, job_of
from .scripts import Scripts

UNAVAILABLE = encode_comment("events unavailable, retry")
"""A stream opened while Redis is away: 200, `retry:`, this, the end; the client retries
(EventSource gives up for good on any status but 200 and 204)."""


@dataclass(frozen=True)
class JobView:
    """One job at one moment: the newest id, its record and its history."""

    last_id: int
    start: int
    job: Job | None
    states: list[Entry]
    progress: Entry | None

    @property
    def terminal_id(self) -> int | None:
        return self.states[-1].id if self.states and self.states[-1].terminal else None

    def missed(self, since: int | None) -> list[Entry] | None:
        """As `Hub.missed` for one job: None when a fresh snapshot is due."""
        if since is None or since > self.last_id or since < self.start or self.job is None or not self.states:
            return None
        events = [entry for entry in self.states if entry.id > since]
        if self.progress is not None and self.progress.id > since:
            events.append(self.progress)
        return sorted(events, key=lambda entry: entry.id)


class RedisStreams(StreamService):
    """`StreamService` whose history and snapshots live in Redis."""

    def __init__(self, runner, hub, scripts: Scripts, connection: Connection, outage: Outage,
                 **knobs) -> None:
        super().__init__(runner, hub, **knobs)
        self._scripts = scripts
        self._prefix = connection.prefix
        self._key = connection.key
        self._outage = outage

    def open_count(self) -> int:
        """Streams open on every worker: this one's now, the others' as of their last heartbeat
        (at most a second old, `monitor.py`)."""
        reported = self._reported_elsewhere(lambda pipe, key: pipe.hvals(key))
        return self.hub.subscriber_count + sum(int(count) for counts in reported for count in counts)

    def job_stream(self, job_id: str, last_event_id: str | None,
                   viewer: Owner = EVERYONE) -> Stream | None:
        since = parse_event_id(last_event_id)
        try:
            view = self._view_job(job_id)
        except RedisError as error:
            unavailable = self._unavailable(error)
            return Stream(lambda: unavailable, self.heartbeats)
        if view.job is None or not viewer.may_see(view.job.owner):
            raise JobNotFound()
        if saw_the_end(view.terminal_id, since, view.last_id):
            return None
        self._check_limit(viewer)
        job = view.job
        return Stream(lambda: self._open_job(job, since, viewer), self.heartbeats)

    def _streams_of(self, viewer: Owner) -> int:
        """The viewer's streams on every worker: here now, elsewhere as of the last heartbeat.
        Within that second, workers admit on stale counts: a burst may pass the limit a little."""
        reported = self._reported_elsewhere(lambda pipe, key: pipe.hget(key, viewer.name))
        return self.hub.subscriptions_of(viewer) + sum(int(count) for count in reported if count)

    def _reported_elsewhere(self, ask: Callable[[Pipeline, str], object]) -> list[Any]:
        """`ask` of every other worker's `streams_of:<worker>` hash (its streams by owner), in
        one round trip."""
        client, mine = self.runner.client, self.runner.worker_id.encode()
        with client.pipeline() as pipe:
            for worker in client.smembers(self._key("workers")) - {mine}:
                ask(pipe, self._key(f"streams_of:{worker.decode()}"))
            return pipe.execute()

    def _open_job(self, job: Job, since: int | None, viewer: Owner) -> Opened:
        sub = self.hub.subscribe(job.id, viewer)
        try:
            view = self._view_job(job.id)
        except RedisError as error:
            sub.close()
            return self._unavailable(error)
        sub.skip_through(view.last_id)
        missed = view.missed(since)
        if missed is None:
            current = view.job or job  # forgotten meanwhile: what the request saw
            first = self._retry + encode_event("snapshot", view.last_id, job_json(current))
            ended = current.terminal
        else:
            first = self._retry + _frames(missed)
            ended = any(entry.terminal for entry in missed)
        if ended:
            sub.close()
            return Opened(first)
        return Opened(first, sub)

    def _open_all(self, since: int | None, viewer: Owner) -> Opened:
        sub = self.hub.subscribe(None, viewer)
        try:
            return Opened(self._retry + self._all_view(sub, since, viewer), sub)
        except RedisError as error:
            sub.close()
            return self._unavailable(error)

    def _unavailable(self, error: RedisError) -> Opened:
        self._outage.failed(error, "opening a stream")
        return Opened(self._retry + UNAVAILABLE)

    def _all_view(self, sub: Subscription, since: int | None, viewer: Owner) -> bytes:
        newest, mode, *items = self._scripts.view_all(args=[
            self._prefix, "" if since is None else since, "" if viewer.admin else viewer.name,
            defaults.SNAPSHOT_FINISHED_JOBS])
        last_id = int(newest)
        sub.skip_through(last_id)
        if mode == b"missed":
            entries = sorted((Entry.parse(raw) for raw in items), key=lambda entry: entry.id)
            return _frames([entry for entry in entries if viewer.may_see(entry.owner)])
        jobs = [job for job in map(job_of, items) if viewer.may_see(job.owner)]
        jobs.sort(key=lambda job: job.created_at, reverse=True)
        return encode_event("snapshot", last_id, snapshot_json(jobs))

    def _view_job(self, job_id: str) -> JobView:
        newest, start, record, progress, *states = self._scripts.view_job(args=[self._prefix, job_id])
        return JobView(int(newest), int(start), job_of(record) if record else None,
                       [Entry.parse(raw) for raw in states],
                       Entry.parse(progress) if progress else None)


def _frames(entries: list[Entry]) -> bytes:
    return b"".join(entry.event().frame for entry in entries)
