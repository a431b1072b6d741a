"""`SqliteJournal`: the default store's disk, one SQLite file (`JOBS_DB`) in WAL mode.

Writes are group-committed: every change made in one turn of the event loop goes into one
transaction at the end of that turn (a job's progress coalesced to its newest), so 200
jobs changing state together cost one append to the log, not 200. A `202` waits for its
transaction (`wait_durable`); with WAL and `synchronous=NORMAL` a commit survives the
process being killed, not a power cut (docs/api.md says so). The file is locked for this
process alone (`locking_mode=EXCLUSIVE`): one data folder per deployment.
"""

from __future__ import annotations

import itertools
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from gevent import get_hub
from gevent.event import Event as Signal
from greenlet import getcurrent

from .events import Event
from .jobs import Job
from .memory_store import History, Loaded
from .store import Submitted

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL,
    progress_id INTEGER,
    progress_frame BLOB
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    terminal INTEGER NOT NULL,
    frame BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_of_job ON events (job_id);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job TEXT NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (owner, key)
);
CREATE TABLE IF NOT EXISTS schedules (name TEXT PRIMARY KEY, last_due REAL NOT NULL);
"""

log = logging.getLogger("progress.sqlite_journal")

WRITES_PER_COMMIT = 100
"""Writes in one transaction at most: about 2 ms of the loop's time."""

LOCK_WAIT_S = 6.0
"""How long a new process waits for the one before it to let go of the file: a restart's old
worker exits within 5 s of SIGTERM."""


class JobsDbInUse(RuntimeError):
    """Another process holds the database: two servers may not share one."""


