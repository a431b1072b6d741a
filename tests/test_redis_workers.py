"""Several workers on one Redis behave as one server (issue #7): streams, resume, the
queue's limits, cancel, a worker that dies, and Redis itself restarting."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.conftest import GUNICORN, ROOT, Server, StreamReader, start_job, wait_for_state
from tests.redis_fixtures import (RedisServer, module_redis_server, redis_server,  # noqa: F401 - fixtures
                                  start_workers_on)
from web.settings import SettingsError, load_settings

PIN_ATTEMPTS = 60
REAL = ("snapshot", "state", "progress")
"""Event types; httpx-sse also yields an empty message for each heartbeat after an id."""


def worker_of(server: Server, client: httpx.Client) -> int:
    """The pid of the worker holding `client`'s one keep-alive connection, read from the request
    log line of a probe to a path nobody else asks for."""
    probe = f"/probe-{uuid.uuid4().hex}"
    client.get(probe, headers={"Accept": "application/json"})
    return pid_logging(server, rf"INFO web\.requests: method=GET path={probe} ", deadline_s=10)


def pid_logging(server: Server, pattern: str, deadline_s: float) -> int:
    """The pid of the process that logged a line matching `pattern`, waiting for it up to a deadline."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = re.search(rf"\[(\d+)\] {pattern}", server.log())
        if found:
            return int(found[1])
        time.sleep(0.05)
    raise AssertionError(f"no log line matching {pattern!r} within {deadline_s} s")


