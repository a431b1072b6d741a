"""`RedisJobRunner`: the `JobRunner` whose queue, slots and job states are shared in Redis.

Any worker with a free slot takes the oldest queued job (`claim`), so `JOBS_CONCURRENCY`
and `JOBS_QUEUE_SIZE` hold for the whole deployment. Every state change is a commit
that checks the state it expects (and who holds the job), so a race between a cancel,
a start and a dead worker's clean-up has exactly one winner. A job greenlet runs the
kind as the in-memory runner does; only where states are kept differs.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event as Signal
from redis import Redis, RedisError

from .. import defaults
from ..access import EVERYONE, Owner
from ..errors import Interrupted, JobNotFound, NotCancellable, QueueFull, RateLimited, ShuttingDown
from ..jobs import Job, JobState
from ..registry import KindRegistry
from ..results import ResultStore
from ..runner import STOPPED_WHILE_QUEUED, STOPPED_WHILE_RUNNING, JobRunner, _log_state, _Run, job_json
from ..sse import SERVER_STOPPING
from .bus import RedisHub
from .connection import Connection, Outage
from .limits import RedisRateLimiter
from .records import Entry, entry_rest, job_of, record_of
from .scripts import Scripts
from .store import RedisJobStore

log = logging.getLogger("progress.redis")

STREAM_MAXLEN = 10_000
"""Events the Redis stream keeps (approximately): a reader that lags further loses events."""

LOST_CONTACT = "The worker running the job lost contact with Redis."

_TAKEN, _LOST_RACE, _QUEUE_FULL, _OWNER_LIMIT = "taken", -1, -2, -3


class _Withdrawn(BaseException):
    """The claimed job was cancelled or interrupted before it could start here."""


class RedisJobRunner(JobRunner):
    """A worker's share of the deployment's jobs: it runs what it claimed, reads every job."""

    def __init__(self, registry: KindRegistry, hub: RedisHub, results: ResultStore, client: Redis,
                 connection: Connection, outage: Outage, **knobs: Any) -> None:
        super().__init__(registry, hub, results, **knobs)  # type: ignore[arg-type]
        self.worker_id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.client = client
        self.connection = connection
        self.outage = outage
        self.scripts = Scripts(client)
        self._creation_rate = RedisRateLimiter(self.limits.jobs_per_minute, self.scripts.take_token, connection.key)
        self.store = RedisJobStore(client, connection)  # type: ignore[assignment]
        self.unsettled: set[str] = set()
        """Jobs this worker lost track of while Redis was away; settled once it is back."""
        self._wake = Signal()
        self._dispatcher: gevent.Greenlet | None = None
        self.on_shutdown: Callable[[], None] = lambda: None
        """Called last when this worker stops (the monitor says goodbye)."""
        hub.on_entry = self._heard
        hub.on_cancel = self._cancel_here

    def start(self) -> None:
        self._dispatcher = gevent.spawn(self._dispatch_forever)

    # Requests -------------------------------------------------------------------

    def submit(self, kind_name: str, params: Any, owner: Owner = EVERYONE) -> Job:
        if not self.accepting:
            raise ShuttingDown("The server is stopping and takes no new jobs.")
        kind, params = self.registry.validate(kind_name, params)
        self._creation_rate.take(owner.name)
        job = Job(kind.name, params, total=kind.initial_total(params), owner=owner.name)
        outcome = self._commit(job, None, "state")
        if outcome == _QUEUE_FULL:
            raise QueueFull(f"{self.queue_size} jobs are already waiting; try again later.",
                            retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        if outcome == _OWNER_LIMIT:
            raise RateLimited(f"You already have {self.limits.queued} jobs waiting.",
                              retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        _log_state(job)
        self._wake.set()
        return job

    def waiting_count(self) -> int:
        return self.client.zcard(self.connection.key("queue"))

    def cancel(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        """A queued job is cancelled here and now; a running one is asked to stop by the
        worker running it (through the control stream), which stops it within the grace."""
        while True:  # each lost race means the job moved on: look again
            job = self.store.get(job_id, viewer)
            if job.terminal:
                raise NotCancellable(f"The job is already {job.state.value}.")
            if job.state is JobState.RUNNING:
                if job.id in self._running:
                    self._cancel_here(job.id)
                else:
                    self.client.xadd(self.connection.key("control"), {"cancel": job.id},
                                     maxlen=1000, approximate=True)
                return job
            job.stop(JobState.CANCELLED)
            if self._commit(job, JobState.QUEUED, "state") != _LOST_RACE:
                _log_state(job)
                return job

    def shutdown(self, grace: float = defaults.SHUTDOWN_GRACE_S) -> None:
        """Stop taking jobs; interrupt only this worker's jobs (the others keep theirs and the
        shared queue), end this worker's streams."""
        self.accepting = False
        if self._dispatcher is not None:
            self._dispatcher.kill(block=False)
        try:
            for run in list(self._running.values()):
                if run.job.state is JobState.QUEUED:  # claimed, not started: it never will be here
                    self._finish(run.job, JobState.INTERRUPTED, STOPPED_WHILE_QUEUED)
            gevent.joinall([run.greenlet for run in self._running.values()], timeout=grace)
            for run in list(self._running.values()):
                self._finish(run.job, JobState.INTERRUPTED, STOPPED_WHILE_RUNNING)
                self._force_stop(run.job, Interrupted)
        except RedisError as error:
            self.outage.failed(error, "stopping")
        self.hub.close(SERVER_STOPPING)
        self.on_shutdown()

    # Running --------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._wake.set()

    def _dispatch_forever(self) -> None:
        """Take jobs while this worker and the deployment have a free slot; sleep until woken
        (a job queued or ended anywhere, or the monitor's tick)."""
        while self.accepting:
            self._wake.wait()
            self._wake.clear()
            try:
                while self.accepting and len(self._running) < self.concurrency:
                    record = self.scripts.claim(args=[self.connection.prefix, self.worker_id, self.concurrency])
                    if record is None:
                        break
                    job = job_of(record)
                    self._running[job.id] = _Run(job, gevent.spawn(self._run, job), Signal())
            except RedisError as error:
                self.outage.failed(error, "taking jobs")

    def _run(self, job: Job) -> None:
        try:
            super()._run(job)
        except _Withdrawn:
            pass
        except RedisError as error:
            self.outage.failed(error, f"running job {job.id}")
            self.unsettled.add(job.id)

    def _heard(self, entry: Entry) -> None:
        """A job queued or ended somewhere: a job may be waiting, or a slot came free."""
        if entry.type == "state" and (entry.terminal or json.loads(entry.data)["state"] == "queued"):
            self._wake.set()

    def _cancel_here(self, job_id: str) -> None:
        """Ask the job to stop; kill it after the grace if it does not (as the in-memory runner)."""
        run = self._running.get(job_id)
        if run is not None and run.job.state is JobState.RUNNING:
            self._ask_to_stop(run)

    # State changes ----------------------------------------------------------------

    def _moved(self, job: Job, previous: JobState) -> None:
        if self._commit(job, previous, "state") == _LOST_RACE:
            if previous is JobState.QUEUED and job.state is JobState.RUNNING:
                raise _Withdrawn()
            return  # another worker ended it first (it took this worker for dead)
        _log_state(job)
        if job.terminal:
            for listener in self.finish_listeners:
                listener(job)

    def _publish(self, event_type: str, job: Job) -> None:
        """Progress only (`_moved` commits state changes with the state they expect). Taken
        as it is now; sent at once, or from a new greenlet when a progress throttle calls
        from the event loop itself, where no I/O may wait."""
        args = self._commit_args(job, JobState.RUNNING, event_type)
        if gevent.getcurrent() is gevent.get_hub():
            gevent.spawn(self._publish_later, job, args)
        else:
            self._send_progress(job, args)

    def _publish_later(self, job: Job, args: list[Any]) -> None:
        try:
            self._send_progress(job, args)
        except RedisError as error:
            self.outage.failed(error, f"publishing progress of job {job.id}")

    def _send_progress(self, job: Job, args: list[Any]) -> None:
        """A progress commit that finds the job ended elsewhere stops the job here."""
        if self.scripts.commit(args=args) != _LOST_RACE:
            return
        run = self._running.get(job.id)
        if run is not None and run.greenlet is gevent.getcurrent():
            raise Interrupted()
        self._force_stop(job, Interrupted)

    def _commit(self, job: Job, expect: JobState | None, event_type: str,
                holder: str | None = None) -> int:
        """Store the job and publish its event in one script; negative codes say why not."""
        return self.scripts.commit(args=self._commit_args(job, expect, event_type, holder))

    def _commit_args(self, job: Job, expect: JobState | None, event_type: str,
                     holder: str | None = None) -> list[Any]:
        if holder is None:
            holder = self.worker_id if expect in (JobState.QUEUED, JobState.RUNNING) else ""
            if expect is JobState.QUEUED and job.state is JobState.CANCELLED:
                holder = ""  # a cancel may stop a queued job whoever claimed it
        finished_ms = int((job.finished_at or 0) * 1000)
        return [self.connection.prefix, job.id, expect.value if expect else "", job.state.value,
                record_of(job), event_type, entry_rest(event_type, job, job_json(job)), holder, job.owner,
                "1" if job.terminal else "0", finished_ms, STREAM_MAXLEN, self.concurrency,
                self.queue_size, self.limits.queued, defaults.STATE_HISTORY]

    # Recovery and retention (called by the monitor) -----------------------------------

    def interrupt(self, job_id: str, holder: str, error: str) -> None:
        """End a job another worker (or this one, out of touch) held; exactly one caller wins."""
        try:
            job = self.store.get(job_id)
        except JobNotFound:  # forgotten, or lost with a Redis that restarted empty
            return
        if job.terminal:
            return
        previous = job.state
        job.stop(JobState.INTERRUPTED, STOPPED_WHILE_QUEUED if previous is JobState.QUEUED else error)
        if self._commit(job, previous, "state", holder) != _LOST_RACE:
            _log_state(job)

    def forget_finished(self, older_than_s: float) -> int:
        """Forget jobs finished at least `older_than_s` ago with their result files (any worker
        may: each is popped once)."""
        cutoff_ms = int((time.time() - older_than_s) * 1000)
        forgotten = 0
        while records := self.scripts.forget(args=[self.connection.prefix, cutoff_ms, 500]):
            for record in records:
                if record and (job := job_of(record)).result is not None:
                    self.results.remove(job.result)
            forgotten += len(records)
        return forgotten
