"""The local stores in process: ids, commits that check the state they expect, claims, resume
history, retention, and what the SQLite journal gives back at the next start (issue #12).

The same contract on a live server, for all three stores, is in the contract modules.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from progress.access import EVERYONE, Owner
from progress.errors import AlreadySubmitted, IdempotencyConflict, QueueFull, RateLimited
from progress.jobs import Job, JobState
from progress.memory_store import STOPPED_WHILE_RUNNING, MemoryStore
from progress.sqlite_journal import JobsDbInUse, SqliteJournal
from progress.store import IdempotencyKey, QueueLimits

LIMITS = QueueLimits(concurrency=2, queue_size=3)
HOLDER = "here"


class Heard:
    """A feed that keeps what the store told it."""

    def __init__(self) -> None:
        self.events = []
        self.cancels = []

    def event(self, event) -> None:
        self.events.append(event)

    def cancel_requested(self, job_id: str) -> None:
        self.cancels.append(job_id)

    def streams_by_owner(self) -> dict[str, int]:
        return {}

    def end_streams(self, farewell: bytes) -> None: ...

    def interrupt_running(self, error: str) -> None: ...


def _openers(kind: str, folder: Path):
    """Opens the store anew on the same folder, as a restart does; the previous one is closed."""
    stores: list[MemoryStore] = []

    def opener(limits: QueueLimits = LIMITS) -> MemoryStore:
        if stores:
            stores[-1].close()
        journal = SqliteJournal(str(folder / "jobs.sqlite3")) if kind == "sqlite" else None
        stores.append(MemoryStore(limits, journal))
        stores[-1].start(Heard(), HOLDER)
        return stores[-1]

    yield opener
    if stores:
        stores[-1].close()


@pytest.fixture(params=["memory", "sqlite"])
def open_store(request, tmp_path: Path):
    yield from _openers(request.param, tmp_path)


@pytest.fixture
def open_sqlite(tmp_path: Path):
    yield from _openers("sqlite", tmp_path)


def add(store: MemoryStore, owner: str = "anonymous") -> Job:
    job = Job("sleep", {"seconds": 1}, owner=owner)
    store.add(job)
    return job


def move(store: MemoryStore, job: Job, state: JobState, error: str | None = None) -> Job:
    """Claim-free state change, as the runner commits it."""
    job = store.get(job.id)
    previous = job.state
    if state is JobState.RUNNING:
        job.start()
    else:
        job.stop(state, error)
    assert store.commit(job, previous, "state", HOLDER) is not None
    return job


def test_ids_start_at_the_start_time_in_microseconds_and_strictly_increase(open_store):
    before = int(time.time() * 1_000_000)
    store = open_store()
    ids = [store.add(Job("sleep", {})).id for _ in range(3)]
    assert before <= ids[0] and ids == sorted(set(ids))


def test_a_commit_that_expects_another_state_changes_nothing(open_store):
    store = open_store()
    job = add(store)
    cancelled = store.get(job.id)
    cancelled.stop(JobState.CANCELLED)
    assert store.commit(cancelled, JobState.QUEUED, "state", "") is not None
    late_start = store.get(job.id)
    late_start.state = JobState.QUEUED  # as a runner that claimed it before the cancel still has it
    late_start.start()
    assert store.commit(late_start, JobState.QUEUED, "state", HOLDER) is None
    assert store.get(job.id).state is JobState.CANCELLED


def test_reads_are_copies_so_a_change_counts_only_once_committed(open_store):
    store = open_store()
    job = add(store)
    store.get(job.id).start()
    assert store.get(job.id).state is JobState.QUEUED


def test_claims_take_the_oldest_queued_job_within_the_deployment_slots(open_store):
    store = open_store()
    jobs = [add(store) for _ in range(3)]
    first, second = store.claim(HOLDER), store.claim(HOLDER)
    assert [first.id, second.id] == [jobs[0].id, jobs[1].id]
    assert store.claim(HOLDER) is None  # both slots taken by claims
    store.release(first.id, HOLDER)
    assert store.claim(HOLDER).id == jobs[0].id  # back in its place, ahead of the third


def test_a_full_queue_and_an_owner_limit_refuse_and_change_nothing(open_store):
    store = open_store(QueueLimits(concurrency=1, queue_size=1, queued_per_owner=1))
    add(store, "ann")
    with pytest.raises(RateLimited):
        add(store, "ann")
    add(store, "bob")
    with pytest.raises(QueueFull):
        add(store, "cy")
    assert store.counts()[JobState.QUEUED] == 2


def test_a_job_view_holds_its_state_events_and_newest_progress(open_store):
    store = open_store()
    job = add(store)
    running = move(store, job, JobState.RUNNING)
    running.update_progress(1, 10, None)
    store.commit(running, JobState.RUNNING, "progress", HOLDER)
    running.update_progress(2, 10, None)
    newest = store.commit(running, JobState.RUNNING, "progress", HOLDER)
    view = store.view_job(job.id)
    queued_id, started_id = (event.id for event in view.states)
    assert view.missed(queued_id) == [view.states[1], newest]
    assert view.missed(newest.id) == []
    assert view.missed(None) is None and view.missed(view.last_id + 1) is None
    assert view.terminal_id is None
    ended = move(store, job, JobState.FAILED, "boom")
    assert store.view_job(job.id).terminal_id == store.view_job(job.id).states[-1].id
    assert ended.error == "boom"


def test_all_jobs_resume_with_state_events_and_snapshots_when_too_old(open_store):
    store = open_store()
    first = add(store)
    since = store.view_all(None, EVERYONE).last_id
    second = add(store, "bob")
    view = store.view_all(since, EVERYONE)
    assert [event.job_id for event in view.missed] == [second.id]
    assert store.view_all(since, Owner("ann")).missed == []  # bob's event is not ann's
    assert store.view_all(since - 10, EVERYONE).missed is None  # from before anything held
    snapshot = store.view_all(None, EVERYONE).jobs
    assert [job.id for job in snapshot] == [second.id, first.id]


def test_forgetting_finished_jobs_keeps_unfinished_ones_and_makes_older_resumes_snapshot(open_store):
    store = open_store()
    done, waiting = add(store), add(store)
    move(store, done, JobState.CANCELLED)
    since = store.view_all(None, EVERYONE).last_id - 5
    forgotten = store.forget_finished(time.time() + 1)
    assert [job.id for job in forgotten] == [done.id]
    assert store.get(done.id) is None and store.get(waiting.id) is not None
    assert store.view_all(since, EVERYONE).missed is None


def test_the_journal_gives_everything_back_at_the_next_start(open_sqlite):
    store = open_sqlite()
    finished, running, queued = add(store), add(store), add(store)
    move(store, finished, JobState.RUNNING)
    move(store, finished, JobState.FAILED, "disk full")
    move(store, running, JobState.RUNNING)
    last_id = store.view_all(None, EVERYONE).last_id
    again = open_sqlite()
    assert again.get(finished.id).error == "disk full"
    interrupted = again.get(running.id)
    assert interrupted.state is JobState.INTERRUPTED and interrupted.error == STOPPED_WHILE_RUNNING
    assert again.claim(HOLDER).id == queued.id
    view = again.view_all(last_id, EVERYONE)
    assert [event.job_id for event in view.missed] == [running.id]  # its interruption, nothing older
    assert view.missed[0].id > last_id


def test_a_second_process_may_not_open_the_same_database(tmp_path: Path):
    path = str(tmp_path / "jobs.sqlite3")
    first = SqliteJournal(path)
    first.load()
    with pytest.raises(JobsDbInUse, match="in use by another server"):
        SqliteJournal(path, lock_wait_s=0.1)
    first.close(0)


def test_the_database_is_in_wal_mode(tmp_path: Path):
    path = str(tmp_path / "jobs.sqlite3")
    SqliteJournal(path).close(0)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_restart_keeps_resumes_from_beyond_the_state_window_taking_a_snapshot(tmp_path: Path):
    path = str(tmp_path / "jobs.sqlite3")
    store = MemoryStore(LIMITS, SqliteJournal(path), state_history=2)
    first, second, third = (store.add(Job("sleep", {})) for _ in range(3))
    store.close()
    again = MemoryStore(LIMITS, SqliteJournal(path), state_history=2)
    assert again.view_all(first.id - 1, EVERYONE).missed is None  # the window of 2 lost the first
    assert [event.id for event in again.view_all(first.id, EVERYONE).missed] == [second.id, third.id]
    again.close()


def test_a_delayed_job_is_claimed_only_once_due_and_next_due_says_when(open_store):
    store = open_store()
    later = Job("sleep", {}, run_at=time.time() + 0.2)
    store.add(later)
    now = add(store)
    assert store.next_due() == later.run_at
    assert store.claim(HOLDER).id == now.id
    assert store.claim(HOLDER) is None
    time.sleep(0.25)
    assert store.claim(HOLDER).id == later.id and store.next_due() is None


def test_an_idempotency_key_answers_with_its_first_job_and_refuses_another_body(open_store, request):
    store = open_store()
    key = IdempotencyKey("ann", "order-1", "digest-a")
    first = Job("sleep", {}, owner="ann")
    store.add(first, key)
    with pytest.raises(AlreadySubmitted) as again:
        store.add(Job("sleep", {}, owner="ann"), key)
    assert again.value.job.id == first.id
    with pytest.raises(IdempotencyConflict):
        store.add(Job("sleep", {}, owner="ann"), IdempotencyKey("ann", "order-1", "digest-b"))
    store.add(Job("sleep", {}, owner="bob"), IdempotencyKey("bob", "order-1", "digest-a"))  # per owner
    assert store.counts()[JobState.QUEUED] == 2
    if request.node.callspec.params["open_store"] == "sqlite":
        with pytest.raises(AlreadySubmitted):  # the key outlives a restart
            open_store().add(Job("sleep", {}, owner="ann"), key)


def test_expired_idempotency_keys_are_forgotten_oldest_first(open_store, monkeypatch):
    store = open_store()
    for key in ("a", "b"):
        store.add(Job("sleep", {}, owner="ann"), IdempotencyKey("ann", key, "digest"))
    later = time.time() + 24 * 3600 + 1
    monkeypatch.setattr(time, "time", lambda: later)
    store.add(Job("sleep", {}, owner="ann"), IdempotencyKey("ann", "a", "digest"))  # expired: a new job
    store.forget_finished(0)  # the retention tick
    assert list(store._keys) == [("ann", "a")]  # b went; a, used again, lives a day more
