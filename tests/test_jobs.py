"""The job model: states, progress rules and the contract's shape (issue #3)."""

import re
import time

import pytest

from progress.errors import IllegalTransition
from progress.jobs import Job, JobState, ResultFile, format_timestamp, percent_of


@pytest.mark.parametrize(("done", "total", "percent"), [
    (0, None, None), (5, None, None), (0, 20, 0.0), (1, 3, 33.3), (2, 3, 66.7),
    (999, 1000, 99.9), (9999, 10000, 99.9), (10, 10, 100.0), (0, 0, 100.0),
])
def test_percent_is_null_while_unknown_below_100_until_done_and_exactly_100_at_the_end(done, total, percent):
    assert percent_of(done, total) == percent


def test_a_new_job_is_queued_with_a_url_safe_128_bit_id():
    job = Job("sleep", {"seconds": 1}, total=5)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", job.id)
    body = job.to_dict()
    assert list(body) == ["id", "kind", "params", "state", "progress", "created_at",
                          "started_at", "finished_at", "error", "result", "attempt", "max_attempts",
                          "retry_errors", "run_at", "timeout_s", "failed_items"]
    assert (body["attempt"], body["max_attempts"], body["run_at"], body["timeout_s"]) == (1, 1, None, None)
    assert body["progress"] == {"done": 0, "total": 5, "percent": 0.0, "message": None}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", body["created_at"])
    assert body["state"] == "queued" and body["started_at"] is None


def test_timestamps_are_rfc3339_utc_with_milliseconds():
    assert format_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    assert format_timestamp(1795655123.9256) == "2026-11-26T01:05:23.925Z"


def test_done_never_decreases_and_never_passes_a_known_total():
    job = Job("k", {})
    job.start()
    assert job.update_progress(5, 10, None)
    assert not job.update_progress(3, 10, None)  # a smaller done keeps 5: nothing changed
    assert job.progress.done == 5
    job.update_progress(50, 10, "over")
    assert job.progress.done == 10
    with pytest.raises(ValueError, match="below"):
        job.update_progress(10, 4, None)


def test_a_terminal_job_never_changes_again():
    job = Job("k", {})
    job.start()
    job.stop(JobState.FAILED, "RuntimeError: boom")
    for change in (job.start, lambda: job.stop(JobState.CANCELLED),
                   lambda: job.update_progress(1, None, None),
                   lambda: job.succeed(ResultFile("/x", "text/plain", "txt", 1))):
        with pytest.raises(IllegalTransition):
            change()
    assert job.state is JobState.FAILED and job.error == "RuntimeError: boom"


def test_a_queued_job_may_end_without_starting_but_may_not_succeed():
    job = Job("k", {})
    with pytest.raises(IllegalTransition):
        job.succeed(ResultFile("/x", "text/plain", "txt", 1))
    job.stop(JobState.CANCELLED)
    assert job.started_at is None and job.finished_at is not None


def test_result_is_set_exactly_when_succeeded():
    job = Job("report", {})
    job.start()
    job.succeed(ResultFile("/tmp/r", "text/csv", "csv", 12))
    assert job.to_dict()["result"] == {"url": f"/api/jobs/{job.id}/result", "content_type": "text/csv",
                                       "filename": f"report-{job.id}.csv", "size": 12}


def test_a_job_goes_back_to_queued_only_while_its_kind_allows_another_attempt():
    """queued → running → queued → running → terminal, for kinds with retries only."""
    once = Job("k", {})
    once.start()
    with pytest.raises(IllegalTransition):
        once.retry("boom")
    once.end_attempt(JobState.FAILED, "boom")
    assert once.state is JobState.FAILED

    job = Job("k", {}, max_attempts=3, retry_backoff_s=10)
    states = [job.state]
    for error in ("first", "second"):
        job.start()
        states.append(job.state)
        job.end_attempt(JobState.FAILED, error)
        states.append(job.state)
    job.start()
    job.end_attempt(JobState.FAILED, "third")
    states += [JobState.RUNNING, job.state]
    assert [state.value for state in states] == ["queued", "running", "queued", "running", "queued",
                                                 "running", "failed"]
    assert (job.attempt, job.retry_errors, job.error) == (3, ("first", "second"), "third")


def test_another_attempt_waits_for_its_backoff_doubling_up_to_an_hour():
    job = Job("k", {}, max_attempts=20, retry_backoff_s=2)
    delays = []
    for _ in range(14):
        job.start()
        before = time.time()
        job.retry("boom")
        delays.append(round(job.run_at - before))
        assert job.state is JobState.QUEUED and job.started_at is None and not job.due(before)
    assert delays[:4] == [2, 4, 8, 16] and delays[-1] == 3600


def test_a_cancel_is_never_retried():
    job = Job("k", {}, max_attempts=3)
    job.start()
    job.end_attempt(JobState.CANCELLED)
    assert job.state is JobState.CANCELLED and job.attempt == 1


def test_a_record_keeps_attempts_and_timing_and_reads_an_older_record_without_them():
    job = Job("k", {}, max_attempts=3, retry_backoff_s=1.5, run_at=123.0, timeout_s=9)
    job.start()
    job.retry("boom")
    again = Job.from_record(job.to_record())
    assert again.to_dict() == job.to_dict() and again.retry_backoff_s == 1.5
    old = Job.from_record('{"id":"x","owner":"o","kind":"k","params":{},"state":"queued","done":0,'
                          '"total":null,"message":null,"created":1.0,"started":null,"finished":null,'
                          '"error":null,"result":null}')
    assert (old.attempt, old.max_attempts, old.run_at, old.timeout_s) == (1, 1, None, None)
