"""Hold on Redis: N streams on `/api/events` across W workers, from a load generator in P processes.

    .venv/bin/python -m bench.hold_redis --streams 100000 --workers 6 --processes 8 --out bench/results/hold_redis.json

One process may hold 20,000 open files here (the hard limit), and one loopback source address
about 28,000 connections, so the streams come from P processes, each from addresses of its own
(127.0.0.x). Once all are open and held, one job runs; its first `state` event must reach
every stream. Printed: how long opening took, the server's CPU per stream opened (every worker
and redis-server), RSS per stream over all workers, how the streams spread over the workers
(each worker's connections on its port), and how late the event reached the streams, counted
from just before the job was submitted.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import subprocess
import tempfile
import time
from collections import defaultdict
from multiprocessing.connection import Connection

import httpx
import psutil

from . import servers
from .fanout_redis import Deployment, start_redis
from .report import arguments, percentile, print_table, save
from .sse_client import JOB_ID, WALL_OFFSET, Stream, close_all, open_streams, run, wait_until

ADDRESSES_PER_PROCESS = 4
"""Each load-generator process connects from its own four loopback addresses."""


async def hold(port: int, count: int, sources: list[str], parent: Connection) -> None:
    """One load-generator process: open `count` streams, report, then time the job's first
    `state` event on each and report the delays."""
    first_state: dict[bytes, dict[int, float]] = defaultdict(dict)

    def on_event(stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        if kind == b"state" and (job_id := JOB_ID.search(data)):
            first_state[job_id[1]].setdefault(id(stream), now + WALL_OFFSET)

    started = time.perf_counter()
    streams = await open_streams(port, [("/api/events", None)] * count, on_event, deadline_s=900, sources=sources)
    connect_ms = [(stream.first_event_at - stream.started) * 1000 for stream in streams]  # type: ignore[operator]
    parent.send((len(streams), time.perf_counter() - started, connect_ms))
    loop = asyncio.get_running_loop()
    job_id, published_at, wait_s = await loop.run_in_executor(None, parent.recv)
    reached = first_state[job_id]
    await wait_until(lambda: len(reached) >= len(streams), deadline_s=wait_s)
    parent.send([reached[id(stream)] - published_at for stream in streams if id(stream) in reached])
    await loop.run_in_executor(None, parent.recv)  # the parent has read every worker: let go
    close_all(streams)


def load_generator(port: int, count: int, sources: list[str], parent: Connection) -> None:
    run(lambda: hold(port, count, sources, parent))


def clients_of(worker: psutil.Process, port: int) -> int:
    """Connections a worker holds on the server's port."""
    return sum(1 for connection in worker.net_connections("tcp")
               if connection.laddr and connection.laddr.port == port and connection.status == psutil.CONN_ESTABLISHED)


def spread(counts: list[int]) -> float:
    """The largest distance of a worker's streams from the mean, as a share of the mean."""
    mean = sum(counts) / len(counts)
    return max(abs(count - mean) for count in counts) / mean if mean else 0.0


def measure(deployment: Deployment, streams: int, processes: int, hold_s: float, reuse_port: bool) -> dict[str, object]:
    workers = psutil.Process(deployment.server.process.pid).children()
    context = multiprocessing.get_context("fork")
    pipes, children = [], []
    for n in range(processes):
        ours, theirs = context.Pipe()
        sources = [f"127.0.{1 + n}.{1 + k}" for k in range(ADDRESSES_PER_PROCESS)]
        share = streams // processes + (1 if n < streams % processes else 0)
        child = context.Process(target=load_generator, args=(deployment.port, share, sources, theirs), daemon=True)
        child.start()
        pipes.append(ours)
        children.append(child)
    before = deployment.cost()
    reports = [pipe.recv() for pipe in pipes]
    opened = sum(report[0] for report in reports)
    after_open = deployment.cost()
    time.sleep(hold_s)
    held = deployment.cost()
    per_worker = [clients_of(worker, deployment.port) for worker in workers]
    published_at = time.time()
    job = httpx.post(f"{deployment.url}/api/jobs", json={"kind": "sleep", "params": {"seconds": 0, "steps": 1}},
                     timeout=60).json()
    for pipe in pipes:
        pipe.send((job["id"].encode(), published_at, 60.0))
    delays = [delay for pipe in pipes for delay in pipe.recv()]
    for pipe in pipes:
        pipe.send("done")
    for child in children:
        child.join(60)
    connect_ms = [ms for report in reports for ms in report[2]]
    return {
        "server": deployment.name, "reuse_port": reuse_port, "streams": opened, "asked": streams,
        "open_s": max(report[1] for report in reports), "connect_p99_ms": percentile(connect_ms, 99),
        "cpu_per_open_us": (after_open.cpu_s - before.cpu_s) / max(opened, 1) * 1e6,
        "rss_mib": held.rss / 2**20, "rss_per_stream_kb": (held.rss - before.rss) / max(opened, 1) / 1000,
        "per_worker_min": min(per_worker), "per_worker_max": max(per_worker), "spread": f"{spread(per_worker):.1%}",
        "reached": len(delays), "state_p50_s": percentile(delays, 50), "state_p99_s": percentile(delays, 99),
        "state_max_s": max(delays, default=float("nan")),
    }


def start(workers: int, reuse_port: bool, folder: str) -> tuple[Deployment, subprocess.Popen]:
    redis_process = start_redis(folder)
    args = f"--workers {workers}" + (" --reuse-port" if reuse_port else "")
    server = servers.start("ours", env={"REDIS_URL": f"redis://127.0.0.1:{redis_process.port}/0",  # type: ignore[attr-defined]
                                         "GUNICORN_CMD_ARGS": args}, boot_deadline=60)
    return Deployment(f"{workers} workers, Redis", server, [psutil.Process(redis_process.pid)]), redis_process


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=100000)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--processes", type=int, default=8, help="load-generator processes (at most ~19,000 streams each)")
    parser.add_argument("--hold-s", type=float, default=10.0, help="seconds held before the job runs")
    parser.add_argument("--accepts", default="reuse_port,shared",
                        help="how workers take connections: a listening socket each (gunicorn's reuse_port), "
                             "or one shared by all; one run each")
    options = parser.parse_args()
    streams, workers, processes = (300, 2, 2) if options.smoke else (options.streams, options.workers, options.processes)
    hold_s = 0.5 if options.smoke else options.hold_s
    servers.prepare_load_generator()
    rows: list[dict[str, object]] = []
    for accepts in options.accepts.split(","):
        folder = tempfile.mkdtemp(prefix="bench-hold-redis-")
        deployment, redis_process = start(workers, accepts == "reuse_port", folder)
        try:
            rows.append(measure(deployment, streams, processes, hold_s, accepts == "reuse_port"))
        finally:
            deployment.server.stop()
            redis_process.terminate()
            redis_process.wait()
            shutil.rmtree(folder, ignore_errors=True)
    print_table(f"Hold on Redis: {streams} streams on /api/events, {workers} workers, {processes} client processes",
                rows)
    save(options.out, "hold_redis", rows)


if __name__ == "__main__":
    main()
