"""deploy/nginx.conf in front of real gunicorn servers, with TLS and HTTP/2 to the client (issue 16).

Timings are measured against the same events read straight from gunicorn, and asserted with
bounds far above what was measured (docs/deploy.md has the figures): the machine is shared.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import Server, StreamReader, free_port, start_job
from tests.nginx_fixtures import authority, nginx_factory  # noqa: F401  (fixtures)

TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}
HEARTBEAT_S = 1.0
"""SSE_HEARTBEAT_S of the test servers (tests/conftest.py)."""


def ended(job_id: str) -> Callable[[list], bool]:
    return lambda events: any(event.event == "state" and f'"id":"{job_id}"' in event.data
                              and any(f'"state":"{state}"' in event.data for state in TERMINAL)
                              for event in events)


def wait_for_streams(server: Server, count: int, timeout: float = 15.0) -> float:
    """Polls gunicorn's `/healthz` until it counts `count` open streams; returns when that was seen."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url) as client:
        while (seen := client.get("/healthz").json()["streams"]) != count:
            assert time.monotonic() < deadline, f"{seen} streams open after {timeout} s, not {count}"
            time.sleep(0.02)
    return time.monotonic()


def test_the_api_answers_over_tls_and_http2_with_uploads_passed_on(server: Server, nginx_factory) -> None:  # noqa: F811
    client = nginx_factory(server).client()

    kinds = client.get("/api/kinds")
    assert kinds.status_code == 200 and kinds.http_version == "HTTP/2"
    assert kinds.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert client.get("/api/openapi.json").json()["openapi"] == "3.1.0"  # larger than nginx's memory buffers
    upload = client.post("/api/uploads", content=b"a,b\n" * 500_000, headers={"Content-Type": "text/csv"})
    assert upload.status_code == 201 and upload.json()["size"] == 2_000_000


def test_plain_http_is_sent_to_https(server: Server, nginx_factory) -> None:  # noqa: F811
    nginx = nginx_factory(server)
    answer = httpx.get(f"http://127.0.0.1:{nginx.http_port}/api/kinds?x=1")
    assert answer.status_code == 301 and answer.headers["Location"] == "https://127.0.0.1/api/kinds?x=1"


def test_each_event_passes_nginx_unbuffered(server: Server, nginx_factory) -> None:  # noqa: F811
    """Issue 16: each event arrives within 100 ms of being sent. Being sent is when the same
    event reaches a reader straight from gunicorn; the bound asserted is generous."""
    nginx = nginx_factory(server)
    direct = StreamReader(server.client(), "/api/events")
    proxied = StreamReader(nginx.client(), "/api/events")
    try:
        for reader in (direct, proxied):
            reader.wait_for(lambda events: any(event.event == "snapshot" for event in events))
        assert "content-encoding" not in proxied.headers  # (nginx takes X-Accel-Buffering for itself)
        job = start_job(server.client(), "sleep", seconds=3, steps=30)
        for reader in (direct, proxied):
            reader.wait_for(ended(job["id"]))
        sent = {event.id: when for event, when in zip(direct.events, direct.arrived) if job["id"] in event.data}
        delays = [when - sent[event.id] for event, when in zip(proxied.events, proxied.arrived) if event.id in sent]
        assert len(delays) == len(sent) >= 20  # every event, none buffered until the end
        print(f"\nnginx adds per event: median {statistics.median(delays) * 1000:.1f} ms, "
              f"max {max(delays) * 1000:.1f} ms over {len(delays)} events")
        assert max(delays) < 0.5
    finally:
        direct.close()
        proxied.close()


def test_a_stream_outlives_nginx_read_timeout_on_heartbeats_alone(server_factory, nginx_factory) -> None:  # noqa: F811
    server = server_factory({"SSE_HEARTBEAT_S": "0.5"})
    nginx = nginx_factory(server, stream_read_timeout_s=1.5)
    reader = StreamReader(nginx.client(), "/api/events")
    try:
        reader.wait_for(lambda events: any(event.event == "snapshot" for event in events))
        assert not reader.ended.wait(3 * 1.5)  # nothing but heartbeats, three read timeouts long
        job = start_job(server.client(), "sleep", seconds=0.1, steps=1)
        reader.wait_for(ended(job["id"]))
    finally:
        reader.close()


def test_without_heartbeats_inside_the_read_timeout_nginx_ends_the_stream(server_factory, nginx_factory) -> None:  # noqa: F811
    """The control for the test above: the short read timeout does bite."""
    server = server_factory({"SSE_HEARTBEAT_S": "5"})
    reader = StreamReader(nginx_factory(server, stream_read_timeout_s=1.5).client(), "/api/events")
    reader.wait_for(lambda events: any(event.event == "snapshot" for event in events))
    reader.wait_ended(timeout=4.5)


def test_a_client_gone_at_nginx_is_noticed_within_two_heartbeats(server_factory, nginx_factory) -> None:  # noqa: F811
    server = server_factory()
    reader = StreamReader(nginx_factory(server).client(), "/api/events")
    reader.wait_for(lambda events: any(event.event == "snapshot" for event in events))
    wait_for_streams(server, 1)

    gone = time.monotonic()
    reader.close()  # drops the whole HTTP/2 connection, as a browser that quits
    noticed = wait_for_streams(server, 0) - gone
    print(f"\nclient gone at nginx, noticed by the server after {noticed * 1000:.0f} ms "
          f"(heartbeat every {HEARTBEAT_S:.0f} s)")
    assert noticed < 2 * HEARTBEAT_S + 2.0  # two heartbeats, and room for a busy machine


def test_behind_nginx_each_client_is_its_own_owner_for_limits_and_the_log(server_factory, nginx_factory) -> None:  # noqa: F811
    """Issue 16: no more one owner, 127.0.0.1, for every client behind the proxy."""
    server = server_factory({"LIMIT_STREAMS_PER_OWNER": "1"})
    nginx = nginx_factory(server)
    ann, bob = nginx.client(source="127.0.0.2"), nginx.client(source="127.0.0.3")
    assert ann.get("/api/session").json()["owner"] == "127.0.0.2"

    streams = [StreamReader(ann, "/api/events"), StreamReader(bob, "/api/events")]
    try:
        for reader in streams:
            reader.wait_connected()
            assert reader.status == 200
        second = ann.get("/api/events")  # refused before the stream starts: an ordinary answer
        assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
        assert "Retry-After" in second.headers
    finally:
        for reader in streams:
            reader.close()
    logged = [line for line in server.log().splitlines() if "path=/api/" in line]
    assert any("path=/api/session status=200" in line and line.endswith("owner=127.0.0.2") for line in logged)
    assert all(line.endswith(("owner=127.0.0.2", "owner=127.0.0.3")) for line in logged)


def test_with_gunicorn_down_the_api_answers_json_and_streams_are_dropped_to_retry(nginx_factory) -> None:  # noqa: F811
    client = nginx_factory(free_port()).client()  # nothing listens there

    answer = client.get("/api/kinds")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.json()["error"]["code"] == "unavailable"
    with pytest.raises(httpx.RemoteProtocolError):  # no status an EventSource would give up on
        client.get("/api/events")
