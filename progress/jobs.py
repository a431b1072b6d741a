"""The job model: states, progress, legal transitions and the contract's JSON shape. No I/O."""

from __future__ import annotations

import base64
import functools
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from .errors import IllegalTransition


class JobState(str, Enum):
    """A job's state; the values are the contract's wire strings."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def terminal(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


_NEXT_STATES = {
    JobState.QUEUED: {JobState.RUNNING, JobState.CANCELLED, JobState.INTERRUPTED},
    JobState.RUNNING: {JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.INTERRUPTED,
                       JobState.QUEUED},  # back to queued only for another attempt (`Job.retry`)
}

RETRY_BACKOFF_CAP_S = 3600.0
"""No retry waits longer than an hour."""


def retry_delay(backoff_s: float, attempt: int) -> float:
    """How long attempt `attempt` (2 or more) waits: `backoff_s` doubling per attempt, capped."""
    return min(backoff_s * 2 ** (attempt - 2), RETRY_BACKOFF_CAP_S)


def new_job_id() -> str:
    """22 characters of URL-safe base64: 128 random bits, so ids can't be guessed."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=4096)
def format_timestamp(epoch: float | None) -> str | None:
    """RFC 3339 UTC with milliseconds and `Z`, as the contract writes times.

    Cached: a job's times rarely change while its progress is published up to 20 times a
    second, and formatting took 6 % of the worker's time with 200 jobs running (issue #6).
    """
    if epoch is None:
        return None
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def percent_of(done: int, total: int | None) -> float | None:
    """None while the total is unknown; never 100.0 before the end, exactly 100.0 at it."""
    if total is None:
        return None
    if done >= total:
        return 100.0
    return min(round(100 * done / total, 1), 99.9)


@dataclass(slots=True)
class Progress:
    done: int = 0
    total: int | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "total": self.total,
            "percent": percent_of(self.done, self.total),
            "message": self.message,
        }


@dataclass(slots=True, frozen=True)
class ResultFile:
    """Where a succeeded job's result lies and how it is served."""

    path: str
    content_type: str
    extension: str
    size: int
    url_prefix: str = ""
    """Where the web adapter serves the API (`ProgressExtension(url_prefix=...)`), so the
    result's URL leads to the route that serves it (issue 16)."""

    def to_dict(self, job: Job) -> dict[str, Any]:
        return {
            "url": f"{self.url_prefix}/api/jobs/{job.id}/result",
            "content_type": self.content_type,
            "filename": job.result_filename(),
            "size": self.size,
        }