class Pinned:
    """Clients each on one connection whose worker is known."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.clients: list[httpx.Client] = []

    def client(self, on: set[int] | None = None, avoid: set[int] = frozenset()) -> tuple[httpx.Client, int]:
        """A client on a worker in `on` (any if None) and not in `avoid`."""
        for _ in range(PIN_ATTEMPTS):
            client = httpx.Client(base_url=self.server.url, timeout=httpx.Timeout(10.0, read=30.0),
                                  limits=httpx.Limits(max_connections=1))
            self.clients.append(client)
            pid = worker_of(self.server, client)
            if (on is None or pid in on) and pid not in avoid:
                return client, pid
        raise AssertionError(f"no connection landed on a worker in {on} outside {avoid}")

    def close(self) -> None:
        for client in self.clients:
            client.close()


def workers(server: Server) -> set[int]:
    return {child.pid for child in psutil.Process(server.process.pid).children()}


def runner_of(server: Server, job_id: str, deadline_s: float = 15.0) -> int:
    return pid_logging(server, rf"INFO progress\.runner: job={job_id} .* state=running", deadline_s)


def states(reader: StreamReader, job_id: str) -> list[str]:
    return [json.loads(e.data)["state"] for e in reader.events
            if e.event == "state" and json.loads(e.data)["id"] == job_id]


@pytest.fixture(scope="module")
def three(module_redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_workers_on(module_redis_server, tmp_path_factory.mktemp("three"))
    yield server
    server.stop()


@pytest.fixture
def pinned(three: Server) -> Iterator[Pinned]:
    pins = Pinned(three)
    yield pins
    pins.close()


@pytest.fixture
def readers() -> Iterator[list[StreamReader]]:
    opened: list[StreamReader] = []
    yield opened
    for reader in opened:
        reader.close()


def test_a_stream_on_one_worker_sees_a_job_run_on_another_with_the_same_ids(three, pinned, readers):
    streams = {}
    for _ in range(3):
        client, pid = pinned.client(avoid=set(streams))
        streams[pid] = StreamReader(client, "/api/events")
        readers.append(streams[pid])
    for reader in streams.values():
        reader.wait_for(lambda events: events and events[0].event == "snapshot")
    job = start_job(pinned.client()[0], "sleep", seconds=0.3, steps=3)
    runner = runner_of(three, job["id"])
    for reader in streams.values():
        reader.wait_for(lambda events: "succeeded" in states(reader, job["id"]))
    elsewhere = [reader for pid, reader in streams.items() if pid != runner]
    assert len(elsewhere) >= 2 and all(states(r, job["id"]) == ["queued", "running", "succeeded"] for r in elsewhere)
    ids = [[e.id for e in r.events if e.event in ("state", "progress") and json.loads(e.data)["id"] == job["id"]]
           for r in streams.values()]
    assert ids[0] == ids[1] == ids[2] and ids[0] == sorted(ids[0], key=int)


def test_a_job_stream_resumed_on_another_worker_gets_exactly_the_missed_events(three, pinned, readers):
    first_client, first = pinned.client()
    job = start_job(first_client, "sleep", seconds=1.5, steps=6)
    reader = StreamReader(first_client, f"/api/jobs/{job['id']}/events")
    readers.append(reader)
    reader.wait_for(lambda events: any(e.event == "progress" for e in events))
    reader.wait_ended()
    full = [(e.event, e.id, e.data) for e in reader.events if e.event in REAL]
    cut = next(i for i, event in enumerate(full) if event[0] == "progress")
    second_client, _ = pinned.client(avoid={first})
    resumed = StreamReader(second_client, f"/api/jobs/{job['id']}/events",
                           headers={"Last-Event-ID": full[cut][1]})
    readers.append(resumed)
    resumed.wait_ended()
    got = [(e.event, e.id, e.data) for e in resumed.events if e.event in REAL]
    missed_states = [event for event in full[cut + 1:] if event[0] == "state"]
    assert got[-1] == full[-1] and missed_states == [event for event in got if event[0] == "state"]
    assert all(int(event[1]) > int(full[cut][1]) for event in got)
    assert [int(event[1]) for event in got] == sorted(int(event[1]) for event in got)


def test_a_cancel_sent_to_a_worker_not_running_the_job_stops_it(three, pinned, readers):
    client, _ = pinned.client()
    job = start_job(client, "sleep", seconds=30, steps=30)
    runner = runner_of(three, job["id"])
    reader = StreamReader(client, f"/api/jobs/{job['id']}/events")
    readers.append(reader)
    other, _ = pinned.client(avoid={runner})
    assert other.post(f"/api/jobs/{job['id']}/cancel").status_code == 202
    reader.wait_ended(timeout=10)
    assert reader.events[-1].event == "state" and json.loads(reader.events[-1].data)["state"] == "cancelled"


def test_the_concurrency_limit_and_the_503_hold_for_the_whole_deployment(server_factory, redis_server, pinned_factory):
    server = server_factory(env={"REDIS_URL": redis_server.url, "JOBS_CONCURRENCY": "1", "JOBS_QUEUE_SIZE": "1"},
                            args=("--workers", "3"))
    pins = pinned_factory(server)
    clients = [pins.client(avoid=set())[0] for _ in range(3)]
    running = start_job(clients[0], "sleep", seconds=30, steps=30)
    wait_for_state(clients[1], running["id"], {"running"})
    waiting = start_job(clients[1], "sleep", seconds=0.1, steps=1)
    refused = clients[2].post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0.1}})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "queue_full"
    assert refused.headers["Retry-After"].isdigit()
    for client in clients:
        assert client.get("/healthz").json()["jobs"] == {"queued": 1, "running": 1}
    assert clients[2].post(f"/api/jobs/{running['id']}/cancel").status_code == 202
    assert wait_for_state(clients[0], waiting["id"], {"succeeded"})["started_at"] is not None


@pytest.fixture
def pinned_factory() -> Iterator:
    made: list[Pinned] = []

    def make(server: Server) -> Pinned:
        made.append(Pinned(server))
        return made[-1]

    yield make
    for pins in made:
        pins.close()


def test_a_worker_killed_mid_job_leaves_the_job_interrupted_on_every_stream(server_factory, redis_server,
                                                                              pinned_factory, readers):
    server = server_factory(env={"REDIS_URL": redis_server.url}, args=("--workers", "3"))
    pins = pinned_factory(server)
    client, _ = pins.client()
    job = start_job(client, "sleep", seconds=60, steps=60)
    victim = runner_of(server, job["id"])
    watchers = []
    for path in (f"/api/jobs/{job['id']}/events", "/api/events"):
        watcher_client, _ = pins.client(avoid={victim})
        watchers.append(StreamReader(watcher_client, path))
    readers.extend(watchers)
    for watcher in watchers:
        watcher.wait_for(lambda events: bool(events))
    os.kill(victim, signal.SIGKILL)
    for watcher in watchers:
        watcher.wait_for(lambda events, w=watcher: "interrupted" in states(w, job["id"]), timeout=30)
        assert states(watcher, job["id"]).count("interrupted") == 1
    watchers[0].wait_ended()
    survivor, _ = pins.client(avoid={victim})
    ended = survivor.get(f"/api/jobs/{job['id']}").json()
    assert ended["state"] == "interrupted" and ended["error"] and ended["finished_at"]


def test_a_graceful_stop_of_one_worker_interrupts_only_its_own_jobs(server_factory, redis_server, pinned_factory):
    server = server_factory(env={"REDIS_URL": redis_server.url}, args=("--workers", "2"))
    pins = pinned_factory(server)
    client, _ = pins.client()
    first = start_job(client, "sleep", seconds=60, steps=60)
    stopped = runner_of(server, first["id"])
    other_client, other = pins.client(avoid={stopped})
    os.kill(stopped, signal.SIGTERM)
    assert wait_for_state(other_client, first["id"], {"interrupted"}, timeout=20)["error"]
    second = start_job(other_client, "sleep", seconds=0.2, steps=2)
    assert wait_for_state(other_client, second["id"], {"succeeded"})["state"] == "succeeded"
    assert other in workers(server)


def test_redis_restarted_mid_stream_ends_streams_they_resume_and_the_loss_is_logged_once_per_worker(
        server_factory, redis_server, pinned_factory, readers):
    server = server_factory(env={"REDIS_URL": redis_server.url}, args=("--workers", "2"))
    pins = pinned_factory(server)
    streams = [StreamReader(pins.client()[0], "/api/events") for _ in range(6)]
    readers.extend(streams)
    for reader in streams:
        reader.wait_for(lambda events: bool(events))
    redis_server.restart()
    for reader in streams:
        reader.wait_ended(timeout=20)
    client, _ = pins.client()
    deadline = time.monotonic() + 20
    while client.get("/healthz").status_code != 200:  # each worker's reader reconnects with back-off
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.2)
    again = StreamReader(pins.client()[0], "/api/events", headers={"Last-Event-ID": streams[0].events[0].id})
    readers.append(again)
    again.wait_for(lambda events: bool(events) and events[0].event == "snapshot")
    job = start_job(client, "sleep", seconds=0.1, steps=1)
    again.wait_for(lambda events: "succeeded" in states(again, job["id"]))
    lost = server.log().count("lost the job store while")
    assert 1 <= lost <= 2 * 2, server.log()[-3000:]  # per worker and outage, never per client
    assert "Traceback" not in server.log()


def test_an_unreachable_redis_stops_the_start_with_one_line_naming_redis_url():
    free = f"redis://127.0.0.1:{_closed_port()}/0"
    for command in ([GUNICORN, "-c", "gunicorn.conf.py", "--workers", "2"], [sys.executable, "-m", "web"]):
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, "REDIS_URL": free, "BIND": "127.0.0.1:0"},
                              capture_output=True, text=True, timeout=60)
        assert done.returncode != 0
        assert re.search(r"^(gunicorn\.conf\.py: )?REDIS_URL: cannot reach Redis \(.*\)$", done.stderr, re.M)
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "rediss://user:pw@cache.example:6380",
                                 "redis://[::1]:6379", "unix:///run/redis.sock"])
def test_a_redis_url_of_a_known_shape_is_taken(url):
    assert load_settings({"REDIS_URL": url}).redis_url == url


@pytest.mark.parametrize("url", ["localhost:6379", "http://localhost", "redis://", "redis://h:99999",
                                 "redis://h/db", "redis://h/0?timeout=1"])
def test_a_redis_url_of_another_shape_stops_the_start_naming_the_variable(url):
    with pytest.raises(SettingsError, match="^REDIS_URL: expected redis://"):
        load_settings({"REDIS_URL": url})


def _closed_port() -> int:
    from tests.conftest import free_port
    return free_port()


def test_while_redis_is_down_the_api_says_so_in_the_contracts_shape_without_a_traceback(
        server_factory, redis_server):
    server = server_factory(env={"REDIS_URL": redis_server.url})
    client = server.client()
    redis_server.stop()
    try:
        down = client.get("/api/jobs")
        assert down.status_code == 503 and down.headers["Retry-After"] == "5"
        assert down.json() == {"error": {"code": "unavailable",
                                         "message": "The job store cannot be reached right now; try again shortly."}}
        assert client.post("/api/jobs", json={"kind": "greet"}).status_code == 503
        assert client.get("/healthz").json()["error"]["code"] == "unavailable"
    finally:
        redis_server.start()
    assert server.log().count("lost the job store while") == 1  # one line per outage, not per request
    assert "Traceback" not in server.log()


def test_healthz_counts_the_streams_of_every_worker(three, pinned, readers):
    """Each worker reports its open streams with its heartbeat; any worker's `/healthz` sums them."""
    askers: dict[int, httpx.Client] = {}
    for count in (1, 2, 3):  # a different number of streams on each worker
        asker, pid = pinned.client(avoid=set(askers))
        askers[pid] = asker
        for _ in range(count):
            readers.append(StreamReader(pinned.client(on={pid})[0], "/api/events"))
    for reader in readers:
        reader.wait_for(lambda events: events)
    deadline = time.monotonic() + 10
    while not all(asker.get("/healthz").json()["streams"] == 6 for asker in askers.values()):
        assert time.monotonic() < deadline, [asker.get("/healthz").json() for asker in askers.values()]
        time.sleep(0.2)


