"""Periodic schedules: one job per due time across processes and restarts, one catch-up run
after downtime, and `GET /api/schedules` (issue #13)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from progress.access import EVERYONE
from progress.hub import Hub
from progress.memory_store import MemoryStore
from progress.registry import KindRegistry
from progress.results import ResultStore
from progress.runner import JobRunner
from progress.schedules import SERVER, Schedule, Scheduler, check_cron
from progress.sqlite_journal import SqliteJournal
from progress.store import QueueLimits
from tests.redis_fixtures import redis_server  # noqa: F401 - a fixture

EVERY_MINUTE = Schedule("tick", "tick", "* * * * *", {"note": "scheduled"})
NOON = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def registry() -> KindRegistry:
    registry = KindRegistry()
    registry.job_kind("tick", params={"note": {"type": "string", "default": ""}})(lambda ctx, note: None)
    return registry


def scheduler_on(store: MemoryStore, registry: KindRegistry) -> Scheduler:
    runner = JobRunner(registry, Hub(), ResultStore(), store)
    runner.start()
    return Scheduler((EVERY_MINUTE,), runner, store)


def scheduled_jobs(store: MemoryStore) -> list:
    return [job for job in store.newest_first(None, 100, EVERYONE) if job.owner == SERVER.name]


def test_cron_times_are_utc_and_the_first_sight_of_a_schedule_starts_nothing(registry):
    assert EVERY_MINUTE.previous(NOON + 30) == NOON and EVERY_MINUTE.next(NOON + 30) == NOON + 60
    assert EVERY_MINUTE.previous(NOON) == NOON  # a due time that is now counts
    store = MemoryStore(QueueLimits(1, 100))
    scheduler = scheduler_on(store, registry)
    scheduler.fire_if_due(EVERY_MINUTE, NOON + 1)
    assert scheduled_jobs(store) == []
    scheduler.fire_if_due(EVERY_MINUTE, NOON + 61)
    (job,) = scheduled_jobs(store)
    assert (job.kind, job.params) == ("tick", {"note": "scheduled"})


def test_two_processes_start_one_job_per_due_time_and_downtime_brings_one_catch_up_run(registry, tmp_path: Path):
    path = str(tmp_path / "jobs.sqlite3")
    store = MemoryStore(QueueLimits(1, 100), SqliteJournal(path))
    first, second = scheduler_on(store, registry), scheduler_on(store, registry)
    for now in (NOON + 1, NOON + 61, NOON + 62, NOON + 121):
        first.fire_if_due(EVERY_MINUTE, now)
        second.fire_if_due(EVERY_MINUTE, now)
    assert len(scheduled_jobs(store)) == 2  # the due times NOON + 60 and NOON + 120
    store.close()
    again = MemoryStore(QueueLimits(1, 100), SqliteJournal(path))  # down for ten minutes
    scheduler_on(again, registry).fire_if_due(EVERY_MINUTE, NOON + 60 * 12 + 5)
    scheduler_on(again, registry).fire_if_due(EVERY_MINUTE, NOON + 60 * 12 + 6)
    assert len(scheduled_jobs(again)) == 3  # one catch-up run, not ten
    again.close()


@pytest.mark.parametrize("expression", ["0 * * * *", "*/15 9-17 * * 1-5", "* * * * * */2"])
def test_standard_cron_is_accepted(expression):
    assert check_cron(expression) == expression


@pytest.mark.parametrize("expression", ["hourly", "* * *", "61 * * * *", "* * * * * * * *"])
def test_anything_else_is_refused(expression):
    with pytest.raises(ValueError, match="five fields"):
        check_cron(expression)


def test_a_schedule_fires_exactly_once_per_due_time_with_three_workers(server_factory, redis_server):  # noqa: F811
    server = server_factory({"REDIS_URL": redis_server.url, "CLEANUP_CRON": "* * * * * */1"},
                            args=("--workers", "3"))
    client = server.client()
    time.sleep(4.5)
    jobs = [job for job in client.get("/api/jobs?limit=1000").json()["jobs"] if job["kind"] == "cleanup"]
    seconds = Counter(job["created_at"][:19] for job in jobs)
    assert len(jobs) >= 3 and max(seconds.values()) == 1, seconds
    schedules = client.get("/api/schedules").json()["schedules"]
    assert [(entry["name"], entry["cron"]) for entry in schedules] == [("cleanup", "* * * * * */1")]
    assert datetime.fromisoformat(schedules[0]["next_run_at"].replace("Z", "+00:00")).timestamp() > time.time() - 1


def test_a_schedule_of_no_kind_stops_the_start():
    from progress.service import InvalidSchedule, ProgressService, ServiceOptions

    with pytest.raises(InvalidSchedule, match="schedule nightly: There is no job kind named"):
        ProgressService(KindRegistry(), ServiceOptions(schedules=(Schedule("nightly", "nope", "0 3 * * *"),)))
