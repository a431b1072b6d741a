"""`RedisStore`: the `JobStore` of a deployment whose workers share one Redis.

Any worker with a free slot takes the oldest queued job (`claim`), so `JOBS_CONCURRENCY`
and `JOBS_QUEUE_SIZE` hold for the whole deployment. Every commit is one Lua script
(`scripts.py`) that checks the state it expects and who holds the job. Events reach each
worker's streams through its one reader (`bus.py`); `monitor.py` proves the worker alive
and ends the jobs of workers that died. While Redis cannot be reached, the changes of the jobs
this worker runs are held and written once it answers (`held.py`); everything else raises one
of `outage_errors`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from redis import Redis, RedisError
from redis.client import Pipeline

from .. import defaults
from ..access import EVERYONE, Owner
from ..errors import AlreadySubmitted, IdempotencyConflict, QueueFull, RateLimited
from ..events import AllView, Event, JobView, visible
from ..jobs import Job, JobState, job_json
from ..limits import CreationRate
from ..outage import Outage
from ..rare_log import RareWarning
from ..store import Feed, IdempotencyKey, QueueLimits
from .bus import Bus
from .address import RedisAddress
from .connection import Connection
from .held import Held, HeldCommits
from .limits import RedisRateLimiter
from .monitor import Monitor
from .records import entry_rest, event_of
from .scripts import Scripts

UNREPLICATED = RareWarning(logging.getLogger("progress.store"),
                           "no replica acknowledged a job's state change within %d ms, so a failover "
                           "could lose it; state changes go on without waiting for %g s")

STREAM_MAXLEN = 10_000
"""Events the Redis stream keeps (approximately): a reader that lags further loses events."""

BATCH = 200
"""Records fetched per round trip when a list is filtered."""

HELD_EVENT_ID = 0
"""The id of an event held through an outage: its real id is issued when it is written."""

REPLICA_WAIT_MS = 1000
"""With Sentinel, a state change (a submit's 202 included) waits this long for a replica to hold
it (WAIT); then it goes on anyway, and the log says a failover could lose it."""

UNREPLICATED_PAUSE_S = 10.0
"""After a WAIT no replica answered, state changes go on without waiting this long, then try again:
a lost replica costs one second now and then, not one per state change."""

_LOST_RACE, _QUEUE_FULL, _OWNER_LIMIT, _KEY_USED, _KEY_CONFLICT = -1, -2, -3, -4, -5


def connect(address: RedisAddress, limits: QueueLimits,
            outage_grace_s: float = defaults.REDIS_OUTAGE_GRACE_S) -> RedisStore:
    """The store on the Redis at `address`. It connects when first used, so a worker started while
    Redis is away boots, answers 503 `unavailable`, and serves once Redis is back."""
    connection = Connection(address)
    return RedisStore(connection, connection.client(), limits, outage_grace_s)


class RedisStore:
    """Every kept job of the deployment, in Redis (`JobStore`)."""

    durable = True
    outage_errors: tuple[type[Exception], ...] = (RedisError,)
    waits_on_network = True

    def __init__(self, connection: Connection, client: Redis, limits: QueueLimits,
                 outage_grace_s: float = defaults.REDIS_OUTAGE_GRACE_S) -> None:
        self.connection = connection
        self.client = client
        self.scripts = Scripts(client)
        self.outage = Outage()
        self.outage_grace_s = outage_grace_s
        self.holder = ""
        self.held = HeldCommits()
        self._limits = limits
        self._replicas = 1 if connection.address.sentinels else 0
        """Replicas a state change must reach before anyone is answered: one where a failover may
        promote one."""
        self._unreplicated_until = 0.0
        self._key = connection.key
        self._prefix = connection.prefix
        self._bus: Bus | None = None
        self._monitor: Monitor | None = None

    # Lifecycle ----------------------------------------------------------------------

    def start(self, feed: Feed, holder: str) -> None:
        self.holder = holder
        self._bus = Bus(self.connection, self.outage, feed)
        self._monitor = Monitor(self, feed)
        self._bus.start(self.client)
        self._monitor.start()

    def close(self) -> None:
        """Write what is held if Redis answers, stop reading, and say goodbye at once, so nobody
        waits for the heartbeat to lapse."""
        try:
            self.write_held()
        except RedisError as error:
            self.outage.failed(error, "stopping")
        if self._bus is not None:
            self._bus.stop()
        if self._monitor is not None:
            self._monitor.stop()

    # Writes -------------------------------------------------------------------------

    def add(self, job: Job, idempotency: IdempotencyKey | None = None) -> Event:
        outcome, event = self._commit(job, None, "state", "", idempotency)
        if outcome == _KEY_USED:
            raise AlreadySubmitted(self._first_job_of(idempotency))  # type: ignore[arg-type]
        if outcome == _KEY_CONFLICT:
            raise IdempotencyConflict(IdempotencyKey.conflict_message)
        if outcome == _QUEUE_FULL:
            raise QueueFull(f"{self._limits.queue_size} jobs are already waiting; try again later.",
                            retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        if outcome == _OWNER_LIMIT:
            raise RateLimited(f"You already have {self._limits.queued_per_owner} jobs waiting.",
                              retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        return event

    def commit(self, job: Job, expect: JobState, event_type: str, holder: str) -> Event | None:
        """A change of a job this worker holds is held while Redis is away (and while an earlier
        change of the job waits), and written in order once it answers: the job goes on."""
        args, data = self._commit_args(job, expect, event_type, holder)
        ours = bool(holder) and holder == self.holder
        if ours and (self.outage.down or self.held.holds(job.id)):
            return self._hold(job, event_type, args, data)
        try:
            outcome = self._run_commit(event_type == "state", args)
        except RedisError as error:
            if not ours:
                raise
            self.outage.failed(error, f"committing a change of job {job.id}")
            return self._hold(job, event_type, args, data)
        return None if outcome == _LOST_RACE else Event.of(outcome, event_type, job, data)

    def _hold(self, job: Job, event_type: str, args: tuple[object, ...], data: str) -> Event:
        self.held.add(job.id, Held(event_type, args))
        return Event.of(HELD_EVENT_ID, event_type, job, data)

    def write_held(self) -> None:
        """Write the changes held through an outage, in order; raises if Redis is away again."""
        self.held.write(lambda args: self.scripts.commit(args=args))

    def _first_job_of(self, idempotency: IdempotencyKey) -> Job:
        """The job a used key created: as it is now, or as it was if forgotten since."""
        value = self.client.get(self._key(f"idem:{idempotency.owner}:{idempotency.key}"))
        _, job_id, record = value.decode().split("\n", 2)
        return self.get(job_id) or Job.from_record(record)

    def _commit(self, job: Job, expect: JobState | None, event_type: str, holder: str,
                idempotency: IdempotencyKey | None = None) -> tuple[int, Event]:
        """Store the job and publish its event in one script; negative codes say why not."""
        args, data = self._commit_args(job, expect, event_type, holder, idempotency)
        outcome = self._run_commit(event_type == "state", args)
        return outcome, Event.of(outcome, event_type, job, data)

    def _commit_args(self, job: Job, expect: JobState | None, event_type: str, holder: str,
                     idempotency: IdempotencyKey | None = None) -> tuple[tuple[object, ...], str]:
        """The commit script's arguments for the job as it is now, and the event's data."""
        data = job_json(job)
        limits = self._limits
        waits = job.state is JobState.QUEUED and not job.due(time.time())
        return (
            self._prefix, job.id, expect.value if expect else "", job.state.value, job.to_record(),
            event_type, entry_rest(event_type, job, data), holder, job.owner,
            "1" if job.terminal else "0", int((job.finished_at or 0) * 1000), STREAM_MAXLEN,
            limits.concurrency, limits.queue_size, limits.queued_per_owner, defaults.STATE_HISTORY,
            int(job.run_at * 1000) if waits else "",  # type: ignore[operator]
            idempotency.key if idempotency else "", idempotency.fingerprint if idempotency else "",
            int(defaults.IDEMPOTENCY_KEEP_S)), data

    def _run_commit(self, replicated: bool, args: tuple[object, ...]) -> int:
        """A state change's commit and WAIT go on one connection (WAIT counts that connection's
        writes), so a job a 202 accepted, or a job that ended, is on a replica too and survives
        a failover. Progress is not waited for (the next report carries it anyway), nor are the
        changes held through an outage, written at once when it ends."""
        if not (replicated and self._replicas) or time.monotonic() < self._unreplicated_until:
            return self.scripts.commit(args=args)
        with self.client.pipeline(transaction=False) as pipe:
            self.scripts.commit(args=args, client=pipe)
            pipe.wait(self._replicas, REPLICA_WAIT_MS)
            outcome, acknowledged = pipe.execute()
        if acknowledged < self._replicas:
            UNREPLICATED.say(REPLICA_WAIT_MS, UNREPLICATED_PAUSE_S)
            self._unreplicated_until = time.monotonic() + UNREPLICATED_PAUSE_S
        return outcome

    def claim(self, holder: str) -> Job | None:
        record = self.scripts.claim(args=[self._prefix, holder, self._limits.concurrency,
                                          self._limits.owner_slots])
        return Job.from_record(record) if record else None

    def next_due(self) -> float | None:
        soonest = self.client.zrange(self._key("delayed"), 0, 0, withscores=True)
        return soonest[0][1] / 1000 if soonest else None

    def schedule_due(self, name: str, due: float) -> bool:
        return self.scripts.schedule_due(keys=[self._key("schedules")], args=[name, repr(due)]) == 1

    def release(self, job_id: str, holder: str) -> None:
        self.scripts.release(args=[self._prefix, job_id, holder])

    def request_cancel(self, job_id: str) -> None:
        """The worker running the job hears it on the control stream and stops it."""
        self.client.xadd(self._key("control"), {"cancel": job_id}, maxlen=1000, approximate=True)

    def interrupt_held(self, job_id: str, holder: str, error: str) -> Job | None:
        """End a job `holder` ran and can no longer finish, or queue it for another attempt;
        exactly one caller wins."""
        job = self.get(job_id)
        if job is None or job.state is not JobState.RUNNING:  # forgotten, or lost with a Redis that restarted empty
            return None
        job.end_attempt(JobState.INTERRUPTED, error)
        return job if self.commit(job, JobState.RUNNING, "state", holder) else None

    # Reads --------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        record = self.client.get(self._key(f"job:{job_id}"))
        return Job.from_record(record) if record is not None else None

    def counts(self) -> Mapping[JobState, int]:
        with self.client.pipeline(transaction=False) as pipe:
            for state in JobState:
                pipe.zcard(self._key(f"in:{state.value}"))
            return dict(zip(JobState, pipe.execute()))

    def waiting(self) -> int:
        return self.client.zcard(self._key("queue"))

    def newest_first(self, states: Iterable[JobState] | None, limit: int, viewer: Owner) -> list[Job]:
        sets = [f"in:{state.value}" for state in dict.fromkeys(states)] if states else ["created"]
        found: list[tuple[float, Job]] = []
        for name in sets:  # each set newest first, merged below
            found.extend(self._visible(name, limit, viewer))
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [job for _, job in found[:limit]]

    def unfinished(self) -> list[Job]:
        return [job for _, job in self._visible("in:queued", None, EVERYONE)
                + self._visible("in:running", None, EVERYONE)]

    def _visible(self, name: str, limit: int | None, viewer: Owner) -> list[tuple[float, Job]]:
        """Up to `limit` jobs of one sorted set that `viewer` may see, newest first."""
        found: list[tuple[float, Job]] = []
        offset = 0
        while limit is None or len(found) < limit:
            page = self.client.zrevrange(self._key(name), offset, offset + BATCH - 1, withscores=True)
            if not page:
                break
            records = self.client.mget([self._key(f"job:{job_id.decode()}") for job_id, _ in page])
            for (_, order), record in zip(page, records):
                if record is not None and viewer.may_see((job := Job.from_record(record)).owner):
                    found.append((order, job))
            offset += BATCH
        return found if limit is None else found[:limit]

    def view_job(self, job_id: str) -> JobView:
        self._reader_positioned()
        newest, start, record, progress, *states = self.scripts.view_job(args=[self._prefix, job_id])
        return JobView(int(newest), int(start) + 1, Job.from_record(record) if record else None,
                       [event_of(raw) for raw in states], event_of(progress) if progress else None)

    def view_all(self, since: int | None, viewer: Owner) -> AllView:
        self._reader_positioned()
        newest, mode, *items = self.scripts.view_all(args=[
            self._prefix, "" if since is None else since, "" if viewer.admin else viewer.name,
            defaults.SNAPSHOT_FINISHED_JOBS])
        if mode == b"missed":
            events = sorted((event_of(raw) for raw in items), key=lambda event: event.id)
            return AllView(int(newest), visible(events, viewer), [])
        jobs = [job for job in map(Job.from_record, items) if viewer.may_see(job.owner)]
        jobs.sort(key=lambda job: job.created_at, reverse=True)
        return AllView(int(newest), None, jobs)

    def _reader_positioned(self) -> None:
        """A stream's history and the reader's live events must meet: before a stream first
        reads history, the reader learns where live events begin (at start, or once Redis answers)."""
        if self._bus is not None:
            self._bus.position(self.client)

    # Retention ----------------------------------------------------------------------

    def forget_finished(self, finished_before: float) -> list[Job]:
        """Any worker may: each job is popped once."""
        cutoff_ms = int(finished_before * 1000)
        forgotten: list[Job] = []
        while records := self.scripts.forget(args=[self._prefix, cutoff_ms, 500]):
            forgotten += [Job.from_record(record) for record in records if record]
        return forgotten

    # The deployment ---------------------------------------------------------------------

    def creation_rate(self, per_minute: int) -> CreationRate:
        return RedisRateLimiter(per_minute, self.scripts.take_token, self._key)

    def streams_elsewhere(self, owner: str | None) -> int:
        """Other workers' streams as of their last heartbeat (at most a second old, `monitor.py`)."""
        if owner is None:
            reported = self._reported_elsewhere(lambda pipe, key: pipe.hvals(key))
            return sum(int(count) for counts in reported for count in counts)
        reported = self._reported_elsewhere(lambda pipe, key: pipe.hget(key, owner))
        return sum(int(count) for count in reported if count)

    def _reported_elsewhere(self, ask: Callable[[Pipeline, str], object]) -> list[Any]:
        """`ask` of every other worker's `streams_of:<worker>` hash (its streams by owner), in
        one round trip."""
        with self.client.pipeline() as pipe:
            for worker in set(self.client.hkeys(self._key("heartbeats"))) - {self.holder.encode()}:
                ask(pipe, self._key(f"streams_of:{worker.decode()}"))
            return pipe.execute()
