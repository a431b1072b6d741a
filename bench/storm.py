"""Reconnect storm: N streams on `/api/events` cut at once, all reconnecting with `Last-Event-ID`.

    .venv/bin/python -m bench.storm --streams 10000 --out bench/results/storm.json

What a restart or a network blip does to a server: every client's socket goes at once and
every `EventSource` comes back with the last id it saw. Each stream first takes its snapshot;
then a job runs start to end while all are still open (every stream must get its three
`state` events: that is also the check that all were live). Then every client socket is
reset at once and reopened with `Last-Event-ID` set to its snapshot's id, so each resume
must send that job's missed `state` events, which also marks the moment it is live again.
Printed: time from the cut until every stream is live again, each stream's reconnect time,
the server's CPU per stream reopened, and whether every resume got exactly the missed
events and a new job's event after it.
"""

from __future__ import annotations

import time
from collections import defaultdict

import httpx

from . import servers
from .report import arguments, busy, percentile, print_table, save
from .sse_client import JOB_ID, OnEvent, Stream, close_all, open_streams, run, wait_until


class Resuming(Stream):
    """A stream that sends the id in its tag as `Last-Event-ID`, as `EventSource` does on reconnect."""

    __slots__ = ()

    def request(self, extra_headers: str = "") -> bytes:
        return super().request(f"Last-Event-ID: {self.tag}\r\n{extra_headers}")


class States:
    """The `state` event ids each stream got, by job id."""

    def __init__(self) -> None:
        self.ids: dict[bytes, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.snapshot_id: dict[int, int] = {}

    def on_event(self, stream: Stream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        if kind == b"snapshot":
            self.snapshot_id[id(stream)] = event_id
        elif kind == b"state" and (job_id := JOB_ID.search(data)):
            self.ids[job_id[1]][id(stream)].append(event_id)

    def reached(self, job_id: bytes, streams: list[Stream], count: int) -> int:
        """Streams that got `count` state events of the job."""
        seen = self.ids[job_id]
        return sum(1 for stream in streams if len(seen[id(stream)]) >= count)


async def run_job(client: httpx.AsyncClient) -> bytes:
    """A job that ends at once: three `state` events (queued, running, succeeded)."""
    answer = await client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0, "steps": 1}})
    answer.raise_for_status()
    return answer.json()["id"].encode()


async def measure(server: servers.BenchServer, streams: int, in_flight: int) -> dict[str, object]:
    states = States()
    on_event: OnEvent = states.on_event
    warm = await open_streams(server.port, [("/api/events", None)] * 20)
    close_all(warm)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        held = await open_streams(server.port, [("/api/events", n) for n in range(streams)], on_event,
                                  in_flight=200, deadline_s=180)
        missed_job = await run_job(client)
        await wait_until(lambda: states.reached(missed_job, held, 3) >= len(held), deadline_s=60)
        live_before = states.reached(missed_job, held, 3)
        expected = {tuple(states.ids[missed_job][id(stream)]) for stream in held}
        resume_ids = [states.snapshot_id[id(stream)] for stream in held]
        before, own = server.cost(), servers.load_generator_cpu_s()
        cut_at = time.perf_counter()
        close_all(held)
        back = await open_streams(server.port, [("/api/events", resume_id) for resume_id in resume_ids], on_event,
                                  in_flight=in_flight, deadline_s=180, make=Resuming)
        after, own, wall = server.cost(), servers.load_generator_cpu_s() - own, time.perf_counter() - cut_at
        reconnect_ms = [(stream.first_event_at - cut_at) * 1000 for stream in back]  # type: ignore[operator]
        exact = sum(1 for stream in back if tuple(states.ids[missed_job][id(stream)]) in expected
                    and states.snapshot_id.get(id(stream)) is None)
        live_job = await run_job(client)
        await wait_until(lambda: states.reached(live_job, back, 1) >= len(back), deadline_s=60)
        live_after = states.reached(live_job, back, 1)
    close_all(back)
    return {
        "server": server.name, "streams": len(held), "live_before_cut": live_before, "in_flight": in_flight,
        "reopened": len(back), "all_live_s": max(reconnect_ms, default=float("nan")) / 1000,
        "reconnect_p50_ms": percentile(reconnect_ms, 50), "reconnect_p99_ms": percentile(reconnect_ms, 99),
        "cpu_per_reopen_us": (after.cpu_s - before.cpu_s) / max(len(back), 1) * 1e6,
        "resumed_exactly": exact, "live_at_end": live_after,
        "loadgen_cpu": busy(own, wall),
    }


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.set_defaults(servers="ours")
    parser.add_argument("--streams", type=int, default=10000, help="streams held, then cut and reopened")
    parser.add_argument("--in-flight", type=int, default=1000,
                        help="reconnects waiting for their first event at once (browsers reconnect together; "
                             "beyond the listen backlog the kernel drops connection attempts, retried a second later)")
    options = parser.parse_args()
    streams = 50 if options.smoke else options.streams
    servers.prepare_load_generator()
    rows = servers.on_each(options.servers,
                           lambda server: [run(lambda: measure(server, streams, options.in_flight))])  # type: ignore[arg-type, list-item]
    print_table(f"Reconnect storm: {streams} streams cut at once, reopened with Last-Event-ID", rows)
    save(options.out, "storm", rows)


if __name__ == "__main__":
    main()
