"""Store: no-op jobs per second through the job store, memory against SQLite, and loop lag while 200 jobs change state together.

    .venv/bin/python -m bench.store --jobs 5000 --submitters 64 --together 200 --rounds 5 \\
        --out bench/results/store.json

Throughput: `submitters` keep-alive connections POST `sleep` jobs of 0 seconds and 1 step as
fast as the server answers; jobs per second counts from the first submit to the last terminal
`state` on one `/api/events` stream. `submit_p99_ms` is the 202's round trip, which holds the
commit when the store is on disk (a 202 means the job is on disk).
Loop lag: rounds of `together` one-second jobs submitted at once, so they go queued, running
and succeeded together; the lag is the server's own monitor, read as bench/looplag.py does,
once over the submit burst and once from the last 202 until the jobs all ended.
Each store gets one server (`JOBS_CONCURRENCY` = `together`) and a fresh data folder, in one run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time

import httpx

from . import servers
from .http_client import HTTPConnection
from .looplag import lag_buckets, phase
from .report import arguments, busy, percentile, print_table, save
from .sse_client import STATE, TERMINAL, Stream, close_all, open_streams, run, wait_until

STORES = {"memory": {"JOBS_DB": ":memory:"}, "sqlite": {}}
"""SQLite is the default store: no `JOBS_DB`, so `<DATA_DIR>/jobs.sqlite3`."""


def noop_job(seconds: float) -> dict[str, object]:
    """A job whose own work costs nothing, so what is measured is the store and the runner."""
    return {"kind": "sleep", "params": {"seconds": seconds, "steps": 1}}


class Finished:
    """Counts the terminal `state` events one `/api/events` stream receives."""

    def __init__(self) -> None:
        self.count = 0
        self.failed = 0

    def on_event(self, stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        if kind != b"state":
            return
        state = STATE.search(data)[1]  # type: ignore[index]
        if state in TERMINAL:
            self.count += 1
            self.failed += state != b"succeeded"


async def watch_finishing(port: int) -> tuple[Finished, list[Stream]]:
    """One stream of every job, so the end of each job is learnt without polling the server."""
    finished = Finished()
    streams = await open_streams(port, [("/api/events", None)], finished.on_event)
    if not streams:
        raise RuntimeError("could not open /api/events")
    return finished, streams


async def submit_all(port: int, jobs: int, submitters: int, job: dict[str, object]) -> list[float]:
    """Submit `jobs` jobs over `submitters` connections, each sending its next as soon as it has
    its 202; returns every 202's round trip in seconds."""
    left = [jobs]
    round_trips: list[float] = []

    async def submitter() -> None:
        client = HTTPConnection(port)
        try:
            while left[0] > 0:
                left[0] -= 1
                sent = time.perf_counter()
                status, answer = await client.request("POST", "/api/jobs", job)
                if status != 202:
                    raise RuntimeError(f"job refused: {status} {answer}")
                round_trips.append(time.perf_counter() - sent)
        finally:
            client.close()

    await asyncio.gather(*(submitter() for _ in range(min(submitters, jobs))))
    return round_trips


async def throughput(server: servers.BenchServer, store: str, jobs: int, submitters: int) -> dict[str, object]:
    finished, streams = await watch_finishing(server.port)
    before, own, started = server.cost(), servers.load_generator_cpu_s(), time.perf_counter()
    round_trips = await submit_all(server.port, jobs, submitters, noop_job(0))
    await wait_until(lambda: finished.count >= jobs, deadline_s=60 + jobs / 100)
    wall, own = time.perf_counter() - started, servers.load_generator_cpu_s() - own
    cpu_s = server.cost().cpu_s - before.cpu_s
    close_all(streams)
    return {"store": store, "jobs": jobs, "submitters": submitters, "finished": finished.count,
            "failed": finished.failed, "jobs_per_s": finished.count / wall,
            "submit_p50_ms": percentile(round_trips, 50) * 1000, "submit_p99_ms": percentile(round_trips, 99) * 1000,
            "server_cpu_ms_per_job": cpu_s * 1000 / max(finished.count, 1), "loadgen_cpu": busy(own, wall)}


async def lag_while_together(server: servers.BenchServer, store: str, together: int, rounds: int,
                             seconds: float) -> list[dict[str, object]]:
    """Two windows per round: the submit burst (`together` POSTs at once, so their HTTP handling
    too), and from the last 202 until every job ended (the jobs' own state changes, together)."""
    rows = []
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        await lag_buckets(client)  # the first scrape starts the monitor
        finished, streams = await watch_finishing(server.port)
        for n in range(1, rounds + 1):
            target = finished.count + together
            burst = asyncio.ensure_future(submit_all(server.port, together, together, noop_job(seconds)))
            rows.append(await phase(client, f"{store}: round {n}, {together} submits at once", burst))
            ending = asyncio.ensure_future(wait_until(lambda: finished.count >= target, deadline_s=seconds + 60))
            rows.append(await phase(client, f"{store}: round {n}, the {together} jobs end together", ending))
            if not ending.result():
                raise TimeoutError(f"{target - finished.count} of {together} jobs did not finish")
        close_all(streams)
    return rows


def measure_store(store: str, jobs: int, submitters: int, together: int, rounds: int,
                  seconds: float) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Both figures for one store, on a server of its own in a data folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"bench-store-{store}-") as data_dir:
        env = {"DATA_DIR": data_dir, "JOBS_CONCURRENCY": str(together), "JOBS_QUEUE_SIZE": "1000000",
               **STORES[store]}
        server = servers.start("ours", env)
        try:
            speed = run(lambda: throughput(server, store, jobs, submitters))
            lag = run(lambda: lag_while_together(server, store, together, rounds, seconds))
        finally:
            server.stop()
    return speed, lag  # type: ignore[return-value]


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--stores", default=",".join(STORES), help="which stores, in order")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--submitters", type=int, default=64)
    parser.add_argument("--together", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="how long each job of a round runs")
    options = parser.parse_args()
    if options.smoke:
        options.jobs, options.submitters, options.together, options.rounds, options.seconds = 40, 4, 10, 1, 0.2
    servers.prepare_load_generator()
    speeds, lags = [], []
    for store in options.stores.split(","):
        speed, lag = measure_store(store, options.jobs, options.submitters, options.together,
                                   options.rounds, options.seconds)
        speeds.append(speed)
        lags.extend(lag)
    print_table("Store: no-op jobs from submit to succeeded", speeds)
    print_table("Loop lag while jobs change state together (server monitor; percentiles are bucket bounds)", lags)
    save(options.out, "store", speeds, looplag=lags)


if __name__ == "__main__":
    main()
