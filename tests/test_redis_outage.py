"""The Redis mode rides out faults (issue 14): Redis killed, restarted from its append-only
file or frozen, and workers killed around it, with real redis-server and gunicorn processes.

Jobs go on through a short outage and their held changes are written when Redis is back; past
REDIS_OUTAGE_GRACE_S they end `interrupted`; requests meanwhile get 503 `unavailable`; a worker
started while Redis is down boots; no outage kills a live worker's jobs; and a worker killed
right after Redis came back has its jobs ended within seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from progress.redis_backend.held import Held, HeldCommits
from progress.redis_backend.monitor import DIED, LOST_CONTACT
from tests.conftest import start_job, wait_for_state
from tests.redis_fixtures import durable_redis_server, redis_server  # noqa: F401 - fixtures
from tests.restarts import TERMINAL
from tests.test_redis_workers import Pinned, pid_logging, pinned_factory, runner_of, workers  # noqa: F401 - a fixture

OUTAGE_S = 5.0
"""Longer than the heartbeat window (`monitor.DEAD_AFTER_S`): no heartbeat is fresh after it."""

FREEZE_S = 6.0
"""Longer than the heartbeat window and than a command's timeout (`connection.COMMAND_TIMEOUT_S`)."""

LOST, BACK = "lost the job store while", "the job store is reachable again"


