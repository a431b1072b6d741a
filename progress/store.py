"""The seam between the one runner and stream service and where jobs and events live.

Three stores implement `JobStore`: in memory (`memory_store.py`, `JOBS_DB=:memory:`),
the same with an SQLite journal on disk (the default, `sqlite_journal.py`), and Redis
(`redis_backend/store.py`, shared by several workers). Every change of a job is one
commit that stores the job and its event together and checks the state it expects, so
a race between a cancel, a start and a dead worker's clean-up has exactly one winner.
The store hands each committed event to its `Feed` (this process's streams), from
whichever process made it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from .access import Owner
from .events import AllView, Event, JobView
from .jobs import Job, JobState
from .limits import CreationRate
from .outage import Outage


@dataclass(frozen=True)
class QueueLimits:
    """What a new job must fit in, for the whole deployment; 0 turns the per-owner limit off."""

    concurrency: int
    queue_size: int
    queued_per_owner: int = 0
    running_per_owner: int = 0
    """Jobs one owner may run (or have claimed) at once; 0: `concurrency`."""

    @property
    def owner_slots(self) -> int:
        return self.running_per_owner or self.concurrency


@dataclass(frozen=True)
class IdempotencyKey:
    """A submit's `Idempotency-Key`, per owner, and what its body was (a digest)."""

    owner: str
    key: str
    fingerprint: str

    conflict_message = "This Idempotency-Key was already used with another request body."


@dataclass(frozen=True)
class Submitted:
    """What an idempotency key remembers: the body's digest and the job it created."""

    fingerprint: str
    job: Job
    expires_at: float


class Feed(Protocol):
    """This process's side: told of every committed event and cancel request."""

    def event(self, event: Event) -> None:
        """Hand the event to this process's streams (and wake the dispatcher if it frees a slot)."""

    def cancel_requested(self, job_id: str) -> None:
        """Someone asked to cancel a job; stop it if it runs here."""

    def streams_by_owner(self) -> dict[str, int]:
        """This process's open streams by owner (a shared store reports them to the others)."""

    def end_streams(self, farewell: bytes) -> None:
        """The store lost its events: open streams end and their clients resume."""

    def interrupt_running(self, error: str) -> None:
        """The store stayed out of reach too long to go on holding this process's changes:
        every job running here ends `interrupted` with `error`."""


class JobStore(Protocol):
    """Where jobs and their events live. Reads return copies a caller may change."""

    durable: bool
    """Jobs outlive this process (queued jobs then stay queued at shutdown)."""
    outage_errors: tuple[type[Exception], ...]
    """What a call raises while the store can't be reached (nothing, for a local store)."""
    outage: Outage
    """Says once that the store was lost, and once that it is back."""
    waits_on_network: bool
    """A call may switch greenlets, so it must not be made from the event loop itself."""

    def start(self, feed: Feed, holder: str) -> None:
        """Begin feeding events; end what a stopped process left running (`interrupted`)."""

    def add(self, job: Job, idempotency: IdempotencyKey | None = None) -> Event:
        """Commit a new `queued` job with its first event; `QueueFull` or `RateLimited` if it
        does not fit in the store's `QueueLimits`. With a key its owner used before (within
        a day): `AlreadySubmitted` with that job, or `IdempotencyConflict` for another body."""

    def commit(self, job: Job, expect: JobState, event_type: str, holder: str) -> Event | None:
        """Store `job` as it is now with its `state` or `progress` event, if the stored job is
        still in state `expect` (and, running or claimed, held by `holder`); else None. A store
        that can be out of reach holds a change of a job this process holds meanwhile, and
        writes it, in order, once it answers: the event it returns then has id 0 (its id is
        issued as it is written)."""

    def claim(self, holder: str) -> Job | None:
        """Take a due queued job for `holder` if the deployment has a free slot: owners take
        turns (the owner running the fewest jobs first, below `running_per_owner`), each
        owner's oldest first. It stays `queued` until `holder` commits `running`."""

    def next_due(self) -> float | None:
        """When the soonest job waiting for its `run_at` is due (seconds since the epoch)."""

    def schedule_due(self, name: str, due: float) -> bool:
        """True exactly once per schedule and due time, for whichever process asks first; the
        first time a schedule is seen its due time is only recorded (no run at first start)."""

    def release(self, job_id: str, holder: str) -> None:
        """Give back a claimed job that will not start here; it waits in its place again."""

    def request_cancel(self, job_id: str) -> None:
        """Ask whichever process runs the job to stop it (its feed's `cancel`)."""

    def get(self, job_id: str) -> Job | None: ...

    def newest_first(self, states: Iterable[JobState] | None, limit: int, viewer: Owner) -> list[Job]: ...

    def unfinished(self) -> list[Job]: ...

    def counts(self) -> Mapping[JobState, int]: ...

    def waiting(self) -> int:
        """Queued jobs no one has claimed yet."""

    def view_job(self, job_id: str) -> JobView: ...

    def view_all(self, since: int | None, viewer: Owner) -> AllView: ...

    def forget_finished(self, finished_before: float) -> list[Job]:
        """Forget jobs that finished before this time (epoch seconds) with their events;
        returns them, so their result files can go too."""

    def creation_rate(self, per_minute: int) -> CreationRate: ...

    def streams_elsewhere(self, owner: str | None) -> int:
        """Open streams of `owner` (None: of everyone) in other processes of the deployment."""

    def close(self) -> None:
        """This process stops: say goodbye, stop feeding, release what it holds."""