def test_the_per_owner_limits_hold_for_the_whole_deployment(server_factory, redis_server, pinned_factory, readers):
    server = server_factory(env={"REDIS_URL": redis_server.url, "LIMIT_STREAMS_PER_OWNER": "2",
                                 "LIMIT_JOBS_PER_MINUTE": "3"}, args=("--workers", "3"))
    pins = pinned_factory(server)
    first, a = pins.client()
    second, b = pins.client(avoid={a})
    third, _ = pins.client(avoid={a, b})
    for client in (first, second):  # one stream each on two workers: the owner's limit is reached
        readers.append(StreamReader(client, "/api/events"))
        readers[-1].wait_for(lambda events: events)
    deadline = time.monotonic() + 10
    while third.get("/healthz").json()["streams"] != 2:  # the third worker has heard of both
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with third.stream("GET", "/api/events") as refused:  # a stream let through would never end
        assert refused.status_code == 429 and json.loads(refused.read())["error"]["code"] == "rate_limited"
    for client in (pins.client(on={a})[0], pins.client(on={b})[0], third):  # three a minute, across workers
        assert client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0}}).status_code == 202
    too_many = third.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0}})
    assert too_many.status_code == 429 and int(too_many.headers["Retry-After"]) > 0


def test_a_retried_job_whose_worker_is_killed_resumes_on_another_worker(server_factory, redis_server,
                                                                         pinned_factory):
    """Issue #13: a kind with retries goes back to the queue when its worker dies, not `interrupted`."""
    server = server_factory(env={"REDIS_URL": redis_server.url}, args=("--workers", "3"))
    pins = pinned_factory(server)
    client, _ = pins.client()
    job = start_job(client, "flaky", succeed_on=2, hold_s=30)  # attempt 1 holds; attempt 2 succeeds
    victim = runner_of(server, job["id"])
    os.kill(victim, signal.SIGKILL)
    survivor, _ = pins.client(avoid={victim})
    final = wait_for_state(survivor, job["id"], {"succeeded", "failed", "interrupted"}, timeout=30)
    assert final["state"] == "succeeded" and final["attempt"] == 2
    assert final["retry_errors"] == ["The worker running the job stopped without finishing it."]
