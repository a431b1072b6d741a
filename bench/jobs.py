"""Jobs: K jobs of 100 steps, each watched by its own stream, or by polling every 500 ms.

    .venv/bin/python -m bench.jobs --jobs 50,200 --seconds 1,10 --out bench/results/jobs.json

Lateness is when the client learns the job ended, minus the job's `created_at` plus its
nominal duration: what a person waiting at the page feels, on the server's clock (the
load generator runs on the same machine), so a busy load generator does not inflate it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from . import servers
from .http_client import HTTPConnection
from .report import arguments, busy, percentile, print_table, save
from .sse_client import STATE, TERMINAL, WALL_OFFSET, Stream, close_all, open_streams, run, wait_until

POLL_EVERY_S = 0.5


async def submit(client: HTTPConnection, seconds: float) -> tuple[str, float]:
    """The new job's id and when it is due to end (wall clock)."""
    status, job = await client.request("POST", "/api/jobs", {"kind": "sleep", "params": {"seconds": seconds, "steps": 100}})
    if status != 202:
        raise RuntimeError(f"job refused: {status} {job}")
    created = job["created_at"]  # ours: RFC 3339; the baseline's: epoch seconds
    created = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() if isinstance(created, str) else created
    return job["id"], created + seconds


async def watched(server: servers.BenchServer, jobs: int, seconds: float) -> tuple[list[float], int]:
    """Lateness of each job's terminal event on its own stream, and the requests made."""
    due: dict[str, float] = {}
    lateness: list[float] = []

    def on_event(stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        if kind in (b"state", b"snapshot") and STATE.search(data)[1] in TERMINAL:
            lateness.append(now + WALL_OFFSET - due[stream.tag])  # type: ignore[index]

    async def one() -> list[Stream]:
        client = HTTPConnection(server.port)
        job_id, due[job_id] = await submit(client, seconds)
        client.close()
        return await open_streams(server.port, [(f"/api/jobs/{job_id}/events", job_id)], on_event)

    streams = [s for batch in await asyncio.gather(*(one() for _ in range(jobs))) for s in batch]
    await wait_until(lambda: len(lateness) >= jobs, deadline_s=seconds * 3 + 30)
    close_all(streams)
    return lateness, 2 * jobs


async def polled(server: servers.BenchServer, jobs: int, seconds: float) -> tuple[list[float], int]:
    """The same work watched the Celery way: GET the job every 500 ms until it is terminal."""
    requests = [0]

    async def one() -> float | None:
        client = HTTPConnection(server.port)
        try:
            job_id, due = await submit(client, seconds)
            requests[0] += 1
            deadline = time.monotonic() + seconds * 3 + 30
            while time.monotonic() < deadline:
                await asyncio.sleep(POLL_EVERY_S)
                requests[0] += 1
                job = (await client.request("GET", f"/api/jobs/{job_id}"))[1]
                if job["state"].encode() in TERMINAL:
                    return time.time() - due
            return None
        finally:
            client.close()

    lateness = [late for late in await asyncio.gather(*(one() for _ in range(jobs))) if late is not None]
    return lateness, requests[0]


async def measure(server: servers.BenchServer, how: str, jobs: int, seconds: float) -> dict[str, object]:
    before, wall, own = server.cost(), time.perf_counter(), servers.load_generator_cpu_s()
    if how == "stream":
        lateness, requests = await watched(server, jobs, seconds)
    else:
        lateness, requests = await polled(server, jobs, seconds)
    after, wall, own = server.cost(), time.perf_counter() - wall, servers.load_generator_cpu_s() - own
    return {
        "server": server.name, "watched_by": how, "jobs": jobs, "seconds": seconds, "finished": len(lateness),
        "late_p50_ms": percentile(lateness, 50) * 1000, "late_p99_ms": percentile(lateness, 99) * 1000,
        "server_cpu_s": after.cpu_s - before.cpu_s, "requests": requests, "loadgen_cpu": busy(own, wall),
    }


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", default="50,200")
    parser.add_argument("--seconds", default="1,10")
    parser.add_argument("--polling", default="ours", help="servers also measured with polling clients")
    options = parser.parse_args()
    jobs = [3, 10] if options.smoke else [int(n) for n in options.jobs.split(",")]
    durations = [0.3] if options.smoke else [float(s) for s in options.seconds.split(",")]
    servers.prepare_load_generator()
    rows: list[dict[str, object]] = []
    for name in options.servers.split(","):
        server = servers.start(name, {"JOBS_CONCURRENCY": str(max(jobs))})
        ways = ("stream", "poll") if name in options.polling.split(",") else ("stream",)
        try:
            for seconds in durations:
                for k in jobs:
                    for how in ways:
                        rows.append(run(lambda: measure(server, how, k, seconds)))  # type: ignore[arg-type]
        finally:
            server.stop()
    print_table("Jobs: K jobs of 100 steps, terminal-event lateness", rows)
    save(options.out, "jobs", rows)


if __name__ == "__main__":
    main()
