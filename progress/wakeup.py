"""`Wakeup`: the one-reader event a subscription waits on, made cheap for 10,000 readers.

gevent's `Event` serves any number of waiters through a link list, a notifier and a
`Timeout` object per timed wait: about 7 µs more per set-and-wake than this, measured
with 1,000 waiting greenlets (docs/performance.md). A subscription has one reader, so
`set()` schedules one loop callback that switches straight into it, and only while it
waits: setting a `Wakeup` nobody waits on costs one attribute store. A timed-out wait
resumes through a loop callback too, not from the timer itself: 200 jobs whose sleeps end in
the same millisecond then take turns with every other timer (gevent lets timers in between
callbacks every 5 ms) instead of running back to back in one pass over the timers.
"""

from __future__ import annotations

from gevent import get_hub
from greenlet import getcurrent


class Wakeup:
    """A flag one greenlet waits on with a timeout; `set()` never blocks or switches."""

    __slots__ = ("_flag", "_waiter", "_scheduled")

    def __init__(self) -> None:
        self._flag = False
        self._waiter = None
        self._scheduled = False

    def is_set(self) -> bool:
        return self._flag

    @property
    def waited_on(self) -> bool:
        """True while a greenlet waits: a second one must wait some other way."""
        return self._waiter is not None

    def set(self) -> None:
        self._flag = True
        if self._waiter is not None and not self._scheduled:
            self._scheduled = True
            get_hub().loop.run_callback(self._wake)

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: float) -> bool:
        """Block this greenlet until `set()` or `timeout` seconds; True if set."""
        if self._flag:
            return True
        hub = get_hub()
        timer = hub.loop.timer(max(timeout, 0.0))
        self._waiter = getcurrent()
        timer.start(hub.loop.run_callback, self._waiter.switch)  # a callback, see above
        try:
            hub.switch()
        finally:
            timer.close()
            self._waiter = None
        return self._flag

    def _wake(self) -> None:
        """Runs in the hub: switch into the waiter, unless it already woke by itself."""
        self._scheduled = False
        if self._waiter is not None and self._flag:
            self._waiter.switch()
