"""Stream burst: N `/api/events` streams opened at once on several workers on Redis; every one
must stay open and get the next job's event (issue 14: load is not an outage).

    .venv/bin/python -m bench.stream_burst --streams 10000 --workers 2 --out bench/results/stream_burst.json

Starts redis-server and `gunicorn --workers N` itself, unless `--port` names a running server
(tests/test_redis_load.py runs a small burst that way and reads the JSON line it prints).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from . import servers
from .fanout_redis import start_redis
from .report import percentile, print_table, save
from .sse_client import JOB_ID, Stream, close_all, open_streams, run, wait_until

OPEN_DEADLINE_S = 180.0
EVENT_DEADLINE_S = 60.0


async def burst(port: int, streams: int, in_flight: int) -> dict[str, object]:
    """Open `streams` at once (at most `in_flight` awaiting their first event), then start a job and
    count the streams that got its `queued` event and those the server ended meanwhile."""
    reached: dict[bytes, set[int]] = defaultdict(set)
    """Job id → the streams that got a `state` event of it; by id, because the job's first event
    may reach a stream before the POST that started it has answered."""

    def on_event(stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        if kind == b"state" and (job_id := JOB_ID.search(data)):
            reached[job_id[1]].add(id(stream))

    started = time.perf_counter()
    opened = await open_streams(port, [("/api/events", None)] * streams, on_event, in_flight=in_flight,
                                deadline_s=OPEN_DEADLINE_S)
    open_s = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        job = (await client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0, "steps": 1}})).json()
    got = reached[job["id"].encode()]
    await wait_until(lambda: len(got) >= len(opened), deadline_s=EVENT_DEADLINE_S)
    ended = sum(1 for stream in opened if stream.transport is None or stream.transport.is_closing())
    connect = [(stream.first_event_at - stream.started) * 1000 for stream in opened]
    close_all(opened)
    return {"asked": streams, "opened": len(opened), "ended": ended, "got_next_event": len(got),
            "open_all_s": round(open_s, 2), "connect_p50_ms": percentile(connect, 50),
            "connect_p99_ms": percentile(connect, 99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--in-flight", type=int, default=0, help="opens awaiting their first event; 0: all at once")
    parser.add_argument("--port", type=int, help="a running server's port: only open the streams, print JSON")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool", type=int, default=0, help="REDIS_MAX_CONNECTIONS; 0: the default")
    parser.add_argument("--out", type=Path, help="where to save the figures as JSON (default: none)")
    options = parser.parse_args()
    servers.prepare_load_generator()
    in_flight = options.in_flight or options.streams
    if options.port:
        print(json.dumps(run(lambda: burst(options.port, options.streams, in_flight))))
        return
    row = measure_deployment(options.streams, in_flight, options.workers, options.pool)
    print_table(f"Stream burst: {options.streams} streams on /api/events opened at once", [row])
    save(options.out, "stream_burst", [row])


def measure_deployment(streams: int, in_flight: int, workers: int, pool: int) -> dict[str, object]:
    """The burst against a fresh redis-server and gunicorn, with what their logs said of it."""
    folder = tempfile.mkdtemp(prefix="bench-burst-")
    redis_process = start_redis(folder)
    env = {"REDIS_URL": f"redis://127.0.0.1:{redis_process.port}/0",  # type: ignore[attr-defined]
           "GUNICORN_CMD_ARGS": f"--workers {workers}", **({"REDIS_MAX_CONNECTIONS": str(pool)} if pool else {})}
    server = servers.start("ours", env=env)
    try:
        row = run(lambda: burst(server.port, streams, in_flight))
        log = server.log()
    finally:
        server.stop()
        redis_process.terminate()
        redis_process.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return {"workers": workers, "pool": pool or "default", **row,  # type: ignore[dict-item]
            "outage_lines": log.count("lost the job store"), "busy_lines": log.count("stayed busy")}


if __name__ == "__main__":
    main()
