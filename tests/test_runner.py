"""The runner in process: limits, failure, cancel, retention and shutdown (issue #3)."""

import logging
import os

import gevent
import pytest

from progress import (Cancelled, Hub, JobRunner, JobState, KindRegistry, NotCancellable,
                      QueueFull, ResultStore, ShuttingDown)
from progress.errors import JobNotFound
from progress.jobs import Job
from progress.memory_store import MemoryStore
from progress.sqlite_journal import SqliteJournal
from progress.store import QueueLimits


@pytest.fixture
def registry() -> KindRegistry:
    registry = KindRegistry()

    @registry.job_kind("wait", params={"seconds": {"type": "number", "default": 0.05}})
    def wait(ctx, seconds):
        """Sleeps, then writes a text result."""
        ctx.report(0, total=1)
        ctx.sleep(seconds)
        ctx.report(1)
        ctx.write_text("done")

    @registry.job_kind("explode")
    def explode(ctx):
        raise ValueError("bad row 7\n  at line 2")

    @registry.job_kind("answer")
    def answer(ctx):
        return {"answer": 42}

    @registry.job_kind("swallow", params={"seconds": {"type": "number", "default": 30}})
    def swallow(ctx, seconds):
        """Catches everything it can, and still cannot swallow a cancel."""
        try:
            ctx.sleep(seconds)
        except Exception:
            pass

    @registry.job_kind("obstinate")
    def obstinate(ctx):
        """Never looks at cancellation, and swallows even BaseException three times."""
        for _ in range(3):
            try:
                gevent.sleep(30)
            except BaseException:
                pass
        gevent.sleep(30)

    @registry.job_kind("offload")
    def offload(ctx):
        return ctx.run_blocking(sum, range(10))

    return registry


def make_runner(registry, concurrency: int = 8, queue_size: int = 1000, **knobs) -> JobRunner:
    store = MemoryStore(QueueLimits(concurrency, queue_size))
    runner = JobRunner(registry, Hub(), ResultStore(), store, concurrency=concurrency, **knobs)
    runner.start()
    return runner


def wait_until(predicate, timeout=5.0):
    with gevent.Timeout(timeout):
        while not predicate():
            gevent.sleep(0.005)


def now(runner: JobRunner, job):
    """The job as the store keeps it now (what `submit` returned is the job as it was)."""
    return runner.get(job.id)


def ended(runner: JobRunner, *jobs):
    """The jobs once all reached a terminal state."""
    wait_until(lambda: all(now(runner, job).terminal for job in jobs))
    return [now(runner, job) for job in jobs]


def test_a_job_runs_and_succeeds_with_its_result(registry):
    runner = make_runner(registry)
    job = runner.submit("wait", {})
    assert job.state is JobState.QUEUED
    job, = ended(runner, job)
    assert job.state is JobState.SUCCEEDED
    with open(job.result.path) as result:
        assert result.read() == "done"


def test_a_return_value_becomes_the_json_result_and_run_blocking_returns_the_value(registry):
    runner = make_runner(registry)
    jobs = ended(runner, runner.submit("answer", {}), runner.submit("offload", {}))
    with open(jobs[0].result.path) as first, open(jobs[1].result.path) as second:
        assert (first.read(), second.read()) == ('{"answer": 42}', "45")


def test_a_job_that_raises_fails_with_one_line_and_the_traceback_goes_to_the_log(registry, caplog):
    runner = make_runner(registry)
    with caplog.at_level(logging.ERROR, logger="progress.runner"):
        job, = ended(runner, runner.submit("explode", {}))
    assert job.state is JobState.FAILED
    assert job.error == "ValueError: bad row 7"
    assert job.result is None
    assert "Traceback" in caplog.text and "at line 2" in caplog.text


def test_at_most_concurrency_jobs_run_and_the_rest_wait_oldest_first(registry):
    runner = make_runner(registry, concurrency=2)
    jobs = [runner.submit("wait", {"seconds": 0.1}) for _ in range(5)]
    gevent.sleep(0.02)
    assert [now(runner, job).state for job in jobs] == [JobState.RUNNING] * 2 + [JobState.QUEUED] * 3
    jobs = ended(runner, *jobs)
    starts = [job.started_at for job in jobs]
    assert starts == sorted(starts)


def test_a_full_queue_refuses_a_new_job_and_changes_nothing(registry):
    runner = make_runner(registry, concurrency=1, queue_size=2)
    for _ in range(3):
        runner.submit("wait", {"seconds": 5})
    gevent.sleep(0.01)
    with pytest.raises(QueueFull) as caught:
        runner.submit("wait", {})
    assert caught.value.retry_after > 0
    assert sum(runner.store.counts().values()) == 3


