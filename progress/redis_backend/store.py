"""`RedisJobStore`: the reads of `JobStore` (get, lists, counts) from the records in Redis."""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from ..access import EVERYONE, Owner
from ..errors import JobNotFound
from ..jobs import Job, JobState
from .connection import Connection
from .records import job_of

BATCH = 200
"""Records fetched per round trip when a list is filtered."""


class RedisJobStore:
    """Every kept job of the deployment; writes go through the runner's commit script."""

    def __init__(self, client: Redis, connection: Connection) -> None:
        self._client = client
        self._key = connection.key

    def __len__(self) -> int:
        return self._client.zcard(self._key("created"))

    def get(self, job_id: str, viewer: Owner = EVERYONE) -> Job:
        """The job, if `viewer` may see it: someone else's job is as missing as no job."""
        record = self._client.get(self._key(f"job:{job_id}"))
        if record is None or not viewer.may_see((job := job_of(record)).owner):
            raise JobNotFound()
        return job

    @property
    def counts(self) -> dict[JobState, int]:
        """Jobs per state, for `/healthz`."""
        with self._client.pipeline(transaction=False) as pipe:
            for state in JobState:
                pipe.zcard(self._key(f"in:{state.value}"))
            return dict(zip(JobState, pipe.execute()))

    def newest_first(self, states: Iterable[JobState] | None, limit: int,
                     viewer: Owner = EVERYONE) -> list[Job]:
        sets = [f"in:{state.value}" for state in dict.fromkeys(states)] if states else ["created"]
        found: list[tuple[float, Job]] = []
        for name in sets:  # each set newest first, merged below
            found.extend(self._visible(name, limit, viewer))
        found.sort(key=lambda pair: pair[0], reverse=True)
        return [job for _, job in found[:limit]]

    def unfinished(self) -> list[Job]:
        return [job for _, job in self._visible("in:queued", None, EVERYONE)
                + self._visible("in:running", None, EVERYONE)]

    def _visible(self, name: str, limit: int | None, viewer: Owner) -> list[tuple[float, Job]]:
        """Up to `limit` jobs of one sorted set that `viewer` may see, newest first."""
        found: list[tuple[float, Job]] = []
        offset = 0
        while limit is None or len(found) < limit:
            page = self._client.zrevrange(self._key(name), offset, offset + BATCH - 1, withscores=True)
            if not page:
                break
            records = self._client.mget([self._key(f"job:{job_id.decode()}") for job_id, _ in page])
            for (_, order), record in zip(page, records):
                if record is not None and viewer.may_see((job := job_of(record)).owner):
                    found.append((order, job))
            offset += BATCH
        return found if limit is None else found[:limit]
