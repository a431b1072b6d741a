"""Redis Sentinel with real processes (issue 14): a primary and its replica, both with an
append-only file fsynced every second, watched by three sentinels (quorum 2) on free ports,
with short failure-detection times so a failover takes seconds.

Debian's `redis-sentinel` runs the sentinels; without that package, `redis-server --sentinel`
(the same program) does.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port
from tests.redis_fixtures import REDIS_SERVER, RedisServer, _redis_server_or_skip

MASTER = "progress-primary"
PASSWORD = "sentinel-test-secret"
DOWN_AFTER_MS = 1000
"""How long the primary must be silent before a sentinel thinks it down."""
FAILOVER_TIMEOUT_MS = 3000
READY_DEADLINE_S = 15.0
AT_ONCE = ("--repl-diskless-sync-delay", "0")
"""The replica's first sync starts at once (Redis waits 5 s by default for more replicas)."""


def sentinel_command(config: Path) -> list[str]:
    if shutil.which("redis-sentinel"):
        return ["redis-sentinel", str(config)]
    return [REDIS_SERVER, str(config), "--sentinel"]


@dataclass
class SentinelServer(RedisServer):
    """One sentinel watching `primary_port` under `MASTER`; it rewrites its own config file."""

    primary_port: int = 0

    def start(self) -> None:
        config = self.folder / "sentinel.conf"
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.primary_port} 2\n"
            f"sentinel auth-pass {MASTER} {PASSWORD}\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n")
        with open(self.folder / "redis.log", "ab") as log:
            self.process = subprocess.Popen(sentinel_command(config), stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.wait_answering(self.folder / "redis.log")

    def primary(self) -> tuple[str, int]:
        host, port = redis.Redis(port=self.port, socket_timeout=2).sentinel_get_master_addr_by_name(MASTER)
        return host.decode() if isinstance(host, bytes) else host, int(port)


@dataclass
class SentinelDeployment:
    primary: RedisServer
    replica: RedisServer
    sentinels: list[SentinelServer] = field(default_factory=list)

    @property
    def setting(self) -> str:
        """REDIS_SENTINELS."""
        return ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)

    def wait_ready(self) -> None:
        """The replica is in sync, and every sentinel knows it and the two other sentinels: a
        failover can happen."""
        deadline = time.monotonic() + READY_DEADLINE_S
        while self.replica.client().info("replication")["master_link_status"] != "up":
            assert time.monotonic() < deadline, "the replica did not sync"
            time.sleep(0.05)
        for sentinel in self.sentinels:
            client = redis.Redis(port=sentinel.port, socket_timeout=2)
            while True:
                state = client.sentinel_master(MASTER)
                if state["num-slaves"] >= 1 and state["num-other-sentinels"] >= len(self.sentinels) - 1:
                    break
                assert time.monotonic() < deadline, f"sentinel {sentinel.port} not ready: {state}"
                time.sleep(0.1)

    def wait_promoted(self, deadline_s: float = 20.0) -> None:
        """Every sentinel names the replica as the primary."""
        deadline = time.monotonic() + deadline_s
        while {sentinel.primary() for sentinel in self.sentinels} != {("127.0.0.1", self.replica.port)}:
            assert time.monotonic() < deadline, [sentinel.primary() for sentinel in self.sentinels]
            time.sleep(0.1)

    def stop(self) -> None:
        for server in (*self.sentinels, self.replica, self.primary):
            server.stop()


@pytest.fixture
def sentinel_deployment(tmp_path: Path) -> Iterator[SentinelDeployment]:
    _redis_server_or_skip()
    folders = {name: tmp_path / name for name in ("primary", "replica", "s1", "s2", "s3")}
    for folder in folders.values():
        folder.mkdir()
    primary = RedisServer(free_port(), folders["primary"], durable=True, options=AT_ONCE, password=PASSWORD)
    replica = RedisServer(free_port(), folders["replica"], durable=True, password=PASSWORD, options=(
        *AT_ONCE, "--masterauth", PASSWORD, "--replicaof", "127.0.0.1", str(primary.port)))
    deployment = SentinelDeployment(primary, replica, [
        SentinelServer(free_port(), folders[name], primary_port=primary.port) for name in ("s1", "s2", "s3")])
    try:
        primary.start()
        replica.start()
        for sentinel in deployment.sentinels:
            sentinel.start()
        deployment.wait_ready()
        yield deployment
    finally:
        deployment.stop()
