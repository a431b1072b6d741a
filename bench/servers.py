"""Start a server under test pinned to core 0 (the load generator keeps core 1) and read its cost.

Both servers run under the same gunicorn settings: ours with `gunicorn.conf.py`, the baseline
with `bench/baseline/gunicorn.conf.py`, which copies them.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONFIGS = {"ours": ROOT / "gunicorn.conf.py", "baseline": ROOT / "bench" / "baseline" / "gunicorn.conf.py"}
OPEN_FILES = 65536
"""Every stream is a socket on both sides; 19,000 streams need well over the usual 1,024 or 20,000."""

UNLIMITED = {"LIMIT_STREAMS_PER_OWNER": "0", "LIMIT_QUEUED_PER_OWNER": "0", "LIMIT_JOBS_PER_MINUTE": "0",
             "LIMIT_RUNNING_PER_OWNER": "0"}
"""One load generator is one owner: the per-owner abuse limits would stop it at 100 streams."""

SERVER_CORE = 0
LOADGEN_CORE = 1


def prepare_load_generator() -> None:
    """Pin this process to its own core and raise its open-file limit (root may raise the hard one)."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() > LOADGEN_CORE:
        os.sched_setaffinity(0, {LOADGEN_CORE})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, max(hard, OPEN_FILES)))
    except (ValueError, PermissionError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def open_file_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cost:
    """A worker's CPU seconds and resident memory at one moment."""

    cpu_s: float
    rss: int


@dataclass
class BenchServer:
    """One gunicorn (master + one gevent worker) on 127.0.0.1, pinned to core 0."""

    name: str
    port: int
    process: subprocess.Popen
    log_path: Path
    worker: psutil.Process | None = None
    _tmp: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cost(self) -> Cost:
        """CPU (user + system) and RSS of the worker process, where the streams live."""
        assert self.worker is not None
        times = self.worker.cpu_times()
        return Cost(times.user + times.system, self.worker.memory_info().rss)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 3 s: the baseline waits out gunicorn's graceful timeout
        for streams whose clients left, as it only notices at its next heartbeat."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)


def start(name: str, env: dict[str, str] | None = None, boot_deadline: float = 20.0) -> BenchServer:
    """Start `ours` or `baseline` with the given environment; returns once `/healthz` answers."""
    port = free_port()
    tmp = tempfile.mkdtemp(prefix=f"bench-{name}-")  # its data folder and log, removed when it stops
    log_path = Path(tmp) / "gunicorn.log"
    full_env = {**os.environ, "BIND": f"127.0.0.1:{port}", "JOB_KINDS_MODULES": "bench.kinds",
                "DATA_DIR": os.path.join(tmp, "data"), **UNLIMITED, **(env or {})}
    command = ["taskset", "-c", str(SERVER_CORE), GUNICORN, "-c", str(CONFIGS[name])]
    if not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        command = command[3:]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    server = BenchServer(name, port, process, log_path, _tmp=tmp)
    deadline = time.monotonic() + boot_deadline
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} server exited at start:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                server.worker = psutil.Process(process.pid).children()[0]
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} server did not answer /healthz within {boot_deadline} s:\n{server.log()}")


def on_each(names: str, measure: Callable[[BenchServer], list[dict[str, object]]],
            env: dict[str, str] | None = None) -> list[dict[str, object]]:
    """Start each server named (`ours,baseline`) in turn, measure it and stop it; all their rows."""
    rows: list[dict[str, object]] = []
    for name in names.split(","):
        server = start(name, env)
        try:
            rows += measure(server)
        finally:
            server.stop()
    return rows


def load_generator_cpu_s() -> float:
    """This process's CPU seconds, to show when the load generator itself was the bottleneck."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
