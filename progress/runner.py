"""`JobRunner`: this process's share of the jobs: it takes queued jobs from the store while it
has a free slot, runs each kind in a greenlet, reports progress, cancels and shuts down.

Every change of a job is a commit to the store (progress/store.py) that checks the state it
expects, so whichever store keeps the jobs (memory, SQLite, Redis) the runner is the same.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.event import Event as Signal

from . import defaults
from .access import EVERYONE, Owner
from .context import JobContext
from .errors import (AllItemsFailed, AlreadySubmitted, BadRequest, Cancelled, Interrupted, JobNotFound, NotCancellable,
                     ShuttingDown)
from .feed import ProcessFeed
from .hub import Hub
from .jobs import Job, JobState
from .limits import OwnerLimits
from .memory_store import STOPPED_WHILE_RUNNING
from .registry import KindRegistry
from .results import ResultStore
from .sse import SERVER_STOPPING
from .store import IdempotencyKey, JobStore
from .throttle import ProgressThrottle

log = logging.getLogger("progress.runner")

STOPPED_WHILE_QUEUED = "The server stopped before the job started."

DISPATCH_FALLBACK_S = 1.0
"""The dispatcher looks for work at least this often, even if no event woke it."""

RETENTION_TICK_S = 1.0
"""How often jobs past `keep_s` are forgotten."""


@dataclass(slots=True)
class _Run:
    job: Job
    greenlet: gevent.Greenlet
    cancel_requested: Signal
    force_stop_scheduled: bool = False
    throttle: ProgressThrottle | None = None
    ended: bool = False
    """This attempt is over (the job ended, or waits for another attempt)."""
    timed_out: bool = False


def one_line_error(exc: BaseException, limit: int = 300, with_type: bool = True) -> str:
    """What a person sees of a failure; the traceback goes to the log only."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = f"{type(exc).__name__}: {text}" if text and with_type else text or type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


def log_state(job: Job) -> None:
    """One structured line per state change; never the params, which may hold secrets. A kind's
    or owner's name may hold anything, so each is escaped (`log_value`, issue 15)."""
    from .log_values import log_value

    since = job.finished_at or job.started_at or job.created_at
    began = job.started_at if job.finished_at and job.started_at else job.created_at
    log.info("job=%s kind=%s owner=%s state=%s duration_s=%.3f", log_value(job.id), log_value(job.kind),
             log_value(job.owner), job.state.value, since - began)


