"""`ProgressThrottle`: at most one `progress` event per job per interval; the latest wins.

A job may report thousands of times a second; a person needs a few updates a second,
and every event costs a write per subscriber. The first report after a quiet interval
is published at once; later ones within the interval are folded into one publish at its
end, carrying the job as it is then. `flush()` publishes a folded report at once: the
runner calls it before every state change, so the last progress always precedes the
terminal `state` event and a state event is never delayed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gevent import get_hub

INTERVAL_S = 0.05
"""20 updates a second per job at most: smoother than a progress bar needs."""


class ProgressThrottle:
    """Calls `publish()` for reports, at most once per `interval` (issue #6)."""

    __slots__ = ("_publish", "_interval", "_last", "_timer")

    def __init__(self, publish: Callable[[], None], interval: float = INTERVAL_S) -> None:
        self._publish = publish
        self._interval = interval
        self._last = -interval
        self._timer = None

    def report(self) -> None:
        """The job's progress changed: publish now, or at the end of the current interval."""
        if self._timer is not None:
            return  # a publish is due; it will carry this report too
        wait = self._last + self._interval - time.monotonic()
        if wait <= 0:
            self._send()
        else:
            self._timer = get_hub().loop.timer(wait)
            self._timer.start(self.flush)

    def flush(self) -> None:
        """Publish a folded report now, if there is one."""
        if self._timer is not None:
            self._timer.close()
            self._timer = None
            self._send()

    def _send(self) -> None:
        self._last = time.monotonic()
        self._publish()
