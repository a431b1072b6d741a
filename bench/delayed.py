"""Delayed jobs: 10,000 jobs waiting for their `run_at` a second apart hold no greenlet each,
cost little memory, and start on time.

    .venv/bin/python -m bench.delayed --jobs 10000 --spacing-s 1 --observe-s 30 \\
        --out bench/results/delayed.json

Submits `jobs` no-op jobs (`sleep` of 0 s) with `delay_s` = `lead_s` + i * `spacing_s`, reads
the worker's RSS and live greenlets (`/metrics?greenlets=1`) before and after, then watches
`/api/events` for `observe_s` seconds: each job that started meanwhile is late by its
`started_at` minus its `run_at` (the server's clock on both). The rest are cancelled.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx

from . import servers
from .http_client import HTTPConnection
from .report import arguments, percentile, print_table, save

SUBMITTERS = 32


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


async def greenlets(client: httpx.AsyncClient) -> int:
    for line in (await client.get("/metrics?greenlets=1")).text.splitlines():
        if line.startswith("progress_greenlets "):
            return int(float(line.split()[1]))
    raise RuntimeError("the server's /metrics has no greenlet count")


async def submit_spaced(port: int, jobs: int, lead_s: float, spacing_s: float) -> None:
    """`SUBMITTERS` keep-alive connections, each taking every SUBMITTERS-th rung of the ladder."""

    async def submit(numbers: range) -> None:
        connection = HTTPConnection(port)
        try:
            for number in numbers:
                status, answer = await connection.request("POST", "/api/jobs", {
                    "kind": "sleep", "params": {"seconds": 0, "steps": 1}, "delay_s": lead_s + number * spacing_s})
                if status != 202:
                    raise RuntimeError(f"job refused: {status} {answer}")
        finally:
            connection.close()

    await asyncio.gather(*(submit(range(start, jobs, SUBMITTERS)) for start in range(SUBMITTERS)))


async def measure(server: servers.BenchServer, jobs: int, spacing_s: float, observe_s: float,
                  lead_s: float) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        rss_before, greenlets_before = server.cost().rss, await greenlets(client)
        started = time.perf_counter()
        await submit_spaced(server.port, jobs, lead_s, spacing_s)
        submit_s = time.perf_counter() - started
        rss_after, greenlets_after = server.cost().rss, await greenlets(client)
        await asyncio.sleep(lead_s + observe_s - submit_s)
        ran = (await client.get("/api/jobs?state=succeeded&limit=1000")).json()["jobs"]
        lateness_ms = [(epoch(job["started_at"]) - epoch(job["run_at"])) * 1000 for job in ran]
        waiting = (await client.get("/healthz")).json()["jobs"]["queued"]
    return {"phase": f"{jobs} jobs {spacing_s:g} s apart", "submit_s": submit_s,
            "kb_per_waiting_job": (rss_after - rss_before) / 1024 / jobs,
            "greenlets_before": greenlets_before, "greenlets_waiting": greenlets_after,
            "started": len(ran), "late_p50_ms": percentile(lateness_ms, 50),
            "late_p99_ms": percentile(lateness_ms, 99), "late_max_ms": max(lateness_ms, default=0.0),
            "still_waiting": waiting}


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--spacing-s", type=float, default=1.0)
    parser.add_argument("--observe-s", type=float, default=30.0)
    parser.add_argument("--lead-s", type=float, default=20.0, help="the first job's delay: time to submit them all")
    options = parser.parse_args()
    if options.smoke:
        options.jobs, options.spacing_s, options.observe_s, options.lead_s = 40, 0.05, 2.0, 1.0
    servers.prepare_load_generator()
    server = servers.start("ours", {"JOBS_QUEUE_SIZE": str(options.jobs + 10), "LIMIT_QUEUED_PER_OWNER": "0",
                                    "LIMIT_JOBS_PER_MINUTE": "0"})
    try:
        row = asyncio.run(measure(server, options.jobs, options.spacing_s, options.observe_s, options.lead_s))
    finally:
        server.stop()
    print_table("Delayed jobs: memory and greenlets while they wait, lateness when they start", [row])
    save(options.out, "delayed", [row])


if __name__ == "__main__":
    main()
