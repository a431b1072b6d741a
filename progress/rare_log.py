"""`RareWarning`: a condition that lasts (a busy pool, a missing replica) is said once in a while,
not once per call it touches."""

from __future__ import annotations

import logging
import time

EVERY_S = 60.0
"""At most one line per condition this often."""


class RareWarning:
    """One warning line at most every `every_s`; the calls in between are counted into the next."""

    def __init__(self, log: logging.Logger, message: str, every_s: float = EVERY_S) -> None:
        self._log = log
        self._message = message
        self._every_s = every_s
        self._said_at = -every_s
        self._unsaid = 0

    def say(self, *args: object) -> None:
        self._unsaid += 1
        now = time.monotonic()
        if now - self._said_at >= self._every_s:
            self._log.warning(self._message + " (%d such calls since the last such line)", *args, self._unsaid)
            self._said_at = now
            self._unsaid = 0
