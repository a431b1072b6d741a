"""State burst: loop lag in one process while 200 jobs change state together, per store.

    .venv/bin/python -m bench.state_burst --jobs 200 --rounds 10 --out bench/results/state_burst.json

No HTTP: the runner, the store and one `/api/events` subscriber run in this process, so
what is measured is the store's and the runner's own share of the loop (bench/store.py
measures the same through a server, where the submit burst's HTTP handling dominates).
Each round submits `jobs` `sleep` jobs of one step, which then start, report and succeed
within the same few milliseconds; a greenlet ticking every 5 ms records how late it wakes.
"""

from __future__ import annotations

import os
import tempfile
import time

import gevent

from progress.hub import Hub
from progress.memory_store import MemoryStore
from progress.registry import default_registry
from progress.results import ResultStore
from progress.runner import JobRunner
from progress.sqlite_journal import SqliteJournal
from progress.store import QueueLimits

from .report import arguments, percentile, print_table, save

TICK_S = 0.005


class LagTicker:
    """How late a 5 ms sleep wakes, sample by sample, while `recording`."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.recording = False
        self._greenlet = gevent.spawn(self._tick)

    def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            gevent.sleep(TICK_S)
            if self.recording:
                self.samples.append(time.perf_counter() - before - TICK_S)

    def stop(self) -> None:
        self._greenlet.kill()


def runner_on(store_name: str, folder: str, jobs: int) -> JobRunner:
    journal = SqliteJournal(os.path.join(folder, "jobs.sqlite3")) if store_name == "sqlite" else None
    hub = Hub()
    hub.subscribe()  # one /api/events reader, whose mailbox takes every event
    runner = JobRunner(default_registry, hub, ResultStore(os.path.join(folder, "results")),
                       MemoryStore(QueueLimits(jobs, jobs), journal), concurrency=jobs)
    runner.start()
    return runner


def measure(store_name: str, jobs: int, rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"bench-burst-{store_name}-") as folder:
        runner = runner_on(store_name, folder, jobs)
        ticker = LagTicker()
        started = time.perf_counter()
        for _ in range(rounds):
            ids = [runner.submit("sleep", {"seconds": 0.2, "steps": 1}).id for _ in range(jobs)]
            ticker.recording = True
            while not all(runner.get(job_id).terminal for job_id in ids):
                gevent.sleep(0.05)
            ticker.recording = False
        ticker.stop()
        runner.shutdown(grace=0)
    lags_ms = [lag * 1000 for lag in ticker.samples]
    return {"phase": f"{store_name}: {rounds} x {jobs} jobs end together", "lag_samples": len(lags_ms),
            "lag_p50_ms": percentile(lags_ms, 50), "lag_p99_ms": percentile(lags_ms, 99),
            "lag_max_ms": max(lags_ms, default=0.0), "seconds": time.perf_counter() - started}


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()
    if options.smoke:
        options.jobs, options.rounds = 20, 1
    import progress.kinds  # noqa: F401 - registers `sleep`
    rows = [measure(store, options.jobs, options.rounds) for store in options.stores.split(",")]
    print_table("Loop lag in one process while jobs change state together (5 ms ticker)", rows)
    save(options.out, "state_burst", rows)


if __name__ == "__main__":
    main()
