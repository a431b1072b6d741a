"""The `/api/events` snapshot event, encoded once per moment and set of jobs (issue 14 part 8).

A snapshot holds every unfinished job and the 50 most recently finished, so once a server
keeps jobs, encoding it is most of the cost of opening a stream: every job's JSON anew, for
every stream. The opens between two events see the same jobs at the same id, so they share
one encoding. The key is the newest id with the ids of the jobs the viewer sees: a job only
changes by a commit, which issues a new id, and a job forgotten by retention (which issues
none) changes the set.
"""

from __future__ import annotations

from .jobs import Job, compact_json
from .sse import encode_event

MAX_KEPT = 256
"""Snapshots kept for the newest id, one per set of jobs (an owner who sees only their own
has a set of their own): more, and they are all made anew."""


class Snapshots:
    """The snapshot events made for the newest id."""

    def __init__(self) -> None:
        self._last_id: int | None = None
        self._made: dict[tuple[str, ...], bytes] = {}

    def event(self, last_id: int, jobs: list[Job]) -> bytes:
        """The `snapshot` event of `jobs` as of `last_id`."""
        if last_id != self._last_id or len(self._made) >= MAX_KEPT:
            self._last_id, self._made = last_id, {}
        key = tuple(job.id for job in jobs)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = encode_event("snapshot", last_id, snapshot_json(jobs))
        return made


def snapshot_json(jobs: list[Job]) -> str:
    """The `/api/events` snapshot's data: `{"jobs": [...]}` on one line."""
    return compact_json({"jobs": [job.to_dict() for job in jobs]})
