"""Telling about a store outage once rather than once per failed call."""

from __future__ import annotations

import logging
import time

from .errors import StoreBusy

log = logging.getLogger("progress.store")


class Outage:
    """Logs the first error of an outage and the recovery, not every failed call in between."""

    def __init__(self) -> None:
        self.down = False
        self._since = 0.0

    def failed(self, error: BaseException, doing: str) -> None:
        """A busy store (`StoreBusy`) is load, not an outage: the store said so itself."""
        if isinstance(error, StoreBusy):
            return
        if not self.down:
            self.down = True
            self._since = time.monotonic()
            log.error("lost the job store while %s: %s; open streams end and clients resume once it is back",
                      doing, error)

    def recovered(self) -> None:
        if self.down:
            log.warning("the job store is reachable again after %.1f s", self.lasted())
            self.down = False

    def lasted(self) -> float:
        """Seconds since the store was lost; 0 while it answers."""
        return time.monotonic() - self._since if self.down else 0.0
