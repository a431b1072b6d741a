"""Fan-out: N subscribers of one job's stream while it reports at a set rate, or as fast as it can.

    .venv/bin/python -m bench.fanout --subscribers 100,1000 --rates 50,0 --out bench/results/fanout.json

Rate 0 means as fast as the loop allows. Latency is the job's `time.time()` at the report
(carried in the event's message) to the client's `time.time()` at receipt, on one machine.
"""

from __future__ import annotations

import argparse
import time

import httpx

from . import servers
from .report import arguments, busy, percentile, print_table, save
from .sse_client import MESSAGE, STATE, TERMINAL, WALL_OFFSET, Stream, close_all, open_streams, run, wait_until


class Reader:
    """What one subscriber saw."""

    __slots__ = ("last_id", "progress", "states", "out_of_order", "ended")

    def __init__(self) -> None:
        self.last_id = 0
        self.progress = 0
        self.states: list[bytes] = []
        self.out_of_order = 0
        self.ended = False


async def measure(server: servers.BenchServer, subscribers: int, rate: float, count: int) -> dict[str, object]:
    latencies: list[float] = []
    stamps: list[float] = []
    arrivals = [float("inf"), 0.0]  # first and last delivery
    ended = [0]

    def on_event(stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        reader: Reader = stream.tag  # type: ignore[assignment]
        if event_id <= reader.last_id:
            reader.out_of_order += 1
        reader.last_id = event_id
        if kind != b"snapshot":
            arrivals[0] = min(arrivals[0], now)
            arrivals[1] = now
        if kind == b"progress":
            reader.progress += 1
            stamp = float(MESSAGE.search(data)[1])
            latencies.append(now + WALL_OFFSET - stamp)
            stamps.append(stamp)
        elif kind == b"state":
            state = STATE.search(data)[1]
            reader.states.append(state)
            if state in TERMINAL:
                reader.ended = True
                ended[0] += 1

    wait_s = 0.5 + subscribers / 300
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        job = (await client.post("/api/jobs", json={"kind": "bench_fanout", "params": {
            "rate": rate, "count": count, "wait_s": wait_s}})).json()
    posted = time.monotonic()
    streams = await open_streams(server.port, [(f"/api/jobs/{job['id']}/events", Reader()) for _ in range(subscribers)],
                                 on_event, deadline_s=wait_s)
    late = time.monotonic() > posted + wait_s
    before, wall, own = server.cost(), time.perf_counter(), servers.load_generator_cpu_s()
    await wait_until(lambda: ended[0] >= len(streams), deadline_s=wait_s + 30 + count / (rate or 50) * 3)
    after, wall, own = server.cost(), time.perf_counter() - wall, servers.load_generator_cpu_s() - own
    close_all(streams)
    readers: list[Reader] = [s.tag for s in streams]  # type: ignore[misc]
    deliveries = sum(r.progress + len(r.states) for r in readers)
    span = max(stamps) - min(stamps) if len(stamps) > 1 else float("nan")
    return {
        "server": server.name, "subscribers": len(streams), "rate": rate or "max", "events": count,
        "publisher_per_s": (count - 1) / span if span else float("nan"),
        "deliveries_per_s": deliveries / (arrivals[1] - arrivals[0]),
        "cpu_per_delivery_us": (after.cpu_s - before.cpu_s) / max(deliveries, 1) * 1e6,
        "latency_p50_ms": percentile(latencies, 50) * 1000, "latency_p99_ms": percentile(latencies, 99) * 1000,
        "progress_min": min((r.progress for r in readers), default=0),
        "out_of_order": sum(r.out_of_order for r in readers),
        "got_terminal": sum(r.states[-1:] == [b"succeeded"] for r in readers),
        "loadgen_cpu": busy(own, wall) + (" (some subscribers connected late)" if late else ""),
    }


def reports_per_run(options: argparse.Namespace, rate: float) -> int:
    """Reports one run publishes: `seconds` of them at `rate`, or `fast_count` as fast as possible."""
    if rate:
        return 20 if options.smoke else int(rate * options.seconds)
    return 50 if options.smoke else options.fast_count


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--subscribers", default="100,1000")
    parser.add_argument("--rates", default="50,0", help="reports per second; 0 = as fast as possible")
    parser.add_argument("--seconds", type=float, default=10.0, help="publishing time at a set rate")
    parser.add_argument("--fast-count", type=int, default=2000, help="reports when the rate is 0")
    options = parser.parse_args()
    subscribers = [10] if options.smoke else [int(n) for n in options.subscribers.split(",")]
    rates = [float(r) for r in options.rates.split(",")]
    servers.prepare_load_generator()
    rows: list[dict[str, object]] = []
    for name in options.servers.split(","):
        server = servers.start(name)
        try:
            for n in subscribers:
                for rate in rates:
                    count = reports_per_run(options, rate)
                    rows.append(run(lambda: measure(server, n, rate, count)))  # type: ignore[arg-type]
        finally:
            server.stop()
    print_table("Fan-out: subscribers of one job's stream", rows)
    save(options.out, "fanout", rows)


if __name__ == "__main__":
    main()
