"""Load is not an outage (issue 14, part 3): with every pooled Redis connection busy a call waits
for one, and past the wait it is refused as busy (503 `unavailable`, `Retry-After`), never taken
for a lost Redis that ends open streams. The 10,000-stream version is `bench/stream_burst.py`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest
from redis import RedisError

from progress.errors import StoreBusy
from progress.outage import Outage
from progress.redis_backend import connection
from progress.redis_backend.address import RedisAddress
from tests.conftest import ROOT
from tests.redis_fixtures import RedisServer, module_redis_server, redis_server  # noqa: F401 - fixtures
from web.app import create_app
from web.settings import Settings

BURST = 1500
HELD_S = 0.3


def taken_pool(url: str):
    """A pool of one connection, and that connection taken: every call must wait."""
    client = connection.Connection(RedisAddress(url, max_connections=1)).client()
    return client, client.connection_pool.get_connection()


def test_a_call_waits_for_a_pooled_connection_to_free_up_rather_than_failing(module_redis_server):
    client, taken = taken_pool(module_redis_server.url)
    threading.Timer(HELD_S, client.connection_pool.release, (taken,)).start()
    started = time.monotonic()
    assert client.ping() is True
    assert time.monotonic() - started >= HELD_S * 0.9
    client.close()


def test_past_the_wait_a_call_is_refused_as_busy_and_no_outage_is_declared(module_redis_server, monkeypatch):
    monkeypatch.setattr(connection, "POOL_WAIT_S", 0.1)
    client, taken = taken_pool(module_redis_server.url)
    with pytest.raises(RedisError) as refused:  # what every caller already catches
        client.ping()
    client.connection_pool.release(taken)
    client.close()
    assert isinstance(refused.value, StoreBusy) and refused.value.retry_after == connection.BUSY_RETRY_AFTER_S
    outage = Outage()
    outage.failed(refused.value, "opening a stream")
    assert not outage.down


def test_a_busy_store_answers_503_unavailable_with_retry_after_not_the_outage_answer(tmp_path):
    """`PoolExhausted` is a RedisError too: the busy answer must win over the outage's."""
    app = create_app(Settings(jobs_db=":memory:", data_dir=str(tmp_path)))

    def busy() -> None:
        raise connection.PoolExhausted("The job store is busy right now; try again shortly.", retry_after=2)

    app.add_url_rule("/api/busy", view_func=busy)
    answer = app.test_client().get("/api/busy")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert answer.json == {"error": {"code": "unavailable", "message": "The job store is busy right now; try again shortly."}}


def test_a_burst_of_stream_opens_on_a_tiny_pool_keeps_every_stream_open_and_live(redis_server, server_factory):
    """1,500 opens at once on two workers with two pooled connections each: every stream opens,
    stays open and gets the next job's event, and no worker speaks of losing Redis."""
    server = server_factory(env={"REDIS_URL": redis_server.url, "REDIS_MAX_CONNECTIONS": "2"},
                            args=("--workers", "2"))
    done = subprocess.run([sys.executable, "-m", "bench.stream_burst", "--port", str(urlsplit(server.url).port),
                           "--streams", str(BURST)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["opened"] == figures["got_next_event"] == BURST and figures["ended"] == 0, figures
    assert "lost the job store" not in server.log(), server.log()[-3000:]