class JobRunner:
    """Runs at most `concurrency` jobs at once, oldest first, from the store's queue."""

    def __init__(self, registry: KindRegistry, hub: Hub, results: ResultStore, store: JobStore, *,
                 concurrency: int = defaults.JOBS_CONCURRENCY,
                 keep_s: float = defaults.JOBS_KEEP_S,
                 limits: OwnerLimits = OwnerLimits()) -> None:
        self.registry = registry
        self.hub = hub
        self.results = results
        self.store = store
        self.concurrency = concurrency
        self.keep_s = keep_s
        self.holder = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        """Who holds the jobs this process runs, in a store shared by several."""
        self._creation_rate = store.creation_rate(limits.jobs_per_minute)
        self.accepting = True
        self._running: dict[str, _Run] = {}
        self._wake = Signal()
        self._taking = False
        self._stopped = Signal()
        self._chores: list[gevent.Greenlet] = []
        self.finish_listeners: list[Callable[[Job], None]] = []
        """Called with each job this process ran as it ends (e.g. `/metrics` durations)."""

    def start(self) -> None:
        self.store.start(ProcessFeed(self.hub, self.wake, self.cancel_here, self.interrupt_running), self.holder)
        self._chores = [gevent.spawn(self._dispatch_forever), gevent.spawn(self._forget_forever)]

    # Requests -------------------------------------------------------------------

    def submit(self, kind_name: str, params: Any, owner: Owner = EVERYONE, *, run_at: float | None = None,
               timeout_s: float | None = None, idempotency: IdempotencyKey | None = None) -> Job:
        """Validate and commit a job of `owner`; it starts as soon as a slot is free and `run_at`
        (seconds since the epoch) has come. `timeout_s` may shorten the kind's time limit. A
        repeated `idempotency` key answers with the job it first created."""
        if not self.accepting:
            raise ShuttingDown("The server is stopping and takes no new jobs.")
        kind, params = self.registry.validate(kind_name, params)
        if timeout_s is not None and kind.timeout_s is not None and timeout_s > kind.timeout_s:
            raise BadRequest(f"timeout_s may be at most {kind.timeout_s:g}, the time limit of {kind.name} jobs.")
        self._creation_rate.take(owner.name)
        job = Job(kind.name, params, total=kind.initial_total(params), owner=owner.name,
                  max_attempts=kind.retries + 1, retry_backoff_s=kind.retry_backoff_s, run_at=run_at,
                  timeout_s=kind.timeout_s if timeout_s is None else timeout_s)
        try:
            self.store.add(job, idempotency)
        except AlreadySubmitted as already:
            return already.job  # type: ignore[no-any-return]
        log_state(job)
        self._take_jobs()
        return job

    def get(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        """The job, if `viewer` may see it: someone else's job is as missing as no job, so ids leak nothing."""
        job = self.store.get(job_id)
        if job is None or not viewer.may_see(job.owner):
            raise JobNotFound()
        return job

    def list(self, states: Iterable[JobState] | None, limit: int, viewer: Owner = EVERYONE) -> list[Job]:
        return self.store.newest_first(states, limit, viewer)

    def cancel(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        """A queued job is cancelled at once; a running one is asked to stop wherever it runs,
        and stopped after a grace."""
        while True:  # each lost race means the job moved on: look again
            job = self.get(job_id, viewer)
            if job.terminal:
                raise NotCancellable(f"The job is already {job.state.value}.")
            if job.state is JobState.RUNNING:
                if job.id in self._running:
                    self.cancel_here(job.id)
                else:
                    self.store.request_cancel(job.id)
                return job
            if self._end(job, JobState.CANCELLED, holder=""):  # whoever claimed it
                return job

    def wake(self) -> None:
        """Look for queued work now (a job was queued or a slot came free)."""
        self._wake.set()

    def cancel_here(self, job_id: str) -> None:
        """Ask a job running here to stop; kill it after the grace if it does not."""
        run = self._running.get(job_id)
        if run is not None and run.job.state is JobState.RUNNING:
            self._ask_to_stop(run)

    def shutdown(self, grace: float = defaults.SHUTDOWN_GRACE_S) -> None:
        """Stop taking jobs; give running ones `grace` seconds, then mark them `interrupted`.
        Queued jobs wait for the next start where the store outlives this process. A second
        call (gunicorn's master passes SIGTERM on to a worker that had it already) waits for the first."""
        if not self.accepting:
            self._stopped.wait()
            return
        self.accepting = False
        for chore in self._chores:
            chore.kill(block=False)
        try:
            gevent.joinall([run.greenlet for run in self._running.values()], timeout=grace)
            self.interrupt_running(STOPPED_WHILE_RUNNING)
            if not self.store.durable:  # nothing waits for a next start: queued jobs end here
                for job in self.store.unfinished():
                    if job.state is JobState.QUEUED:
                        self._end(job.copy(), JobState.INTERRUPTED, STOPPED_WHILE_QUEUED, holder="")
        except self.store.outage_errors as error:
            self.store.outage.failed(error, "stopping")
        self.hub.close(SERVER_STOPPING)
        self.store.close()
        self._stopped.set()

    def interrupt_running(self, error: str) -> None:
        """End every job running here `interrupted` with `error` (shutdown, or a store out of
        reach for too long). A claimed job that never started is released by its greenlet."""
        for run in list(self._running.values()):
            if run.job.state is JobState.RUNNING:
                run.cancel_requested.set()  # its next report or check stops it, quietly
                self._finish(run, JobState.INTERRUPTED, error)
                self._force_stop(run.job, Interrupted)

    # Running --------------------------------------------------------------------

    def _dispatch_forever(self) -> None:
        """Take jobs whenever woken (a job queued or ended elsewhere), and at least every
        `DISPATCH_FALLBACK_S`."""
        while self.accepting:
            self._wake.wait(self._until_next_due())
            self._wake.clear()
            self._take_jobs()

    def _until_next_due(self) -> float:
        """Seconds until the soonest delayed job is due, at most `DISPATCH_FALLBACK_S`."""
        try:
            due = self.store.next_due()
        except self.store.outage_errors as error:
            self.store.outage.failed(error, "looking for delayed jobs")
            return DISPATCH_FALLBACK_S
        return DISPATCH_FALLBACK_S if due is None else min(DISPATCH_FALLBACK_S, max(0.0, due - time.time()))

    def _take_jobs(self) -> None:
        """Start jobs while this process and the deployment have a free slot. Called right
        where a slot may have come free here (a submit, a job's end), so a job starts in the
        same turn of the loop; one caller at a time, the others leave it a wake-up."""
        if self._taking:
            self._wake.set()
            return
        self._taking = True
        try:
            while self.accepting and len(self._running) < self.concurrency:
                job = self.store.claim(self.holder)
                if job is None:
                    break
                self._running[job.id] = _Run(job, gevent.spawn(self._run, job), Signal())
        except self.store.outage_errors as error:
            self.store.outage.failed(error, "taking jobs")
        finally:
            self._taking = False

    def _run(self, job: Job) -> None:
        run = self._running[job.id]
        try:
            self._execute(run)
        except self.store.outage_errors as error:
            self.store.outage.failed(error, f"running job {job.id}")
        finally:
            del self._running[job.id]
            self._take_jobs()

    def _execute(self, run: _Run) -> None:
        job, cancel_requested = run.job, run.cancel_requested
        if not self.accepting:  # claimed as the server began to stop: it waits for the next start
            self.store.release(job.id, self.holder)
            return
        job.start()
        if self.store.commit(job, JobState.QUEUED, "state", self.holder) is None:
            return  # cancelled (or interrupted) after it was claimed: it never starts
        log_state(job)
        throttle = run.throttle = ProgressThrottle(lambda: self._report(run))
        ctx = JobContext(job, lambda job: throttle.report(), self.results, cancel_requested)
        deadline = self._time_limit(run)
        try:
            kind = self.registry.get(job.kind)  # a kind gone since a restart fails its jobs
            value = kind.function(ctx, **job.params)
            gevent.sleep(0)  # jobs that end together take turns with the loop (a callback each)
            if cancel_requested.is_set():
                raise Cancelled()  # the 202 to the cancel promised `cancelled`
            if ctx.result is None:
                ctx.write_json(value)
        except Cancelled:
            if run.timed_out:
                self._finish(run, JobState.FAILED, f"Timed out after {job.timeout_s:g} s.")
            else:
                self._finish(run, JobState.CANCELLED)
        except (Interrupted, gevent.GreenletExit):
            self._finish(run, JobState.INTERRUPTED, STOPPED_WHILE_RUNNING)
        except AllItemsFailed as exc:
            self._finish(run, JobState.FAILED, one_line_error(exc, with_type=False))
        except Exception as exc:
            if not run.ended:  # else the runner ended it from outside (shutdown): not the kind's fault
                log.exception("job %s (%s) failed", job.id, job.kind)
                self._finish(run, JobState.FAILED, one_line_error(exc))
        else:
            if not run.ended:
                throttle.flush()  # while the attempt is on: the last progress goes out first
                run.ended = True
                job.failed_items = ctx.failed_items
                job.succeed(ctx.result)
                if not self._committed(job, JobState.RUNNING, self.holder):
                    job.result = None  # another process ended it first: the file is nobody's
        finally:
            if deadline is not None:
                deadline.close()
            if ctx.result is not None and job.result is None:
                self.results.remove(ctx.result)

    def _time_limit(self, run: _Run) -> Any:
        """A loop timer that stops the job as a cancel does once its `timeout_s` has passed."""
        if run.job.timeout_s is None:
            return None

        def time_out() -> None:
            if not run.ended:
                run.timed_out = True
                self._ask_to_stop(run)

        timer = gevent.get_hub().loop.timer(run.job.timeout_s)
        timer.start(time_out)
        return timer

    def _report(self, run: _Run) -> None:
        """Publish the job's progress as it is now. A throttle's timer calls this from the
        event loop itself, where a store that waits on the network may not: then a greenlet does."""
        if self.store.waits_on_network and gevent.getcurrent() is gevent.get_hub():
            gevent.spawn(self._report_later, run)
        else:
            self._send_progress(run)

    def _report_later(self, run: _Run) -> None:
        try:
            self._send_progress(run)
        except self.store.outage_errors as error:
            self.store.outage.failed(error, f"publishing progress of job {run.job.id}")

    def _send_progress(self, run: _Run) -> None:
        """A progress commit that finds the job ended elsewhere stops the job here."""
        if run.ended or self.store.commit(run.job, JobState.RUNNING, "progress", self.holder):
            return
        if run.greenlet is gevent.getcurrent():
            raise Interrupted()
        self._force_stop(run.job, Interrupted)

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

    def _finish(self, run: _Run, state: JobState, error: str | None = None) -> None:
        """End this attempt of a job running here: the job ends in `state`, or waits for
        another attempt (`Job.end_attempt`). The last progress goes before the state event."""
        if run.ended:
            return  # e.g. interrupted by shutdown while its greenlet unwound
        if run.throttle is not None:
            run.throttle.flush()
        run.ended = True
        previous = run.job.state
        run.job.end_attempt(state, error)
        self._committed(run.job, previous, self.holder)

    def _end(self, job: Job, state: JobState, error: str | None = None, holder: str = "") -> bool:
        """Stop `job` in `state` and commit it; False if it had moved on meanwhile."""
        previous = job.state
        job.stop(state, error)
        return self._committed(job, previous, holder)

    def _committed(self, job: Job, expect: JobState, holder: str) -> bool:
        if self.store.commit(job, expect, "state", holder) is None:
            return False
        log_state(job)
        if job.terminal and expect is JobState.RUNNING:
            for listener in self.finish_listeners:
                listener(job)
        return True

    # Retention --------------------------------------------------------------------

    def _forget_forever(self) -> None:
        while True:
            gevent.sleep(RETENTION_TICK_S)
            try:
                self.forget_finished(self.keep_s)
            except self.store.outage_errors as error:
                self.store.outage.failed(error, "forgetting old jobs")

    def forget_finished(self, older_than_s: float) -> int:
        """Forget jobs finished at least `older_than_s` ago, with their result files: bounded
        memory and disk. Never an unfinished job. The `cleanup` kind calls it too."""
        forgotten = self.store.forget_finished(time.time() - older_than_s)
        for job in forgotten:
            if job.result is not None:
                self.results.remove(job.result)
        return len(forgotten)
