"""`JobRunner`: a bounded queue, a few job greenlets, cancel, shutdown and retention."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.event import Event as Signal

from . import defaults
from .access import EVERYONE, Owner
from .context import JobContext
from .errors import Cancelled, Interrupted, NotCancellable, QueueFull, RateLimited, ShuttingDown
from .hub import Hub
from .jobs import Job, JobState
from .limits import CreationRate, OwnerLimits, RateLimiter
from .registry import KindRegistry
from .results import ResultStore
from .sse import SERVER_STOPPING
from .store import JobStore
from .throttle import ProgressThrottle

log = logging.getLogger("progress.runner")

STOPPED_WHILE_QUEUED = "The server stopped before the job started."
STOPPED_WHILE_RUNNING = "The server stopped before the job finished."


@dataclass(slots=True)
class _Run:
    job: Job
    greenlet: gevent.Greenlet
    cancel_requested: Signal
    force_stop_scheduled: bool = False
    throttle: ProgressThrottle | None = None


def one_line_error(exc: BaseException, limit: int = 300) -> str:
    """What a person sees of a failure; the traceback goes to the log only."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _log_state(job: Job) -> None:
    """One structured line per state change; never the params, which may hold secrets."""
    since = job.finished_at or job.started_at or job.created_at
    began = job.started_at if job.finished_at and job.started_at else job.created_at
    log.info("job=%s kind=%s owner=%s state=%s duration_s=%.3f", job.id, job.kind, job.owner,
             job.state.value, since - began)


def job_json(job: Job) -> str:
    """Compact JSON of a job, so an event's `data:` is one line."""
    return json.dumps(job.to_dict(), separators=(",", ":"), ensure_ascii=False)