class SqliteJournal:
    """Writes each commit of a `MemoryStore` to disk, and gives it back at the next start."""

    def __init__(self, path: str, lock_wait_s: float = LOCK_WAIT_S) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, timeout=lock_wait_s,
                                   check_same_thread=False)
        try:
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            self._db.execute("BEGIN EXCLUSIVE")  # takes the lock now, and keeps it
            self._db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            self._db.close()
            if "locked" in str(error):
                raise JobsDbInUse(f"{path} is in use by another server; each needs its own") from None
            raise
        self._start_written = False
        self._pending: dict[tuple[str, object], tuple[Callable[..., None], tuple[Any, ...]]] = {}
        """Writes for the next group commit, in commit order: (write, its arguments)."""
        self._flush_scheduled = False
        self._batch = Batch()
        self._failure: Exception | None = None

    def load(self) -> Loaded:
        meta = dict(self._db.execute("SELECT name, value FROM meta"))
        self._start_written = "start" in meta
        loaded = Loaded(held_from=meta.get("start"), floor=meta.get("floor", 0),
                        last_id=meta.get("last_id", 0))
        for seq, record, progress_id, progress_frame in self._db.execute(
                "SELECT seq, record, progress_id, progress_frame FROM jobs ORDER BY seq"):
            job = Job.from_record(record, seq)
            loaded.jobs.append(job)
            history = loaded.histories[job.id] = History()
            if progress_id is not None:
                history.progress = Event(progress_id, "progress", job.id, progress_frame, False, job.owner)
                loaded.last_id = max(loaded.last_id, progress_id)
        now = time.time()
        for owner, key, fingerprint, record, expires_at in self._db.execute(
                "SELECT owner, key, fingerprint, job, expires_at FROM idempotency_keys WHERE expires_at > ? "
                "ORDER BY expires_at", (now,)):
            loaded.keys[(owner, key)] = Submitted(fingerprint, Job.from_record(record), expires_at)
        loaded.schedules = dict(self._db.execute("SELECT name, last_due FROM schedules"))
        owners = {job.id: job.owner for job in loaded.jobs}
        for event_id, job_id, terminal, frame in self._db.execute(
                "SELECT id, job_id, terminal, frame FROM events ORDER BY id"):
            event = Event(event_id, "state", job_id, frame, bool(terminal), owners.get(job_id, ""))
            loaded.histories.setdefault(job_id, History()).states.append(event)
            loaded.last_id = max(loaded.last_id, event_id)
        return loaded

    def write(self, job: Job, event: Event, new: bool) -> None:
        """Queue the job as it is now (a copy no one changes) with its event, for the next group
        commit; a job's queued progress is replaced by its newest."""
        key = ("progress", job.id) if event.type == "progress" else ("state", event.id)
        self._pending.pop(key, None)  # re-inserted last: writes stay in commit order
        self._pending[key] = (self._write_change, (job, event, new))
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            get_hub().loop.run_callback(self._flush)

    def write_key(self, owner: str, key: str, submitted: Submitted) -> None:
        """Committed with the job it created, in the same transaction."""
        self._pending[("key", (owner, key))] = (self._write_key, (owner, key, submitted))

    def write_schedule(self, name: str, due: float) -> None:
        self._pending[("schedule", name)] = (self._write_schedule, (name, due))
        self._schedule_flush()

    def wait_durable(self) -> None:
        """Return once everything written so far is committed to disk (a `202` waits for it)."""
        if getcurrent() is get_hub():
            self._flush_all()
        elif self._pending:
            self._batch.wait()

    def _flush_all(self) -> None:
        while self._pending:
            self._flush()

    def _flush(self) -> None:
        """One transaction for the writes queued since the last, oldest first: one append to
        the log however many jobs changed in this turn of the loop. Past `WRITES_PER_COMMIT`
        the rest goes in the next turn, so the loop is never held long; whoever waits, waits
        for all of it."""
        self._flush_scheduled = False
        if not self._pending:  # flushed already (a 202's wait, a close) before this callback ran
            self._batch.done()
            self._batch = Batch()
            return
        keys = list(itertools.islice(self._pending, WRITES_PER_COMMIT))
        writes = [self._pending.pop(key) for key in keys]
        if self._pending:
            self._flush_scheduled = True
            get_hub().loop.run_callback(self._flush)
        else:
            batch, self._batch = self._batch, Batch()
        db = self._db
        try:
            db.execute("BEGIN")
            for write, args in writes:
                write(*args)
            db.execute("COMMIT")
        except Exception as error:  # a full disk, say: every waiter hears of it
            if db.in_transaction:
                db.execute("ROLLBACK")
            log.exception("could not write %d changes to the jobs database", len(writes))
            self._failure = error
        if not self._flush_scheduled:
            failure, self._failure = self._failure, None
            batch.done(failure)

    def _write_key(self, owner: str, key: str, submitted: Submitted) -> None:
        self._db.execute("INSERT OR REPLACE INTO idempotency_keys VALUES (?, ?, ?, ?, ?)",
                         (owner, key, submitted.fingerprint, submitted.job.to_record(), submitted.expires_at))

    def _write_schedule(self, name: str, due: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO schedules VALUES (?, ?)", (name, due))

    def _write_change(self, job: Job, event: Event, new: bool) -> None:
        db = self._db
        record = job.to_record()
        if event.type == "progress":
            db.execute("UPDATE jobs SET record = ?, progress_id = ?, progress_frame = ? WHERE id = ?",
                       (record, event.id, event.frame, job.id))
            return
        if new:
            if not self._start_written:
                db.execute("INSERT INTO meta VALUES ('start', ?)", (event.id,))
                self._start_written = True
            db.execute("INSERT INTO jobs (seq, id, record) VALUES (?, ?, ?)", (job.sequence, job.id, record))
        else:
            db.execute("UPDATE jobs SET record = ? WHERE id = ?", (record, job.id))
        db.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (event.id, job.id, event.terminal, event.frame))

    def forget(self, job_ids: list[str], floor: int, last_id: int, now: float) -> None:
        """Remembers the newest id too: the next start goes on above it though its events are gone."""
        self._flush_all()
        db = self._db
        db.execute("BEGIN")
        db.executemany("DELETE FROM jobs WHERE id = ?", ((job_id,) for job_id in job_ids))
        db.executemany("DELETE FROM events WHERE job_id = ?", ((job_id,) for job_id in job_ids))
        db.execute("DELETE FROM idempotency_keys WHERE expires_at <= ?", (now,))
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", (("floor", floor), ("last_id", last_id)))
        db.execute("COMMIT")

    def close(self, last_id: int) -> None:
        self._flush_all()
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('last_id', ?)", (last_id,))
        self._db.close()


class Batch:
    """The writes of one group commit, and the greenlets waiting for them to be on disk."""

    def __init__(self) -> None:
        self._committed = Signal()
        self._error: Exception | None = None

    def done(self, error: Exception | None = None) -> None:
        self._error = error
        self._committed.set()

    def wait(self) -> None:
        self._committed.wait()
        if self._error is not None:
            raise self._error