class Job:
    """One run of a kind. Moves forward only; once terminal it never changes again."""

    __slots__ = ("id", "sequence", "owner", "kind", "params", "state", "progress", "created_at",
                 "started_at", "finished_at", "error", "result", "attempt", "max_attempts",
                 "retry_backoff_s", "retry_errors", "run_at", "timeout_s", "failed_items")

    def __init__(self, kind: str, params: dict[str, Any], total: int | None = None,
                 owner: str = "anonymous", *, max_attempts: int = 1, retry_backoff_s: float = 0.0,
                 run_at: float | None = None, timeout_s: float | None = None) -> None:
        self.id = new_job_id()
        self.sequence = 0  # creation order, given by the store that keeps the job
        self.owner = owner  # not in the job object: an owner sees only their own jobs anyway
        self.kind = kind
        self.params = params
        self.state = JobState.QUEUED
        self.progress = Progress(total=total)
        self.created_at = time.time()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.error: str | None = None
        self.result: ResultFile | None = None
        self.attempt = 1
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.retry_errors: tuple[str, ...] = ()
        """The error of each attempt that was retried, oldest first."""
        self.run_at = run_at
        """When a queued job may start (seconds since the epoch); None: at once."""
        self.timeout_s = timeout_s
        self.failed_items: tuple[int, int] | None = None
        """A succeeded batch's (failed, of) when some of its items failed."""

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    def due(self, now: float) -> bool:
        return self.run_at is None or self.run_at <= now

    def end_attempt(self, state: JobState, error: str | None = None) -> None:
        """A running job failed or was interrupted: another attempt if it has one left (back to
        `queued`, after its backoff), else the end in `state`. A cancel is never retried."""
        if state in (JobState.FAILED, JobState.INTERRUPTED) and self.attempt < self.max_attempts:
            self.retry(error or state.value)
        else:
            self.stop(state, error)

    def retry(self, error: str) -> None:
        """Back to `queued` for the next attempt, starting after the backoff."""
        if self.attempt >= self.max_attempts:
            raise IllegalTransition(f"job {self.id} has no attempt left")
        self._move_to(JobState.QUEUED)
        self.retry_errors = (*self.retry_errors, error)
        self.attempt += 1
        self.run_at = time.time() + retry_delay(self.retry_backoff_s, self.attempt)
        self.started_at = None

    def start(self) -> None:
        self._move_to(JobState.RUNNING)
        self.started_at = time.time()

    def succeed(self, result: ResultFile) -> None:
        self._move_to(JobState.SUCCEEDED)
        self.result = result
        self.finished_at = time.time()

    def stop(self, state: JobState, error: str | None = None) -> None:
        """End the job as failed, cancelled or interrupted; progress stays where it was."""
        if state is JobState.SUCCEEDED:
            raise IllegalTransition("a job succeeds only with its result")
        self._move_to(state)
        self.error = error
        self.finished_at = time.time()

    def update_progress(self, done: int, total: int | None, message: str | None) -> bool:
        """Apply a report; `done` never decreases and never passes a known total. True if it changed."""
        if self.terminal:
            raise IllegalTransition(f"job {self.id} is {self.state.value}; its progress is final")
        if total is not None and total < self.progress.done:
            raise ValueError(f"total {total} is below the {self.progress.done} already done")
        done = max(done, self.progress.done)
        if total is not None:
            done = min(done, total)
        new = Progress(done, total, message)
        if new == self.progress:
            return False
        self.progress = new
        return True

    def result_filename(self) -> str | None:
        if self.result is None:
            return None
        return f"{self.kind}-{self.id}.{self.result.extension}"

    def to_dict(self) -> dict[str, Any]:
        """The contract's job object."""
        return {
            "id": self.id,
            "kind": self.kind,
            "params": self.params,
            "state": self.state.value,
            "progress": self.progress.to_dict(),
            "created_at": format_timestamp(self.created_at),
            "started_at": format_timestamp(self.started_at),
            "finished_at": format_timestamp(self.finished_at),
            "error": self.error,
            "result": self.result.to_dict(self) if self.result else None,
            "attempt": self.attempt,
            "max_attempts": self.max_attempts,
            "retry_errors": list(self.retry_errors),
            "run_at": format_timestamp(self.run_at),
            "timeout_s": self.timeout_s,
            "failed_items": ({"failed": self.failed_items[0], "of": self.failed_items[1]}
                             if self.failed_items else None),
        }

    def copy(self) -> Job:
        """A copy to change: a store's own job changes only when a commit succeeds."""
        twin = Job.__new__(Job)
        for name in Job.__slots__:
            setattr(twin, name, getattr(self, name))
        return twin

    def to_record(self) -> str:
        """Everything needed to rebuild the job in any process; times stay exact floats."""
        result = self.result
        return compact_json({
            "id": self.id, "owner": self.owner, "kind": self.kind, "params": self.params,
            "state": self.state.value, "done": self.progress.done, "total": self.progress.total,
            "message": self.progress.message, "created": self.created_at, "started": self.started_at,
            "finished": self.finished_at, "error": self.error,
            "result": [result.path, result.content_type, result.extension, result.size, result.url_prefix]
                      if result else None,
            "attempt": self.attempt, "max_attempts": self.max_attempts, "backoff": self.retry_backoff_s,
            "retry_errors": self.retry_errors, "run_at": self.run_at, "timeout": self.timeout_s,
            "failed_items": self.failed_items,
        })

    @classmethod
    def from_record(cls, record: str | bytes, sequence: int = 0) -> Job:
        """The job a record (`to_record`) describes."""
        fields = json.loads(record)
        job = cls.__new__(cls)
        job.id, job.owner, job.kind, job.params = fields["id"], fields["owner"], fields["kind"], fields["params"]
        job.sequence = sequence
        job.state = JobState(fields["state"])
        job.progress = Progress(fields["done"], fields["total"], fields["message"])
        job.created_at, job.started_at, job.finished_at = fields["created"], fields["started"], fields["finished"]
        job.error = fields["error"]
        job.result = ResultFile(*fields["result"]) if fields["result"] else None
        job.attempt, job.max_attempts = fields.get("attempt", 1), fields.get("max_attempts", 1)
        job.retry_backoff_s, job.retry_errors = fields.get("backoff", 0.0), tuple(fields.get("retry_errors", ()))
        job.run_at, job.timeout_s = fields.get("run_at"), fields.get("timeout")
        job.failed_items = tuple(fields["failed_items"]) if fields.get("failed_items") else None
        return job

    def _move_to(self, state: JobState) -> None:
        if state not in _NEXT_STATES.get(self.state, ()):
            raise IllegalTransition(f"job {self.id} cannot go from {self.state.value} to {state.value}")
        self.state = state


compact_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
"""JSON on one line, non-ASCII as is; one encoder for all (`json.dumps` with options makes one a call)."""


def job_json(job: Job) -> str:
    """Compact JSON of a job, so an event's `data:` is one line."""
    return compact_json(job.to_dict())
