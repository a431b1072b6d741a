"""`SqliteJournal`: the default store's disk, one SQLite file (`JOBS_DB`) in WAL mode.

Each commit is one short transaction on the event loop: with WAL and `synchronous=NORMAL`
a commit appends to the log without an fsync, so it takes tens of microseconds and
survives the process being killed (not a power cut: docs/api.md says so). The file is
locked for this process alone (`locking_mode=EXCLUSIVE`): one data folder per deployment.
"""

from __future__ import annotations

import os
import sqlite3

from .events import Event
from .jobs import Job
from .memory_store import History, Loaded

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
"""

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
        owners = {job.id: job.owner for job in loaded.jobs}
        for event_id, job_id, terminal, frame in self._db.execute(
                "SELECT id, job_id, terminal, frame FROM events ORDER BY id"):
            event = Event(event_id, "state", job_id, frame, bool(terminal), owners.get(job_id, ""))
            loaded.histories.setdefault(job_id, History()).states.append(event)
            loaded.last_id = max(loaded.last_id, event_id)
        return loaded

    def write(self, job: Job, event: Event, new: bool) -> None:
        db = self._db
        if event.type == "progress":
            db.execute("UPDATE jobs SET record = ?, progress_id = ?, progress_frame = ? WHERE id = ?",
                       (job.to_record(), event.id, event.frame, job.id))
            return
        db.execute("BEGIN")
        try:
            if new:
                if not self._start_written:
                    db.execute("INSERT INTO meta VALUES ('start', ?)", (event.id,))
                    self._start_written = True
                db.execute("INSERT INTO jobs (seq, id, record) VALUES (?, ?, ?)",
                           (job.sequence, job.id, job.to_record()))
            else:
                db.execute("UPDATE jobs SET record = ? WHERE id = ?", (job.to_record(), job.id))
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?)", (event.id, job.id, event.terminal, event.frame))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def forget(self, job_ids: list[str], floor: int, last_id: int) -> None:
        """Remembers the newest id too: the next start goes on above it though its events are gone."""
        db = self._db
        db.execute("BEGIN")
        db.executemany("DELETE FROM jobs WHERE id = ?", ((job_id,) for job_id in job_ids))
        db.executemany("DELETE FROM events WHERE job_id = ?", ((job_id,) for job_id in job_ids))
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", (("floor", floor), ("last_id", last_id)))
        db.execute("COMMIT")

    def close(self, last_id: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('last_id', ?)", (last_id,))
        self._db.close()
