"""Per-owner limits that keep one client from hurting the rest: streams, queued jobs, creation rate."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from .errors import RateLimited


@dataclass(frozen=True)
class OwnerLimits:
    """Each limit per owner; 0 turns it off."""

    streams: int = 0
    queued: int = 0
    jobs_per_minute: int = 0
    running: int = 0
    """Jobs one owner runs at once, so one owner cannot hold every slot; 0: no limit."""


class CreationRate(Protocol):
    """Spends one of an owner's job creations, or raises `RateLimited`."""

    def take(self, key: str) -> None: ...


def too_many_jobs(per_minute: int, wait_s: float) -> RateLimited:
    """The 429 of the creation rate, with `Retry-After` when a token is back."""
    return RateLimited(f"Too many new jobs; at most {per_minute} a minute.", math.ceil(wait_s))


class RateLimiter:
    """A token bucket per key: `per_minute` tokens, refilled evenly, bursts up to `per_minute`.

    Memory stays bounded: buckets that have refilled completely are dropped, since a
    full bucket and no bucket mean the same.
    """

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> None:
        """Spend one token of `key`, or raise `RateLimited` saying when one will be back."""
        if self.capacity <= 0:
            return
        now = self._clock()
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.per_second)
        if tokens < 1:
            raise too_many_jobs(int(self.capacity), (1 - tokens) / self.per_second)
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 10_000:
            self._drop_full(now)

    def _drop_full(self, now: float) -> None:
        refill_s = self.capacity / self.per_second
        self._buckets = {key: (tokens, at) for key, (tokens, at) in self._buckets.items()
                         if now - at < refill_s}