class JobRunner:
    """Runs at most `concurrency` jobs at once, oldest first, with at most `queue_size` waiting."""

    def __init__(self, registry: KindRegistry, hub: Hub, results: ResultStore, *,
                 concurrency: int = defaults.JOBS_CONCURRENCY,
                 queue_size: int = defaults.JOBS_QUEUE_SIZE,
                 keep_s: float = defaults.JOBS_KEEP_S,
                 limits: OwnerLimits = OwnerLimits()) -> None:
        self.registry = registry
        self.hub = hub
        self.results = results
        self.store = JobStore()
        self.concurrency = concurrency
        self.queue_size = queue_size
        self.keep_s = keep_s
        self.limits = limits
        self._creation_rate: CreationRate = RateLimiter(limits.jobs_per_minute)
        self.accepting = True
        self._waiting: deque[Job] = deque()
        self._running: dict[str, _Run] = {}
        self._job_finished = Signal()
        self._reaper: gevent.Greenlet | None = None
        self.finish_listeners: list[Callable[[Job], None]] = []
        """Called with each job as it reaches a terminal state (e.g. `/metrics` durations)."""

    # Requests -------------------------------------------------------------------

    def submit(self, kind_name: str, params: Any, owner: Owner = EVERYONE) -> Job:
        """Validate, queue and announce a job of `owner`; it starts as soon as a slot is free."""
        if not self.accepting:
            raise ShuttingDown("The server is stopping and takes no new jobs.")
        kind, params = self.registry.validate(kind_name, params)
        if self.waiting_count() >= self.queue_size and len(self._running) >= self.concurrency:
            raise QueueFull(f"{self.queue_size} jobs are already waiting; try again later.",
                            retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        if self.limits.queued and self.store.queued_by_owner[owner.name] >= self.limits.queued:
            raise RateLimited(f"You already have {self.limits.queued} jobs waiting.",
                              retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        self._creation_rate.take(owner.name)
        job = Job(kind.name, params, total=kind.initial_total(params), owner=owner.name)
        self.store.add(job)
        self._publish("state", job)
        _log_state(job)
        self._waiting.append(job)
        self._dispatch()
        return job

    def get(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        return self.store.get(job_id, viewer)

    def waiting_count(self) -> int:
        """Queued jobs with no slot yet (a job whose greenlet is about to start doesn't wait)."""
        starting = sum(1 for run in self._running.values() if run.job.state is JobState.QUEUED)
        return self.store.counts[JobState.QUEUED] - starting

    def list(self, states: Iterable[JobState] | None, limit: int, viewer: Owner = EVERYONE) -> list[Job]:
        return self.store.newest_first(states, limit, viewer)

    def cancel(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        """A queued job is cancelled at once; a running one is asked, then stopped after a grace."""
        job = self.store.get(job_id, viewer)
        if job.terminal:
            raise NotCancellable(f"The job is already {job.state.value}.")
        run = self._running.get(job.id)
        if job.state is JobState.QUEUED:  # waiting, or spawned but not started: it will never run
            self._finish(job, JobState.CANCELLED)
        elif run is not None:
            self._ask_to_stop(run)
        return job

    def shutdown(self, grace: float = defaults.SHUTDOWN_GRACE_S) -> None:
        """Stop taking jobs; give running ones `grace` seconds, mark the rest `interrupted`, end streams."""
        self.accepting = False
        for job in self.store.unfinished():
            if job.state is JobState.QUEUED:
                self._finish(job, JobState.INTERRUPTED, STOPPED_WHILE_QUEUED)
        gevent.joinall([run.greenlet for run in self._running.values()], timeout=grace)
        for job in self.store.unfinished():
            self._finish(job, JobState.INTERRUPTED, STOPPED_WHILE_RUNNING)
            self._force_stop(job, Interrupted)
        self.hub.close(SERVER_STOPPING)
        if self._reaper is not None:
            self._reaper.kill(block=False)

    # Running --------------------------------------------------------------------

    def _dispatch(self) -> None:
        while self.accepting and self._waiting and len(self._running) < self.concurrency:
            job = self._waiting.popleft()
            if job.state is JobState.QUEUED:  # else it was cancelled while waiting
                self._running[job.id] = _Run(job, gevent.spawn(self._run, job), Signal())

    def _run(self, job: Job) -> None:
        run = self._running[job.id]
        try:
            if job.state is JobState.QUEUED:
                self._execute(run)
        finally:
            del self._running[job.id]
            self._dispatch()

    def _execute(self, run: _Run) -> None:
        job, cancel_requested = run.job, run.cancel_requested
        kind = self.registry.get(job.kind)
        previous = job.state
        job.start()
        self._moved(job, previous)
        throttle = run.throttle = ProgressThrottle(lambda: self._publish("progress", job))
        ctx = JobContext(job, lambda job: throttle.report(), self.results, cancel_requested)
        try:
            value = kind.function(ctx, **job.params)
            if cancel_requested.is_set():
                raise Cancelled()  # the 202 to the cancel promised `cancelled`
            if ctx.result is None:
                ctx.write_json(value)
        except Cancelled:
            self._finish(job, JobState.CANCELLED)
        except (Interrupted, gevent.GreenletExit):
            self._finish(job, JobState.INTERRUPTED, STOPPED_WHILE_RUNNING)
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._finish(job, JobState.FAILED, one_line_error(exc))
        else:
            if not job.terminal:
                previous = job.state
                throttle.flush()
                job.succeed(ctx.result)
                self._moved(job, previous)
        finally:
            if ctx.result is not None and job.result is None:
                self.results.remove(ctx.result)

    def _ask_to_stop(self, run: _Run) -> None:
        """Wake the job's cancel checks now; force it after `CANCEL_GRACE_S` if it goes on."""
        run.cancel_requested.set()
        if not run.force_stop_scheduled:
            run.force_stop_scheduled = True
            gevent.spawn_later(defaults.CANCEL_GRACE_S, self._force_stop, run.job, Cancelled)

    def _force_stop(self, job: Job, exception: type[BaseException]) -> None:
        """Raise `exception` in the job's greenlet; a cancel is repeated until the job ends,
        so even a kind that catches `BaseException` stops."""
        run = self._running.get(job.id)
        if run is None:
            return
        run.greenlet.kill(exception, block=False)
        if exception is Cancelled:
            gevent.spawn_later(defaults.CANCEL_GRACE_S, self._force_stop, job, exception)

    # State changes ----------------------------------------------------------------

    def _finish(self, job: Job, state: JobState, error: str | None = None) -> None:
        if job.terminal:
            return  # e.g. interrupted by shutdown while its greenlet unwound
        run = self._running.get(job.id)
        if run is not None and run.throttle is not None:
            run.throttle.flush()  # the last progress goes before the state event
        previous = job.state
        job.stop(state, error)
        self._moved(job, previous)

    def _moved(self, job: Job, previous: JobState) -> None:
        self.store.moved(job, previous)
        self._publish("state", job)
        _log_state(job)
        if job.terminal:
            self._job_finished.set()
            for listener in self.finish_listeners:
                listener(job)
            if self._reaper is None and self.accepting:
                self._reaper = gevent.spawn(self._reap_forever)

    def _publish(self, event_type: str, job: Job) -> None:
        self.hub.publish(event_type, job.id, job_json(job), terminal=job.terminal, owner=job.owner)

    # Retention --------------------------------------------------------------------

    def _reap_forever(self) -> None:
        """Forget finished jobs `keep_s` after they finished, with their results: bounded memory and disk."""
        while True:
            finished_at = self.store.next_expiry()
            if finished_at is None:
                self._job_finished.clear()
                self._job_finished.wait()
                continue
            wait = finished_at + self.keep_s - time.monotonic()
            if wait > 0:
                gevent.sleep(wait)
                continue
            self._forget_oldest_finished()

    def forget_finished(self, older_than_s: float) -> int:
        """Forget jobs finished at least `older_than_s` ago, with their results, as the reaper
        does at `keep_s`; never an unfinished job. For the `cleanup` kind (issue #5)."""
        cutoff = time.monotonic() - older_than_s
        forgotten = 0
        while (finished_at := self.store.next_expiry()) is not None and finished_at <= cutoff:
            self._forget_oldest_finished()
            forgotten += 1
        return forgotten

    def _forget_oldest_finished(self) -> None:
        job = self.store.pop_oldest_finished()
        self.hub.forget(job.id)
        if job.result is not None:
            self.results.remove(job.result)
