"""Wrong API tokens per client address, Bearer and `/signin` alike: past a few a minute, 429 (issue 15).

An address past the limit is refused before the token it sends is even looked at, so
while it waits a guess tells nothing, right or wrong. Counted in each server process;
the client address is the one the proxy middleware settled on (`REMOTE_ADDR`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from progress import defaults
from progress.errors import RateLimited
from progress.limits import RateLimiter

MAX_BLOCKED = 10_000
"""Blocked addresses kept before those whose wait is over are dropped: memory stays bounded."""


class GuessingLimit:
    """A token bucket of failures per address (`progress.limits.RateLimiter`), and the addresses
    that emptied theirs, blocked until a failure is allowed again."""

    def __init__(self, per_minute: int = defaults.FAILED_TOKENS_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._failures = RateLimiter(per_minute, clock)
        self._clock = clock
        self._blocked: dict[str, float] = {}

    def check(self, address: str) -> None:
        """Raise `RateLimited` while `address` is blocked."""
        wait_s = self._blocked.get(address, 0.0) - self._clock()
        if wait_s > 0:
            raise _refusal(wait_s)
        self._blocked.pop(address, None)

    def blocked(self, address: str) -> bool:
        """`address` is blocked now (`check` would raise); changes nothing."""
        return self._blocked.get(address, 0.0) > self._clock()

    def failed(self, address: str) -> None:
        """Count a wrong token; the one past the limit blocks `address` and raises `RateLimited`."""
        try:
            self._failures.take(address)
        except RateLimited as limited:
            now = self._clock()
            if len(self._blocked) >= MAX_BLOCKED:
                self._blocked = {blocked: until for blocked, until in self._blocked.items() if until > now}
            self._blocked[address] = now + limited.retry_after
            raise _refusal(limited.retry_after) from None


def _refusal(wait_s: float) -> RateLimited:
    return RateLimited("Too many wrong API tokens from this address; try again later.", math.ceil(wait_s))
