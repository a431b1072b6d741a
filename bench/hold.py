"""Hold: N streams on `/api/events` held open; connect time, RSS and CPU per stream, all live at the end.

    .venv/bin/python -m bench.hold --levels 1000,5000,10000,19000 --out bench/results/hold.json
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict

import httpx

from . import servers
from .report import arguments, busy, percentile, print_table, save
from .sse_client import Stream, close_all, open_streams, run, wait_until

JOB_ID = re.compile(rb'"id":"([^"]+)"')


async def measure(server: servers.BenchServer, levels: list[int], hold_s: float) -> list[dict[str, object]]:
    reached: dict[bytes, set[int]] = defaultdict(set)
    """Job id → the streams that got a `state` event of it; kept by id because a quick job's events
    may arrive before the POST that started it has answered."""

    def on_event(stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        if kind == b"state" and (job_id := JOB_ID.search(data)):
            reached[job_id[1]].add(id(stream))

    warm = await open_streams(server.port, [("/api/events", None)] * 20)
    close_all(warm)
    await asyncio.sleep(min(hold_s, 1.0))
    start = server.cost()
    held: list[Stream] = []
    rows = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for level in levels:
            before, wall, own = server.cost(), time.perf_counter(), servers.load_generator_cpu_s()
            batch = await open_streams(server.port, [("/api/events", None)] * (level - len(held)),
                                       on_event, deadline_s=120)
            opened_wall, own_cpu = time.perf_counter() - wall, servers.load_generator_cpu_s() - own
            after_open = server.cost()
            held += batch
            await asyncio.sleep(hold_s)
            settled = server.cost()
            job = (await client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0, "steps": 1}})).json()
            live = reached[job["id"].encode()]
            await wait_until(lambda: len(live) >= len(held), deadline_s=30)
            connect = [(s.first_event_at - s.started) * 1000 for s in batch]
            rows.append({
                "server": server.name, "streams": len(held), "asked": level,
                "connect_p50_ms": percentile(connect, 50), "connect_p99_ms": percentile(connect, 99),
                "rss_mib": settled.rss / 2**20,
                "rss_per_stream_kb": (settled.rss - start.rss) / max(len(held), 1) / 1000,
                "cpu_per_open_us": (after_open.cpu_s - before.cpu_s) / max(len(batch), 1) * 1e6,
                "live_at_end": len(live),
                "loadgen_cpu": busy(own_cpu, opened_wall),
            })
            if len(batch) < level - (len(held) - len(batch)):
                break  # the server refused more: no point asking for the next level
    close_all(held)
    return rows


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1000,5000,10000,19000", help="stream counts to reach, ascending")
    parser.add_argument("--hold-s", type=float, default=10.0, help="seconds held at each level before measuring")
    options = parser.parse_args()
    levels = [20, 50] if options.smoke else [int(n) for n in options.levels.split(",")]
    hold_s = 0.2 if options.smoke else options.hold_s
    servers.prepare_load_generator()
    levels = [n for n in levels if n < servers.open_file_limit() - 100]
    rows = servers.on_each(options.servers,
                           lambda server: run(lambda: measure(server, levels, hold_s)))  # type: ignore[arg-type, return-value]
    print_table(f"Hold: streams on /api/events, each level held {hold_s:g} s", rows)
    save(options.out, "hold", rows)


if __name__ == "__main__":
    main()
