"""Per-owner limits for the whole deployment, not per worker: the job-creation rate."""

from __future__ import annotations

from collections.abc import Callable

from redis.commands.core import Script

from ..limits import too_many_jobs


class RedisRateLimiter:
    """The token bucket of `progress.limits.RateLimiter`, kept in Redis for every worker."""

    def __init__(self, per_minute: int, take_token: Script, key: Callable[[str], str]) -> None:
        self.per_minute = per_minute
        self._take_token = take_token
        self._key = key

    def take(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        wait_s = float(self._take_token(keys=[self._key(f"rate:{key}")], args=[self.per_minute]))
        if wait_s > 0:
            raise too_many_jobs(self.per_minute, wait_s)
