"""`/api/events` on a server of its own, where exact counts hold: the snapshot's jobs, heartbeats,
streams released when clients leave, and a client that never reads (issue #3)."""

import json
import socket
import struct
import time

import psutil
import pytest

from tests import raw_http
from tests.conftest import cancel_unfinished, start_job, start_server, wait_for_state

FINISHED_IN_SNAPSHOT = 50
STATE_HISTORY = 1000


@pytest.fixture(scope="module")
def quiet(tmp_path_factory):
    """No other test's jobs or streams: each test here cancels its jobs and closes its streams."""
    started = time.time()
    server = start_server(tmp_path_factory.mktemp("quiet"))
    server.started = started
    yield server
    server.stop()


@pytest.fixture
def quiet_client(quiet):
    client = quiet.client()
    yield client
    cancel_unfinished(client)


def wait_for_streams(client, count: int, timeout: float = 15.0) -> None:
    """Until `/healthz` counts `count` open streams (a closed client shows at the next heartbeat)."""
    deadline = time.monotonic() + timeout
    while (streams := client.get("/healthz").json()["streams"]) != count:
        assert time.monotonic() < deadline, f"{streams} streams open, not {count}, after {timeout} s"
        time.sleep(0.1)


def run_quick_jobs(client, count: int) -> list[dict]:
    """`count` jobs, each finished before the next starts, so they finish in creation order."""
    jobs = []
    for _ in range(count):
        jobs.append(start_job(client, "sleep", seconds=0, steps=1))
        wait_for_state(client, jobs[-1]["id"], {"succeeded"})
    return jobs


def test_an_idle_all_jobs_stream_sends_heartbeat_comments(quiet_client):
    def two_comments(data: bytes) -> bool:
        return sum(block.startswith(b": ") for block in raw_http.blocks(data)) >= 2

    _, data = raw_http.read_stream_bytes(quiet_client, "/api/events", until=two_comments)
    assert raw_http.blocks(data)[1].startswith(b"event: snapshot\n")


def test_ids_start_at_the_server_start_time_in_microseconds(quiet_client, open_stream, quiet):
    reader = open_stream("/api/events", on=quiet)
    snapshot_id = int(reader.wait_for(lambda events: events)[0].id)
    assert quiet.started * 1_000_000 <= snapshot_id <= time.time() * 1_000_000


def test_the_snapshot_holds_every_unfinished_job_and_the_50_last_finished_newest_first(quiet_client, open_stream, quiet):
    finished = run_quick_jobs(quiet_client, FINISHED_IN_SNAPSHOT + 2)
    unfinished = [start_job(quiet_client, "report_and_wait") for _ in range(2)]
    reader = open_stream("/api/events", on=quiet)
    (snapshot,) = reader.wait_for(lambda events: events)[:1]
    listed = [job["id"] for job in snapshot.json()["jobs"]]
    expected = [job["id"] for job in unfinished[::-1] + finished[::-1][:FINISHED_IN_SNAPSHOT]]
    assert listed == expected


def test_the_healthz_stream_count_follows_clients_that_come_and_go(quiet_client, open_stream, quiet):
    wait_for_streams(quiet_client, 0)
    job = start_job(quiet_client, "report_and_wait")
    readers = [open_stream("/api/events", on=quiet) for _ in range(3)]
    readers += [open_stream(f"/api/jobs/{job['id']}/events", on=quiet) for _ in range(2)]
    for reader in readers:
        reader.wait_for(lambda events: events)
    wait_for_streams(quiet_client, 5)
    for reader in readers[:4]:
        reader.close()
    wait_for_streams(quiet_client, 1)
    quiet_client.post(f"/api/jobs/{job['id']}/cancel")
    readers[4].wait_ended()
    wait_for_streams(quiet_client, 0)


