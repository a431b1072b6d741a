"""`MemoryStore`: the jobs and events of one process, in memory, optionally journaled to disk.

With a `Journal` (the SQLite one by default) every commit is also written to disk, in
one group commit per turn of the event loop, and a new job is on disk before `add`
returns; the store starts from what the journal holds. Reads never touch the disk, so a
durable store answers as fast as a memory-only one.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from . import defaults
from .access import Owner
from .errors import AlreadySubmitted, IdempotencyConflict, QueueFull, RateLimited
from .events import AllView, Event, JobView, visible
from .jobs import Job, JobState
from .limits import CreationRate, RateLimiter
from .outage import Outage
from .store import Feed, IdempotencyKey, QueueLimits, Submitted

STOPPED_WHILE_RUNNING = "The server stopped before the job finished."


@dataclass(slots=True)
class History:
    """What resume needs of one job: all its `state` events and its newest `progress`."""

    states: list[Event] = field(default_factory=list)
    progress: Event | None = None

    def newest_id(self) -> int:
        return max([event.id for event in self.states] + ([self.progress.id] if self.progress else []))


@dataclass
class Loaded:
    """What a journal holds at start."""

    jobs: list[Job] = field(default_factory=list)
    """Every kept job, in creation order, with its `sequence`."""
    histories: dict[str, History] = field(default_factory=dict)
    keys: dict[tuple[str, str], Submitted] = field(default_factory=dict)
    """Idempotency keys not yet expired, by (owner, key), soonest to expire first."""
    schedules: dict[str, float] = field(default_factory=dict)
    """The newest due time each schedule fired for."""
    last_id: int = 0
    held_from: int | None = None
    """The first id the journal ever issued; None for a new journal."""
    floor: int = 0


class Journal(Protocol):
    """Where a `MemoryStore` writes each commit before applying it."""

    def load(self) -> Loaded: ...

    def write(self, job: Job, event: Event, new: bool) -> None:
        """The job as it is now (a copy no one changes) and its event, in one transaction."""

    def wait_durable(self) -> None:
        """Return once everything written so far is on disk."""

    def write_key(self, owner: str, key: str, submitted: Submitted) -> None:
        """An idempotency key, with the job it first created."""

    def write_schedule(self, name: str, due: float) -> None:
        """The newest due time a schedule fired for."""

    def forget(self, job_ids: list[str], floor: int, last_id: int, now: float) -> None:
        """Forget these jobs, and idempotency keys expired by `now`."""

    def close(self, last_id: int) -> None: ...


class _NullFeed:
    def event(self, event: Event) -> None: ...

    def cancel_requested(self, job_id: str) -> None: ...

    def streams_by_owner(self) -> dict[str, int]:
        return {}

    def end_streams(self, farewell: bytes) -> None: ...

    def interrupt_running(self, error: str) -> None: ...


class MemoryStore:
    """Every kept job and what resume needs, for one process (`JobStore`)."""

    outage_errors: tuple[type[Exception], ...] = ()
    waits_on_network = False

    def __init__(self, limits: QueueLimits, journal: Journal | None = None,
                 state_history: int = defaults.STATE_HISTORY) -> None:
        self._limits = limits
        self._journal = journal
        self.durable = journal is not None
        self.outage = Outage()  # never down: a journal's failure is a bug, not an outage
        self._feed: Feed = _NullFeed()
        self._jobs: dict[str, Job] = {}          # creation order
        self._unfinished: dict[str, Job] = {}    # creation order
        self._waiting: dict[str, Job] = {}       # queued and unclaimed, due or not
        self._ready: dict[str, list[tuple[int, str]]] = {}  # owner -> heap of (sequence, id): due, oldest first
        self._busy: Counter[str] = Counter()     # owner -> jobs running or claimed
        self._delayed: list[tuple[float, int, str]] = []  # heap of (run_at, sequence, id)
        self._claimed: set[str] = set()
        self._keys: dict[tuple[str, str], Submitted] = {}  # (owner, Idempotency-Key)
        self._schedules: dict[str, float] = {}  # schedule name -> the newest due time it fired for
        self._finished: deque[tuple[float, str]] = deque()  # (finished_at, id), finishing order
        self._counts: Counter[JobState] = Counter()
        self._queued_by_owner: Counter[str] = Counter()
        self._histories: dict[str, History] = {}
        self._states: deque[Event] = deque(maxlen=state_history)
        loaded = journal.load() if journal else Loaded()
        # Ids go on above every id issued before, and start at the start time in µs, so a
        # store that forgot everything (in memory) never reuses an id either.
        self.last_id = max(loaded.last_id, int(time.time() * 1_000_000) - 1)
        self._held_from = loaded.held_from if loaded.held_from is not None else self.last_id + 1
        self._floor = max(loaded.floor, self._held_from - 1)
        self._sequence = itertools.count(max((job.sequence for job in loaded.jobs), default=0) + 1)
        self._load(loaded)

    def _load(self, loaded: Loaded) -> None:
        for job in loaded.jobs:
            self._jobs[job.id] = job
            self._counts[job.state] += 1
            self._place(job, None)
        self._histories = loaded.histories
        self._keys = loaded.keys
        self._schedules = loaded.schedules
        states = sorted((event for history in loaded.histories.values() for event in history.states),
                        key=lambda event: event.id)
        if len(states) > self._states.maxlen:  # what the window cannot hold is too old to resume from
            self._floor = max(self._floor, states[-self._states.maxlen - 1].id)
        self._states.extend(states)
        self._finished = deque(sorted(self._finished))

    # Lifecycle ----------------------------------------------------------------------

    def start(self, feed: Feed, holder: str) -> None:
        """Jobs a stopped process was running end `interrupted`, or wait for another attempt:
        their greenlets are gone."""
        self._feed = feed
        for job in [job for job in self._unfinished.values() if job.state is JobState.RUNNING]:
            job = job.copy()
            job.end_attempt(JobState.INTERRUPTED, STOPPED_WHILE_RUNNING)
            self.commit(job, JobState.RUNNING, "state", holder)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close(self.last_id)

    # Writes -------------------------------------------------------------------------

    def add(self, job: Job, idempotency: IdempotencyKey | None = None) -> Event:
        if idempotency is not None:
            self._check_key(idempotency)
        self._check_room(job.owner)
        job.sequence = next(self._sequence)
        event = self._event("state", job)
        job = job.copy()
        if self._journal is not None:
            self._journal.write(job, event, new=True)
        if idempotency is not None:
            self._remember_key(idempotency, job)
        self._jobs[job.id] = job
        self._counts[job.state] += 1
        self._place(job, None)
        self._remember(event)
        self._feed.event(event)
        if self._journal is not None:
            self._journal.wait_durable()  # a 202 means the job is on disk
        return event

    def _check_key(self, idempotency: IdempotencyKey) -> None:
        """`AlreadySubmitted` with the first job of a key; `IdempotencyConflict` for another body."""
        submitted = self._keys.get((idempotency.owner, idempotency.key))
        if submitted is None or submitted.expires_at <= time.time():
            return
        if submitted.fingerprint != idempotency.fingerprint:
            raise IdempotencyConflict(idempotency.conflict_message)
        raise AlreadySubmitted(self.get(submitted.job.id) or submitted.job)

    def _remember_key(self, idempotency: IdempotencyKey, job: Job) -> None:
        submitted = Submitted(idempotency.fingerprint, job, time.time() + defaults.IDEMPOTENCY_KEEP_S)
        name = (idempotency.owner, idempotency.key)
        self._keys.pop(name, None)  # an expired key used again goes last, keeping expiry order
        self._keys[name] = submitted
        if self._journal is not None:
            self._journal.write_key(idempotency.owner, idempotency.key, submitted)

    def _check_room(self, owner: str) -> None:
        limits = self._limits
        queued, busy = len(self._waiting), sum(self._busy.values())
        free = max(0, limits.concurrency - busy)
        if max(0, queued - free) >= limits.queue_size and busy + min(queued, free) >= limits.concurrency:
            raise QueueFull(f"{limits.queue_size} jobs are already waiting; try again later.",
                            retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)
        if limits.queued_per_owner and self._queued_by_owner[owner] >= limits.queued_per_owner:
            raise RateLimited(f"You already have {limits.queued_per_owner} jobs waiting.",
                              retry_after=defaults.QUEUE_FULL_RETRY_AFTER_S)

    def commit(self, job: Job, expect: JobState, event_type: str, holder: str) -> Event | None:
        stored = self._jobs.get(job.id)
        if stored is None or stored.state is not expect:
            return None
        event = self._event(event_type, job)
        job = job.copy()
        if self._journal is not None:
            self._journal.write(job, event, new=False)
        self._jobs[job.id] = job
        if job.state is not expect:
            self._counts[expect] -= 1
            self._counts[job.state] += 1
        self._place(job, expect)
        self._remember(event)
        self._feed.event(event)
        return event

    def _place(self, job: Job, previous: JobState | None) -> None:
        """Keep the indexes: unfinished, the waiting queues, claims, busy slots by owner,
        finishing order, queued by owner."""
        was_busy = previous is JobState.RUNNING or (previous is JobState.QUEUED and job.id in self._claimed)
        if was_busy and job.state is not JobState.RUNNING:
            self._busy[job.owner] -= 1
        elif previous is None and job.state is JobState.RUNNING:  # loaded: interrupted at start
            self._busy[job.owner] += 1
        if previous is JobState.QUEUED and job.state is not JobState.QUEUED:
            self._waiting.pop(job.id, None)  # its heap entries are skipped from now on
            self._claimed.discard(job.id)
            self._queued_by_owner[job.owner] -= 1
            if not self._queued_by_owner[job.owner]:
                del self._queued_by_owner[job.owner]
        if job.terminal:
            self._unfinished.pop(job.id, None)
            self._finished.append((job.finished_at or 0.0, job.id))
            return
        self._unfinished[job.id] = job
        if job.state is JobState.QUEUED and previous is not JobState.QUEUED:  # new, or another attempt
            self._wait(job)
            self._queued_by_owner[job.owner] += 1

    def _wait(self, job: Job) -> None:
        self._waiting[job.id] = job
        if job.due(time.time()):
            heapq.heappush(self._ready.setdefault(job.owner, []), (job.sequence, job.id))
        else:
            heapq.heappush(self._delayed, (job.run_at, job.sequence, job.id))

    def _event(self, event_type: str, job: Job) -> Event:
        self.last_id += 1
        return Event.of(self.last_id, event_type, job)

    def _remember(self, event: Event) -> None:
        history = self._histories.setdefault(event.job_id, History())
        if event.type == "progress":
            history.progress = event
            return
        history.states.append(event)
        if len(self._states) == self._states.maxlen:
            self._floor = max(self._floor, self._states[0].id)
        self._states.append(event)

    # Claims -------------------------------------------------------------------------

    def claim(self, holder: str) -> Job | None:
        if sum(self._busy.values()) >= self._limits.concurrency:
            return None
        now = time.time()
        while self._delayed and self._delayed[0][0] <= now:  # due now: waits with the others
            _, _, job_id = heapq.heappop(self._delayed)
            if (job := self._waiting.get(job_id)) is not None:
                heapq.heappush(self._ready.setdefault(job.owner, []), (job.sequence, job_id))
        owner = self._next_owner()
        if owner is None:
            return None
        _, job_id = heapq.heappop(self._ready[owner])
        job = self._waiting.pop(job_id)
        self._claimed.add(job_id)
        self._busy[owner] += 1
        return job.copy()

    def _next_owner(self) -> str | None:
        """Whose turn it is: of the owners with a due job and a slot of their own left, the one
        running the fewest jobs, then the one whose oldest job is oldest."""
        turn: tuple[tuple[int, int], str] | None = None
        for owner, heap in list(self._ready.items()):
            while heap and heap[0][1] not in self._waiting:  # cancelled while it waited
                heapq.heappop(heap)
            if not heap:
                del self._ready[owner]
            elif self._busy[owner] < self._limits.owner_slots:
                rank = (self._busy[owner], heap[0][0])
                if turn is None or rank < turn[0]:
                    turn = (rank, owner)
        return turn[1] if turn else None

    def next_due(self) -> float | None:
        while self._delayed and self._delayed[0][2] not in self._waiting:
            heapq.heappop(self._delayed)
        return self._delayed[0][0] if self._delayed else None

    def schedule_due(self, name: str, due: float) -> bool:
        last = self._schedules.get(name)
        if last is not None and last >= due:
            return False
        self._schedules[name] = due
        if self._journal is not None:
            self._journal.write_schedule(name, due)
        return last is not None

    def release(self, job_id: str, holder: str) -> None:
        if job_id in self._claimed and (job := self._jobs.get(job_id)) and job.state is JobState.QUEUED:
            self._claimed.discard(job_id)
            self._busy[job.owner] -= 1
            self._wait(job)

    def request_cancel(self, job_id: str) -> None:
        self._feed.cancel_requested(job_id)

    # Reads --------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job.copy() if job is not None else None

    def newest_first(self, states: Iterable[JobState] | None, limit: int, viewer: Owner) -> list[Job]:
        wanted = set(states) if states else None
        matching = (job for job in reversed(self._jobs.values())
                    if (wanted is None or job.state in wanted) and viewer.may_see(job.owner))
        return list(islice(matching, limit))

    def unfinished(self) -> list[Job]:
        return list(self._unfinished.values())

    def counts(self) -> Mapping[JobState, int]:
        return self._counts

    def waiting(self) -> int:
        return len(self._waiting)

    def view_job(self, job_id: str) -> JobView:
        history = self._histories.get(job_id, History())
        return JobView(self.last_id, self._held_from, self._jobs.get(job_id), list(history.states),
                       history.progress)

    def view_all(self, since: int | None, viewer: Owner) -> AllView:
        if since is None or not self._floor <= since <= self.last_id:
            return AllView(self.last_id, None, self._snapshot(viewer))
        events = [event for event in self._states if event.id > since]
        events += [history.progress for history in self._histories.values()
                   if history.progress and history.progress.id > since]
        return AllView(self.last_id, sorted(visible(events, viewer), key=lambda event: event.id), [])

    def _snapshot(self, viewer: Owner) -> list[Job]:
        """Every unfinished job and the most recently finished ones `viewer` may see, newest first."""
        newest_finished = (self._jobs[job_id] for _, job_id in reversed(self._finished))
        recent = islice((job for job in newest_finished if viewer.may_see(job.owner)),
                        defaults.SNAPSHOT_FINISHED_JOBS)
        jobs = [job for job in self._unfinished.values() if viewer.may_see(job.owner)] + list(recent)
        return sorted(jobs, key=lambda job: job.sequence, reverse=True)

    # Retention ----------------------------------------------------------------------

    def forget_finished(self, finished_before: float) -> list[Job]:
        """Expired idempotency keys go too."""
        now = time.time()
        expired = self._pop_expired_keys(now)
        forgotten = list(self._pop_finished(finished_before))
        if self._journal is not None and (forgotten or expired):
            self._journal.forget([job.id for job in forgotten], self._floor, self.last_id, now)
        return forgotten

    def _pop_expired_keys(self, now: float) -> int:
        """Keys are kept in expiry order (each lives the same time), so only the oldest are
        looked at: the once-a-second retention tick costs nothing while none expires."""
        expired = 0
        while self._keys and next(iter(self._keys.values())).expires_at <= now:
            del self._keys[next(iter(self._keys))]
            expired += 1
        return expired

    def _pop_finished(self, finished_before: float) -> Iterator[Job]:
        while self._finished and self._finished[0][0] < finished_before:
            _, job_id = self._finished.popleft()
            job = self._jobs.pop(job_id)
            self._counts[job.state] -= 1
            history = self._histories.pop(job_id, None)
            if history is not None:  # resuming from before its last event now gets a snapshot
                self._floor = max(self._floor, history.newest_id())
            yield job

    # The deployment is this process -----------------------------------------------------

    def creation_rate(self, per_minute: int) -> CreationRate:
        return RateLimiter(per_minute)

    def streams_elsewhere(self, owner: str | None) -> int:
        return 0