class Following:
    """`/api/events` read as EventSource reads it: after each end it reconnects with the newest
    id it saw, until closed. Every event of every connection is kept, in arrival order."""

    def __init__(self, url: str) -> None:
        self.events: list[ServerSentEvent] = []
        self._client = httpx.Client(base_url=url, timeout=httpx.Timeout(10.0, read=30.0))
        self._response: httpx.Response | None = None
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        while not self._closing.is_set():
            headers = {"Last-Event-ID": self.events[-1].id} if self.events else {}
            with contextlib.suppress(httpx.HTTPError, RuntimeError):
                with connect_sse(self._client, "GET", "/api/events", headers=headers) as source:
                    self._response = source.response
                    self.events.extend(event for event in source.iter_sse() if event.data)
            self._closing.wait(0.2)

    def of(self, job_id: str) -> list[tuple[int, str, dict]]:
        """The job's events as (id, type, job), in arrival order."""
        return [(int(e.id), e.event, job) for e in self.events if e.event in ("state", "progress")
                and (job := json.loads(e.data))["id"] == job_id]

    def wait_for(self, done, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, [(e.event, e.id) for e in self.events]
            time.sleep(0.1)

    def close(self) -> None:
        self._closing.set()
        if self._response is not None:
            with contextlib.suppress(OSError):
                self._response.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()


@pytest.fixture
def following() -> Iterator:
    opened: list[Following] = []

    def follow(url: str) -> Following:
        opened.append(Following(url))
        return opened[-1]

    yield follow
    for follower in opened:
        follower.close()


def one_per_worker(pins: Pinned, count: int) -> dict[int, httpx.Client]:
    clients: dict[int, httpx.Client] = {}
    while len(clients) < count:
        client, pid = pins.client(avoid=set(clients))
        clients[pid] = client
    return clients


def ended(client: httpx.Client, job_id: str, timeout: float = 20.0) -> dict:
    return wait_for_state(client, job_id, set(TERMINAL), timeout=timeout)


def lines_of(log: str, pid: int, text: str) -> int:
    return len(re.findall(rf"\[{pid}\] .*{re.escape(text)}", log))


def client_on_another_worker(pins: Pinned, avoid: set[int], deadline_s: float = 20.0) -> tuple[httpx.Client, int]:
    """A client on a worker outside `avoid`, waiting for one that gunicorn is starting."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return pins.client(avoid=avoid)
        except AssertionError:
            assert time.monotonic() < deadline, pins.server.log()[-3000:]


def finished_at(job: dict) -> float:
    return datetime.fromisoformat(job["finished_at"]).timestamp()


def test_jobs_go_on_through_redis_killed_longer_than_the_heartbeat_window_and_their_changes_are_written_after(
        server_factory, durable_redis_server, pinned_factory, following):
    """(a) and (d): SIGKILL, 5 s down, restart from the append-only file."""
    server = server_factory(env={"REDIS_URL": durable_redis_server.url}, args=("--workers", "3"))
    clients = one_per_worker(pinned_factory(server), 3)
    followers = [following(server.url) for _ in range(3)]
    for follower in followers:
        follower.wait_for(lambda f: f.events and f.events[0].event == "snapshot")
    short = {pid: start_job(client, "sleep", seconds=2, steps=4) for pid, client in clients.items()}
    long = {pid: start_job(client, "sleep", seconds=8, steps=8) for pid, client in clients.items()}
    for pid, client in clients.items():
        for job in (short[pid], long[pid]):
            wait_for_state(client, job["id"], {"running"})
    seen_before = [int(follower.events[-1].id) for follower in followers]

    durable_redis_server.kill()
    down_until = time.monotonic() + OUTAGE_S
    for pid, client in clients.items():  # every worker says so, and nothing waits long
        health = client.get("/healthz")
        assert health.status_code == 503 and health.json()["error"]["code"] == "unavailable"
        assert health.headers["Retry-After"].isdigit()
        cancel = client.post(f"/api/jobs/{long[pid]['id']}/cancel")
        assert cancel.status_code == 503 and cancel.headers["Retry-After"].isdigit()
        assert cancel.json()["error"]["code"] == "unavailable"
    time.sleep(max(0.0, down_until - time.monotonic()))
    durable_redis_server.start()

    any_client = next(iter(clients.values()))
    for job in [*short.values(), *long.values()]:  # a live worker's job is never taken for dead
        assert ended(any_client, job["id"])["state"] == "succeeded", server.log()[-3000:]
    for follower, before in zip(followers, seen_before):
        follower.wait_for(lambda f: all(any(t == "state" and j["state"] == "succeeded" for _, t, j in f.of(job["id"]))
                                        for job in [*short.values(), *long.values()]))
        ids = [int(e.id) for e in follower.events if e.event != "snapshot"]
        assert ids == sorted(set(ids)), ids  # strictly increasing, across the resumes
        for job in short.values():  # ended while Redis was down: its newest progress, then its end
            after = [(t, j["state"], j["progress"]["done"]) for i, t, j in follower.of(job["id"]) if i > before]
            assert after[-2:] == [("progress", "running", 4), ("state", "succeeded", 4)], after
    log = server.log()
    assert "Traceback" not in log
    for pid in clients:
        assert (lines_of(log, pid, LOST), lines_of(log, pid, BACK)) == (1, 1), log[-4000:]


def test_past_the_grace_jobs_end_interrupted_and_a_worker_started_meanwhile_serves_once_redis_is_back(
        server_factory, durable_redis_server, pinned_factory):
    """(b) and (c): SIGKILL past a 1 s grace, and a worker SIGKILLed and started again meanwhile."""
    server = server_factory(env={"REDIS_URL": durable_redis_server.url, "REDIS_OUTAGE_GRACE_S": "1"},
                            args=("--workers", "2"))
    pins = pinned_factory(server)
    client, _ = pins.client()
    job = start_job(client, "sleep", seconds=30, steps=30)
    runs = runner_of(server, job["id"])
    doomed = next(iter(workers(server) - {runs}))

    durable_redis_server.kill()
    os.kill(doomed, signal.SIGKILL)
    fresh, pid = client_on_another_worker(pins, avoid={runs, doomed})
    pid_logging(server, rf"INFO progress\.runner: job={job['id']} .* state=interrupted", deadline_s=20)
    health = fresh.get("/healthz")  # booted with Redis down: says so, as any worker
    assert health.status_code == 503 and health.json()["error"]["code"] == "unavailable"
    durable_redis_server.start()

    interrupted = ended(client, job["id"])
    assert (interrupted["state"], interrupted["error"]) == ("interrupted", LOST_CONTACT)
    deadline = time.monotonic() + 10
    while fresh.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.1)
    later = start_job(fresh, "sleep", seconds=0.2, steps=2)
    assert ended(fresh, later["id"])["state"] == "succeeded"
    log = server.log()
    assert "Traceback" not in log
    assert (lines_of(log, pid, LOST), lines_of(log, pid, BACK)) == (1, 1), log[-4000:]


def test_a_frozen_redis_kills_no_live_workers_jobs_and_a_worker_killed_right_after_has_its_jobs_ended(
        server_factory, redis_server, pinned_factory):
    """(d) and (e): SIGSTOP longer than the heartbeat window and a command's timeout; SIGKILL of
    a worker 0.1 s after SIGCONT, as jobs end and others wait for their slots: every job ends,
    none is left claimed, and those the killed worker held end `interrupted` within 5 s of Redis
    answering again."""
    server = server_factory(env={"REDIS_URL": redis_server.url, "JOBS_CONCURRENCY": "6"}, args=("--workers", "3"))
    clients = one_per_worker(pinned_factory(server), 3)
    ends_in_freeze = [start_job(client, "sleep", seconds=3, steps=3) for client in clients.values()]
    outlives_freeze = [start_job(client, "sleep", seconds=8, steps=8) for client in clients.values()]
    runners = {job["id"]: runner_of(server, job["id"]) for job in ends_in_freeze + outlives_freeze}
    waiting = [start_job(client, "sleep", seconds=0.5, steps=2) for client in clients.values()]  # no slot free
    victim = runners[outlives_freeze[0]["id"]]
    survivor = next(client for pid, client in clients.items() if pid != victim)

    redis_server.freeze()
    time.sleep(FREEZE_S)
    redis_server.thaw()
    back_at = time.time()
    time.sleep(0.1)
    os.kill(victim, signal.SIGKILL)

    interrupted = {}
    for job in ends_in_freeze + outlives_freeze + waiting:  # every job ends, none stays claimed
        final = ended(survivor, job["id"])
        if final["state"] == "interrupted":
            assert final["error"] == DIED and runner_of(server, job["id"]) == victim, final
            interrupted[job["id"]] = round(finished_at(final) - back_at, 2)
        else:
            assert final["state"] == "succeeded", final
    for job in outlives_freeze:  # a live worker's job is never taken for dead
        assert job["id"] in interrupted or runners[job["id"]] != victim
        assert (job["id"] in interrupted) == (runners[job["id"]] == victim)
    assert interrupted and all(after < 5.0 for after in interrupted.values()), interrupted
    assert "Traceback" not in server.log()


def held(event_type: str, tag: str) -> Held:
    return Held(event_type, (tag,))


def test_held_commits_keep_each_jobs_order_and_only_the_newest_progress_not_yet_being_written():
    commits = HeldCommits()
    for job_id, event_type, tag in [("a", "state", "a-running"), ("a", "progress", "a-1"), ("b", "progress", "b-1"),
                                    ("a", "progress", "a-2"), ("a", "state", "a-succeeded"), ("b", "progress", "b-2")]:
        commits.add(job_id, held(event_type, tag))
    assert len(commits) == 4 and commits.holds("a") and not commits.holds("c")
    written: list[object] = []

    def write(args):
        if args == ("b-2",):  # a newer progress arrives while this one is being written
            commits.add("b", held("progress", "b-3"))
        written.append(args[0])

    commits.write(write)
    assert written == ["a-running", "a-2", "a-succeeded", "b-2", "b-3"] and len(commits) == 0


def test_held_commits_stay_held_from_the_one_that_failed_when_redis_goes_away_again():
    commits = HeldCommits()
    for tag in ("first", "second"):
        commits.add("a", held("state", tag))
    written: list[object] = []

    def fail_on_second(args):
        if args == ("second",):
            raise ConnectionError("away again")
        written.append(args[0])

    with pytest.raises(ConnectionError):
        commits.write(fail_on_second)
    assert written == ["first"] and commits.holds("a") and len(commits) == 1
    commits.write(lambda args: written.append(args[0]))
    assert written == ["first", "second"] and not commits.holds("a")
