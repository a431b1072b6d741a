"""The jobs a process keeps: by id, by state, and in finishing order for retention."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Iterable
from itertools import islice

from .access import EVERYONE, Owner
from .errors import JobNotFound
from .jobs import Job, JobState


class JobStore:
    """Every kept job; unfinished ones always, finished ones until their retention ends."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}          # creation order
        self._unfinished: dict[str, Job] = {}    # creation order
        self._finished: deque[tuple[float, str]] = deque()  # (monotonic finish time, id)
        self.counts: Counter[JobState] = Counter()
        self.queued_by_owner: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._jobs)

    def add(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._unfinished[job.id] = job
        self.counts[job.state] += 1
        self.queued_by_owner[job.owner] += 1

    def get(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        """The job, if `viewer` may see it: someone else's job is as missing as no job, so ids leak nothing."""
        job = self._jobs.get(job_id)
        if job is None or not viewer.may_see(job.owner):
            raise JobNotFound()
        return job

    def moved(self, job: Job, previous: JobState) -> None:
        """Record a state change made on the job."""
        self.counts[previous] -= 1
        self.counts[job.state] += 1
        if previous is JobState.QUEUED:
            self.queued_by_owner[job.owner] -= 1
            if not self.queued_by_owner[job.owner]:
                del self.queued_by_owner[job.owner]
        if job.terminal:
            del self._unfinished[job.id]
            self._finished.append((time.monotonic(), job.id))

    def unfinished(self) -> list[Job]:
        return list(self._unfinished.values())

    def newest_first(self, states: Iterable[JobState] | None, limit: int,
                     viewer: Owner = EVERYONE) -> list[Job]:
        wanted = set(states) if states else None
        found = []
        for job in reversed(self._jobs.values()):
            if (wanted is None or job.state in wanted) and viewer.may_see(job.owner):
                found.append(job)
                if len(found) == limit:
                    break
        return found

    def snapshot(self, finished: int, viewer: Owner = EVERYONE) -> list[Job]:
        """Every unfinished job and the `finished` most recently finished ones that `viewer`
        may see, newest first."""
        newest_finished = (self._jobs[job_id] for _, job_id in reversed(self._finished))
        recent = list(islice((job for job in newest_finished if viewer.may_see(job.owner)), finished))
        jobs = [job for job in self._unfinished.values() if viewer.may_see(job.owner)] + recent
        return sorted(jobs, key=lambda job: job.sequence, reverse=True)

    def next_expiry(self) -> float | None:
        """Monotonic finish time of the oldest finished job, if any."""
        return self._finished[0][0] if self._finished else None

    def pop_oldest_finished(self) -> Job:
        _, job_id = self._finished.popleft()
        job = self._jobs.pop(job_id)
        self.counts[job.state] -= 1
        return job
