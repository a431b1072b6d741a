"""`HeldCommits`: the changes of the jobs this worker runs, made while Redis could not be
reached, kept in the worker and written in order once it answers again.

A job goes on through a short outage (`REDIS_OUTAGE_GRACE_S`): each of its state changes is
kept, of its progress only the newest (as a slow stream coalesces it), and each job's changes
are written in the order they were made. Their event ids are issued as they are written, so
the one counter still orders every stream.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Held:
    """One commit as the script takes it: the job as it was when the change was made."""

    event_type: str
    args: tuple[object, ...]


class HeldCommits:
    """Per job, its held commits in order; a newer progress replaces one not yet being written."""

    def __init__(self) -> None:
        self._jobs: dict[str, deque[Held]] = {}
        self._writing: str | None = None
        """The job whose first held commit is being written (it must not be replaced)."""

    def __len__(self) -> int:
        return sum(map(len, self._jobs.values()))

    def holds(self, job_id: str) -> bool:
        """Whether a commit of this job waits: a later one must wait behind it."""
        return job_id in self._jobs

    def add(self, job_id: str, held: Held) -> None:
        queue = self._jobs.setdefault(job_id, deque())
        newest_is_waiting = len(queue) > 1 or (len(queue) == 1 and self._writing != job_id)
        if held.event_type == "progress" and newest_is_waiting and queue[-1].event_type == "progress":
            queue[-1] = held
        else:
            queue.append(held)

    def write(self, commit: Callable[[tuple[object, ...]], object]) -> None:
        """Write every held commit in order with `commit`; if it raises (Redis away again),
        that commit and those after it stay held. A commit the job's state no longer allows
        (it moved on elsewhere) is simply not written, as any lost race."""
        while self._jobs:
            job_id, queue = next(iter(self._jobs.items()))
            self._writing = job_id
            try:
                commit(queue[0].args)
            finally:
                self._writing = None
            queue.popleft()
            if not queue:
                del self._jobs[job_id]