def test_a_queued_job_is_cancelled_at_once_and_never_starts(registry):
    runner = make_runner(registry, concurrency=1)
    running = runner.submit("wait", {"seconds": 0.2})
    queued = runner.submit("wait", {})
    assert runner.cancel(queued.id).state is JobState.CANCELLED
    ended(runner, running)
    gevent.sleep(0.05)
    assert now(runner, queued).state is JobState.CANCELLED and now(runner, queued).started_at is None
    with pytest.raises(NotCancellable):
        runner.cancel(queued.id)


def test_a_running_job_is_cancelled_even_if_it_catches_exceptions(registry):
    runner = make_runner(registry)
    job = runner.submit("swallow", {})
    wait_until(lambda: now(runner, job).state is JobState.RUNNING)
    runner.cancel(job.id)
    runner.cancel(job.id)  # again while it stops: fine
    wait_until(lambda: now(runner, job).terminal, timeout=2)
    job = now(runner, job)
    assert job.state is JobState.CANCELLED and job.error is None


def test_a_running_job_that_catches_base_exception_is_stopped_all_the_same(registry):
    runner = make_runner(registry)
    job = runner.submit("obstinate", {})
    wait_until(lambda: now(runner, job).state is JobState.RUNNING)
    runner.cancel(job.id)
    wait_until(lambda: now(runner, job).terminal, timeout=5)
    assert now(runner, job).state is JobState.CANCELLED


def test_cancelled_is_a_base_exception_so_except_exception_cannot_eat_it():
    assert not issubclass(Cancelled, Exception)


def test_finished_jobs_and_their_files_are_forgotten_after_the_retention_time(registry):
    runner = make_runner(registry, keep_s=0.1)
    job, = ended(runner, runner.submit("wait", {"seconds": 0}))
    path = job.result.path
    assert os.path.exists(path)
    wait_until(lambda: runner.store.get(job.id) is None)
    with pytest.raises(JobNotFound):
        runner.get(job.id)
    assert not os.path.exists(path)
    assert runner.store.view_job(job.id).missed(0) is None


def test_shutdown_interrupts_what_is_left_and_ends_every_stream(registry):
    runner = make_runner(registry, concurrency=1)
    running = runner.submit("wait", {"seconds": 30})
    queued = runner.submit("wait", {})
    sub = runner.hub.subscribe()
    wait_until(lambda: now(runner, running).state is JobState.RUNNING)
    runner.shutdown(grace=0.05)
    running, queued = now(runner, running), now(runner, queued)
    assert running.state is queued.state is JobState.INTERRUPTED
    assert queued.started_at is None
    assert running.error == "The server stopped before the job finished."
    block = sub.next_block(1)
    assert block.count(b"interrupted") == 2 and block.endswith(b": server stopping\n\n")
    assert sub.finished
    with pytest.raises(ShuttingDown):
        runner.submit("wait", {})


def test_shutdown_lets_a_job_that_ends_within_the_grace_succeed(registry):
    runner = make_runner(registry)
    job = runner.submit("wait", {"seconds": 0.05})
    wait_until(lambda: now(runner, job).state is JobState.RUNNING)
    runner.shutdown(grace=5)
    assert now(runner, job).state is JobState.SUCCEEDED


def test_shutdown_leaves_queued_jobs_queued_when_the_store_outlives_the_process(registry, tmp_path):
    path = str(tmp_path / "jobs.sqlite3")
    store = MemoryStore(QueueLimits(1, 10), SqliteJournal(path))
    runner = JobRunner(registry, Hub(), ResultStore(), store, concurrency=1)
    runner.start()
    running, queued = runner.submit("wait", {"seconds": 30}), runner.submit("wait", {})
    wait_until(lambda: now(runner, running).state is JobState.RUNNING)
    runner.shutdown(grace=0.05)
    again = MemoryStore(QueueLimits(1, 10), SqliteJournal(path))
    assert again.get(running.id).state is JobState.INTERRUPTED
    assert again.get(queued.id).state is JobState.QUEUED
    again.close()


def test_a_queued_job_whose_kind_is_gone_after_a_restart_fails_and_frees_its_slot(registry):
    store = MemoryStore(QueueLimits(1, 10))
    store.add(Job("vanished", {}))
    runner = JobRunner(registry, Hub(), ResultStore(), store, concurrency=1)
    runner.start()
    gone = runner.list(None, 1)[0]
    after = runner.submit("answer", {})
    gone, after = ended(runner, gone, after)
    assert gone.state is JobState.FAILED and gone.error.startswith("UnknownKind: There is no job kind")
    assert after.state is JobState.SUCCEEDED
