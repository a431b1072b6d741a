"""Both streams speak exactly the contract's event-stream: headers, `retry:` first, three-line events, heartbeats (issue #3)."""

import json
import re
import time

import pytest

from tests import raw_http
from tests.conftest import start_job, wait_for_state

EVENT_BLOCK = re.compile(rb"^event: (snapshot|progress|state)\nid: ([1-9][0-9]*)\ndata: ([^\n]+)$")
RETRY_MS = 500
"""The test servers' SSE_RETRY_MS."""


@pytest.fixture
def idle_job(client):
    """A running job that reports once and then stays silent until the test ends."""
    job = start_job(client, "report_and_wait", done=1, total=4)
    wait_for_state(client, job["id"], {"running"})
    deadline = time.monotonic() + 15
    while client.get(f"/api/jobs/{job['id']}").json()["progress"]["done"] != 1:
        assert time.monotonic() < deadline, "the job never reported"
        time.sleep(0.05)
    yield job
    client.post(f"/api/jobs/{job['id']}/cancel")


@pytest.fixture(params=["job", "all"])
def stream_path(request, idle_job) -> str:
    return f"/api/jobs/{idle_job['id']}/events" if request.param == "job" else "/api/events"


def test_stream_headers_are_event_stream_no_cache_unbuffered_and_never_compressed(client, stream_path):
    response, _ = raw_http.read_stream_bytes(client, stream_path, until=lambda data: b"event: snapshot" in data,
                                             headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert "content-encoding" not in response.headers


def test_a_stream_starts_with_retry_then_one_snapshot_event_of_one_json_line(client, stream_path):
    _, data = raw_http.read_stream_bytes(client, stream_path, until=lambda data: len(raw_http.blocks(data)) >= 2)
    first, second = raw_http.blocks(data)[:2]
    assert first == f"retry: {RETRY_MS}".encode()
    match = EVENT_BLOCK.match(second)
    assert match and match[1] == b"snapshot", second
    assert int(match[2]) < 2**53
    json.loads(match[3])


def test_every_block_is_an_event_or_a_comment_and_ids_strictly_increase(client, open_stream):
    job = start_job(client, "sleep", seconds=0.3, steps=5)
    _, data = raw_http.read_stream_bytes(client, f"/api/jobs/{job['id']}/events?lastEventId=",
                                         until=lambda data: b'"state":"succeeded"' in data)
    ids = []
    for block in raw_http.blocks(data)[1:]:
        if block.startswith(b":"):
            assert re.fullmatch(rb": [^\n]*", block), block
            continue
        match = EVENT_BLOCK.match(block)
        assert match, block
        ids.append(int(match[2]))
        assert json.loads(match[3])["id"] == job["id"]
    assert ids == sorted(set(ids)) and all(i < 2**53 for i in ids)


def test_an_idle_job_stream_sends_a_comment_every_heartbeat(client, idle_job):
    def two_comments(data: bytes) -> bool:
        return sum(block.startswith(b": ") for block in raw_http.blocks(data)) >= 2

    _, data = raw_http.read_stream_bytes(client, f"/api/jobs/{idle_job['id']}/events", until=two_comments)
    comments = [block for block in raw_http.blocks(data) if block.startswith(b":")]
    assert all(re.fullmatch(rb": [^\n]+", comment) for comment in comments)


def test_the_reader_sees_retry_and_the_snapshot_of_the_job(client, open_stream, idle_job):
    reader = open_stream(f"/api/jobs/{idle_job['id']}/events")
    (snapshot,) = reader.wait_for(lambda events: len(events) >= 1)[:1]
    assert reader.retry == RETRY_MS
    assert snapshot.event == "snapshot"
    job = snapshot.json()
    assert job["id"] == idle_job["id"]
    assert job["progress"]["done"] == 1
    assert job == client.get(f"/api/jobs/{idle_job['id']}").json()


def test_an_idle_connection_outlives_the_retry_delay_so_a_reconnect_reuses_it(server):
    """gunicorn's keepalive is longer than SSE_RETRY_MS: a browser's reconnect never races the close."""
    req = raw_http.request("GET", "/healthz")
    with raw_http.connect(server.url) as sock:
        sock.sendall(raw_http.encode(req))
        raw_http.read_responses(sock, [req])
        time.sleep(3 * RETRY_MS / 1000)
        sock.sendall(raw_http.encode(req))
        (again,) = raw_http.read_responses(sock, [req])
    assert again.status == 200
