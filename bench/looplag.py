"""Loop lag: the event loop's lag while the heaviest kind runs and 1,000 streams are open.

    .venv/bin/python -m bench.looplag --streams 1000 --kind report --params '{"rows": 2000000}' \\
        --out bench/results/looplag.json

The lag comes from the server's own monitor (`/metrics`, a greenlet that sleeps 50 ms);
its percentiles are the histogram's bucket bounds, so "p99 5 ms" means at most 5 ms.
`/healthz` is also timed from outside every 100 ms, the delay a person's request feels.
Only our server has the monitor: the baseline has no kinds to run.
"""

from __future__ import annotations

import asyncio
import json
import math
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from . import servers
from .report import arguments, busy, percentile, print_table, save
from .sse_client import close_all, open_streams, run

LAG = "progress_event_loop_lag_seconds"


async def lag_buckets(client: httpx.AsyncClient) -> dict[float, float]:
    """The lag histogram's cumulative buckets: {upper bound: observations at or below}."""
    text = (await client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        if family.name == LAG:
            return {float(s.labels["le"]): s.value for s in family.samples if s.name == f"{LAG}_bucket"}
    raise RuntimeError("the server's /metrics has no loop-lag histogram")


def bucket_percentile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The smallest bucket bound holding q % of the observations made between two scrapes."""
    counts = {bound: after[bound] - before.get(bound, 0) for bound in sorted(after)}
    total = counts[math.inf]
    for bound, count in counts.items():
        if total and count >= q / 100 * total:
            return bound
    return math.nan


async def phase(client: httpx.AsyncClient, name: str, until: asyncio.Future | float) -> dict[str, object]:
    """Time `/healthz` every 100 ms and read the monitor's lag until `until` is done (or for `until` s)."""
    before, started = await lag_buckets(client), time.perf_counter()
    own = servers.load_generator_cpu_s()
    healthz: list[float] = []
    deadline = started + until if isinstance(until, float) else math.inf
    while time.perf_counter() < deadline and not (isinstance(until, asyncio.Future) and until.done()):
        sent = time.perf_counter()
        await client.get("/healthz")
        healthz.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(0.1)
    after, wall = await lag_buckets(client), time.perf_counter() - started
    return {"phase": name, "seconds": wall, "lag_samples": after[math.inf] - before.get(math.inf, 0),
            "lag_p50_ms": bucket_percentile(before, after, 50) * 1000,
            "lag_p99_ms": bucket_percentile(before, after, 99) * 1000,
            "lag_max_ms": bucket_percentile(before, after, 100) * 1000,
            "healthz_p50_ms": percentile(healthz, 50), "healthz_p99_ms": percentile(healthz, 99),
            "healthz_max_ms": max(healthz, default=math.nan), "loadgen_cpu": busy(servers.load_generator_cpu_s() - own, wall)}


async def wait_terminal(client: httpx.AsyncClient, job_id: str, deadline_s: float) -> dict:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        job = (await client.get(f"/api/jobs/{job_id}")).json()
        if job["state"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.5)
    raise TimeoutError(f"job {job_id} did not finish within {deadline_s} s")


async def measure(server: servers.BenchServer, streams: int, kind: str, params: dict, deadline_s: float) -> list[dict]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        await lag_buckets(client)  # the first scrape starts the monitor
        held = await open_streams(server.port, [("/api/events", None)] * streams)
        idle = await phase(client, f"idle, {len(held)} streams", 3.0)
        idle.update(job_state="", events_per_stream=0.0)
        response = await client.post("/api/jobs", json={"kind": kind, "params": params})
        if response.status_code != 202:
            raise RuntimeError(f"cannot start {kind} with {params}: {response.text}")
        job = response.json()
        received = sum(s.events for s in held)
        finished = asyncio.ensure_future(wait_terminal(client, job["id"], deadline_s))
        busy_row = await phase(client, f"{kind} {json.dumps(params)} running, {len(held)} streams", finished)
        busy_row["job_state"] = finished.result()["state"]
        busy_row["events_per_stream"] = (sum(s.events for s in held) - received) / max(len(held), 1)
        close_all(held)
    return [idle, busy_row]


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.set_defaults(servers="ours")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--kind", default="report", help="the job kind to run (the heaviest shipped one)")
    parser.add_argument("--params", default='{"rows": 2000000}', help="its params, as JSON")
    parser.add_argument("--deadline-s", type=float, default=600.0)
    options = parser.parse_args()
    streams = 20 if options.smoke else options.streams
    params = {"rows": 1000} if options.smoke and options.kind == "report" else json.loads(options.params)
    servers.prepare_load_generator()
    rows: list[dict[str, object]] = []
    server = servers.start("ours")
    try:
        rows += run(lambda: measure(server, streams, options.kind, params, options.deadline_s))  # type: ignore[operator]
    finally:
        server.stop()
    print_table("Loop lag (server monitor, 50 ms sleeps; percentiles are bucket bounds)", rows)
    save(options.out, "looplag", rows)


if __name__ == "__main__":
    main()
