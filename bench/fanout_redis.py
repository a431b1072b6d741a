"""Fan-out across two workers on Redis, against one in-memory worker (issue #7).

    .venv/bin/python -m bench.fanout_redis --subscribers 100,1000 --rates 50,0

Same measure as `bench.fanout` (one job's stream, N subscribers); the subscribers land on
whichever worker accepts them. The server's cost is the CPU of every worker plus, for the
Redis rows, redis-server's own: all of it pinned to the server core.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

import psutil
import redis

from . import servers
from .fanout import measure, reports_per_run
from .report import arguments, print_table, save
from .sse_client import run

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class Deployment:
    """A gunicorn master with its workers, maybe a redis-server; `cost()` sums them."""

    name: str
    server: servers.BenchServer
    extra: list[psutil.Process]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def cost(self) -> servers.Cost:
        processes = psutil.Process(self.server.process.pid).children() + self.extra
        times = [process.cpu_times() for process in processes]
        return servers.Cost(sum(t.user + t.system for t in times),
                            sum(process.memory_info().rss for process in processes))


def start_redis(folder: str) -> subprocess.Popen:
    port = servers.free_port()
    command = ["taskset", "-c", str(servers.SERVER_CORE), REDIS_SERVER, "--port", str(port),
               "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder]
    if not shutil.which("taskset"):
        command = command[3:]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                               start_new_session=True)
    process.port = port  # type: ignore[attr-defined]
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.set_defaults(servers="memory,redis")
    parser.add_argument("--subscribers", default="100,1000")
    parser.add_argument("--rates", default="50,0", help="reports per second; 0 = as fast as possible")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fast-count", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="workers on Redis")
    options = parser.parse_args()
    subscribers = [10] if options.smoke else [int(n) for n in options.subscribers.split(",")]
    rates = [float(r) for r in options.rates.split(",")]
    servers.prepare_load_generator()
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    rows: list[dict[str, object]] = []
    try:
        for name in options.servers.split(","):
            deployment, redis_process = start(name, options.workers, folder)
            try:
                for n in subscribers:
                    for rate in rates:
                        count = reports_per_run(options, rate)
                        rows.append(run(lambda: measure(deployment, n, rate, count)))  # type: ignore[arg-type]
            finally:
                deployment.server.stop()
                if redis_process is not None:
                    redis_process.terminate()
                    redis_process.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print_table("Fan-out: one worker in memory, and several on Redis", rows)
    save(options.out, "fanout_redis", rows)


def start(name: str, workers: int, folder: str) -> tuple[Deployment, subprocess.Popen | None]:
    if name == "memory":
        return Deployment("1 worker, memory", servers.start("ours"), []), None
    redis_process = start_redis(folder)
    server = servers.start("ours", env={"REDIS_URL": f"redis://127.0.0.1:{redis_process.port}/0",
                                         "GUNICORN_CMD_ARGS": f"--workers {workers}"})
    return Deployment(f"{workers} workers, Redis", server, [psutil.Process(redis_process.pid)]), redis_process


if __name__ == "__main__":
    main()
