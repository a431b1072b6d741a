"""Periodic schedules: an ordinary job of a kind at each of its cron times (UTC).

Exactly one job per due time across workers and restarts: the store records the newest
due time each schedule fired for (`JobStore.schedule_due`, atomic), and the job is
submitted with an idempotency key naming that time. After downtime only the newest
missed time fires: one catch-up run, not one per missed time. A schedule seen for the
first time does not fire until its next due time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import gevent
from croniter import croniter

from .access import Owner
from .errors import ProgressError, ShuttingDown
from .jobs import format_timestamp
from .store import IdempotencyKey, JobStore

if TYPE_CHECKING:
    from .runner import JobRunner

log = logging.getLogger("progress.schedules")

SERVER = Owner(":server", admin=True)
"""Who owns scheduled jobs: no token can have this name (a colon), and only admins see them."""

LONGEST_SLEEP_S = 60.0
"""The scheduler looks again at least this often (a clock that jumped, say)."""


def check_cron(expression: str) -> str:
    """The expression if it is standard five-field cron (or six, seconds last, croniter's
    extension for schedules finer than a minute), else `ValueError` saying so."""
    if len(expression.split()) not in (5, 6) or not croniter.is_valid(expression):
        raise ValueError("expected a cron expression of five fields such as '0 * * * *'")
    return expression


@dataclass(frozen=True)
class Schedule:
    name: str
    kind: str
    cron: str
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_cron(self.cron)

    def previous(self, now: float) -> float:
        """The newest due time at or before `now`."""
        return _cron_time(self.cron, now + 1e-6, backwards=True)

    def next(self, now: float) -> float:
        return _cron_time(self.cron, now, backwards=False)

    def to_dict(self, now: float) -> dict[str, Any]:
        """The entry of `GET /api/schedules`."""
        return {"name": self.name, "kind": self.kind, "params": self.params, "cron": self.cron,
                "next_run_at": format_timestamp(self.next(now))}


def _cron_time(cron: str, now: float, backwards: bool) -> float:
    moments = croniter(cron, datetime.fromtimestamp(now, timezone.utc))
    moment = moments.get_prev(datetime) if backwards else moments.get_next(datetime)
    return moment.timestamp()


class Scheduler:
    """One greenlet per process; any worker may start a due job, the store lets only one."""

    def __init__(self, schedules: tuple[Schedule, ...], runner: JobRunner, store: JobStore) -> None:
        self.schedules = schedules
        self._runner = runner
        self._store = store
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        if self.schedules:
            self._greenlet = gevent.spawn(self._forever)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _forever(self) -> None:
        while True:
            now = time.time()
            for schedule in self.schedules:
                try:
                    self.fire_if_due(schedule, now)
                except self._store.outage_errors as error:
                    self._store.outage.failed(error, f"starting the scheduled {schedule.name}")
            soonest = min(schedule.next(now) for schedule in self.schedules)
            gevent.sleep(min(max(soonest - time.time(), 0.0), LONGEST_SLEEP_S))

    def fire_if_due(self, schedule: Schedule, now: float) -> None:
        due = schedule.previous(now)
        if not self._store.schedule_due(schedule.name, due):
            return
        key = IdempotencyKey(SERVER.name, f"schedule:{schedule.name}:{due}", schedule.name)
        try:
            job = self._runner.submit(schedule.kind, dict(schedule.params), SERVER, idempotency=key)
        except ShuttingDown:
            return
        except ProgressError as error:  # a full queue, say: the next due time tries again
            log.warning("scheduled %s not started for %s: %s", schedule.name, format_timestamp(due), error)
            return
        log.info("schedule=%s due=%s job=%s", schedule.name, format_timestamp(due), job.id)