def test_a_client_that_vanishes_with_a_reset_is_released(quiet_client, quiet):
    wait_for_streams(quiet_client, 0)
    sock = raw_http.connect(quiet.url)
    sock.sendall(raw_http.encode(raw_http.request("GET", "/api/events")))
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    wait_for_streams(quiet_client, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    wait_for_streams(quiet_client, 0)


def worker(server) -> psutil.Process:
    (process,) = psutil.Process(server.process.pid).children()
    return process


def frozen_events(sock: socket.socket, req, job_id: str) -> list[str]:
    """Finally read what a client that never read was sent: the job's events, up to its terminal state."""
    buffer, seen = b"", []
    for chunk in raw_http.body_chunks(sock, req):
        *complete, buffer = (buffer + chunk).split(b"\n\n")
        for block in complete:
            if block.startswith((b"event: progress\n", b"event: state\n")):
                event = json.loads(block.split(b"\ndata: ", 1)[1])
                if event["id"] == job_id:
                    seen.append("progress" if block.startswith(b"event: progress") else f"state: {event['state']}")
        if "state: succeeded" in seen:
            return seen
    raise AssertionError(f"the frozen client's stream ended after {seen[-5:]}")


STEPS = 1000
"""Of 10 kB each: 10 MB, more than any socket buffer between the server and a client that never reads."""


def test_a_client_that_never_reads_holds_back_no_one_and_gets_coalesced_progress(quiet_client, open_stream, quiet):
    wait_for_streams(quiet_client, 0)
    rss_before = worker(quiet).memory_info().rss
    with raw_http.connect(quiet.url, receive_buffer=4096) as frozen:
        req = raw_http.request("GET", "/api/events")
        frozen.sendall(raw_http.encode(req))
        wait_for_streams(quiet_client, 1)
        job = start_job(quiet_client, "chatty", steps=STEPS)
        follower = open_stream(f"/api/jobs/{job['id']}/events", on=quiet)
        while not follower.ended.is_set():
            assert quiet_client.get("/healthz", timeout=5).status_code == 200
            follower.ended.wait(0.2)
        assert follower.events[-1].json()["state"] == "succeeded"
        assert follower.events[-1].json()["progress"]["done"] == STEPS
        assert worker(quiet).memory_info().rss - rss_before < 50 * 1024 * 1024
        sent = frozen_events(frozen, req, job["id"])
    assert [t for t in sent if t != "progress"] == ["state: queued", "state: running", "state: succeeded"]
    assert sent.count("progress") < STEPS  # what piled up was replaced by the newest; states never are
    wait_for_streams(quiet_client, 0)


def test_resuming_from_before_the_last_1000_state_events_gets_a_snapshot(quiet_client, open_stream, quiet):
    first = start_job(quiet_client, "sleep", seconds=0, steps=1)
    whole = open_stream("/api/events", on=quiet, headers={"Last-Event-ID": "1"})
    (snapshot,) = whole.wait_for(lambda events: events)[:1]
    early_id = snapshot.id
    wait_for_state(quiet_client, first["id"], {"succeeded"})
    jobs = [start_job(quiet_client, "sleep", seconds=0, steps=1) for _ in range(STATE_HISTORY // 3 + 10)]
    wait_for_state(quiet_client, jobs[-1]["id"], {"succeeded"})
    whole.wait_for(lambda events: any(e.event == "state" and e.json()["id"] == jobs[-5]["id"] for e in events))
    resumed = open_stream("/api/events", on=quiet, headers={"Last-Event-ID": early_id})
    assert resumed.wait_for(lambda events: events)[0].event == "snapshot"
    recent_id = next(e.id for e in whole.events if e.event == "state" and e.json()["id"] == jobs[-5]["id"])
    recent = open_stream("/api/events", on=quiet, headers={"Last-Event-ID": recent_id})
    assert recent.wait_for(lambda events: events)[0].event != "snapshot"
    assert quiet_client.get("/api/jobs").json()["jobs"] == quiet_client.get("/api/jobs?limit=100").json()["jobs"]
    assert len(quiet_client.get("/api/jobs").json()["jobs"]) == 100
