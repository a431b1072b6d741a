"""Telling about a store outage once rather than once per failed call."""

from __future__ import annotations

import logging

log = logging.getLogger("progress.store")


class Outage:
    """Logs the first error of an outage and the recovery, not every failed call in between."""

    def __init__(self) -> None:
        self.down = False

    def failed(self, error: BaseException, doing: str) -> None:
        if not self.down:
            self.down = True
            log.error("lost the job store while %s: %s; open streams end and clients resume once it is back",
                      doing, error)

    def recovered(self) -> None:
        if self.down:
            self.down = False
            log.warning("the job store is reachable again")
