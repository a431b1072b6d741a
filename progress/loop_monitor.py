"""`LoopMonitor`: a greenlet that sleeps a short interval and records how late it wakes.

That lateness is the event loop's lag: how long every stream, request and job waited
because something held the loop (STYLE.md, "Prove it"). It feeds the `/metrics`
histogram and the loop-lag benchmark.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import gevent

INTERVAL_S = 0.05
"""How often the monitor wakes: often enough to see a 20 ms stall, rare enough to cost nothing."""


class LoopMonitor:
    """Calls `observe(lag_seconds)` after every interval, from its own greenlet."""

    __slots__ = ("_observe", "_interval", "_greenlet")

    def __init__(self, observe: Callable[[float], None], interval: float = INTERVAL_S) -> None:
        self._observe = observe
        self._interval = interval
        self._greenlet: gevent.Greenlet | None = None

    @property
    def running(self) -> bool:
        return self._greenlet is not None and not self._greenlet.dead

    def start(self) -> None:
        """Start watching; calling it again while it runs does nothing."""
        if not self.running:
            self._greenlet = gevent.spawn(self._watch)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _watch(self) -> None:
        while True:
            asleep = time.perf_counter()
            gevent.sleep(self._interval)
            self._observe(max(time.perf_counter() - asleep - self._interval, 0.0))
