"""A real `redis-server` on a free port for the Redis backend's tests (issue #7).

Import the fixtures into a test module (`from tests.redis_fixtures import redis_server`).
With CI=true a missing redis-server fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import Server, free_port, start_server

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
START_DEADLINE_S = 10.0


@dataclass
class RedisServer:
    """One redis-server in its own folder, without persistence unless `durable` (an append-only
    file synced every second, as production runs it); it can be restarted on its port."""

    port: int
    folder: Path
    process: subprocess.Popen | None = None
    durable: bool = False
    options: tuple[str, ...] = ()
    """More command-line settings (`--replicaof`, `--repl-diskless-sync-delay`)."""
    password: str | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - kept open by the child
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.durable else "no", "--appendfsync", "everysec",
             "--dir", str(self.folder), *self.options, *(("--requirepass", self.password) if self.password else ())],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.wait_answering(self.folder / "redis.log")

    def wait_answering(self, log_path: Path) -> None:
        client = redis.Redis(port=self.port, password=self.password, socket_connect_timeout=1)
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(f"{log_path}: did not start:\n"
                                         f"{log_path.read_text(errors='replace')}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.thaw()  # a frozen one would not hear SIGTERM
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: a durable one comes back from its file."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, as on a stalled host."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def restart(self, down_s: float = 0.5) -> None:
        """Stop it (losing everything: no persistence), stay down a moment, start it again."""
        self.stop()
        time.sleep(down_s)
        self.start()

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, password=self.password, db=db, socket_timeout=5)

    def log(self) -> str:
        return (self.folder / "redis.log").read_text(errors="replace")


def start_workers_on(redis: RedisServer, log_dir: Path, workers: int = 3) -> Server:
    """A real gunicorn with several workers sharing `redis`."""
    return start_server(log_dir, {"REDIS_URL": redis.url}, ("--workers", str(workers)))


def _redis_server_or_skip() -> None:
    if not os.path.exists(REDIS_SERVER):
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed (Debian: apt-get install redis-server)")
        pytest.skip("redis-server is not installed")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh, empty redis-server for one test."""
    _redis_server_or_skip()
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def durable_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh redis-server with an append-only file, for one test that kills it."""
    _redis_server_or_skip()
    server = RedisServer(free_port(), tmp_path, durable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server shared by a module's tests (they filter by their own job ids)."""
    _redis_server_or_skip()
    server = RedisServer(free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()
