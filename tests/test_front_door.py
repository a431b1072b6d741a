"""Streams opened before gunicorn reads the request (progress/gunicorn_transport/front_door.py,
issue 14 part 8): a plain stream request is answered by the app's `StreamOpener`; anything
else stays on the socket, untouched, for gunicorn. On a real `gunicorn -k gevent` whose
`pre_request` hook logs what gunicorn itself read (tests/spy_gunicorn.conf.py), and in the
process on a loopback connection."""

import os
import signal
import socket
import time
from pathlib import Path

import pytest
from gunicorn.config import Config

from progress.gunicorn_transport.front_door import FrontDoor, plain_stream_request
from tests import raw_http
from tests.conftest import start_job, start_server

PLAIN = b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nAccept: text/event-stream\r\n\r\n"


def test_a_plain_stream_request_is_read_with_its_target_and_headers():
    target, headers = plain_stream_request(PLAIN, max_fields=100)
    assert target == b"/api/events"
    assert headers == [(b"Host", b"127.0.0.1:8000"), (b"Accept", b"text/event-stream")]


@pytest.mark.parametrize("data", [
    PLAIN.replace(b"GET", b"POST"),
    PLAIN.replace(b"GET", b"HEAD"),
    PLAIN.replace(b"HTTP/1.1", b"HTTP/1.0"),
    PLAIN.replace(b"/api/events", b"http://127.0.0.1:8000/api/events"),  # absolute form
    PLAIN.replace(b"/api/events", b"//127.0.0.1/api/events"),
    PLAIN[:-2],  # the head is still arriving
    PLAIN + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",  # a pipelined request behind it
    PLAIN.replace(b"\r\n\r\n", b"\r\nContent-Length: 0\r\n\r\n"),
    PLAIN.replace(b"\r\n\r\n", b"\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    PLAIN.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"),
    PLAIN.replace(b"\r\n\r\n", b"\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"),
    PLAIN.replace(b"Accept:", b"X_Accept:"),  # gunicorn drops a name with `_`
    PLAIN.replace(b"\r\nAccept", b"\nAccept"),  # a bare LF
    PLAIN.replace(b"Accept:", b"Acc ept:"),  # not a header name: llhttp refuses it
    b"GET /api/events HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % n for n in range(101)) + b"\r\n",
    b"",
])
def test_anything_but_a_plain_complete_get_is_left_to_gunicorn(data):
    assert plain_stream_request(data, max_fields=100) is None


@pytest.mark.parametrize("setting, value", [(None, None), ("proxy_protocol", "v1"), ("http2_cleartext", "upgrade"),
                                            ("protocol", "uwsgi")])
def test_the_front_door_opens_only_where_gunicorn_would_make_a_plain_environ(setting, value):
    cfg = Config()
    if setting:
        cfg.set(setting, value)
    assert FrontDoor.applies_to(cfg) is (setting is None)


@pytest.fixture(scope="module")
def spied(tmp_path_factory: pytest.TempPathFactory):
    server = start_server(tmp_path_factory.mktemp("spied"), config=Path(__file__).with_name("spy_gunicorn.conf.py"))
    yield server
    server.stop()


def read_by_gunicorn(server, path: str) -> bool:
    return f"gunicorn read GET {path}\n" in server.log()


def test_a_stream_opens_before_gunicorn_reads_it_and_the_next_request_is_gunicorns(spied):
    with spied.client() as client:
        job = start_job(client, "sleep", seconds=0.3, steps=2)
    stream_req = raw_http.request("GET", f"/api/jobs/{job['id']}/events")
    health_req = raw_http.request("GET", "/healthz")
    with raw_http.connect(spied.url) as sock:
        sock.sendall(raw_http.encode(stream_req))
        (stream,) = raw_http.read_responses(sock, [stream_req], deadline_s=15)
        sock.sendall(raw_http.encode(health_req))  # on the same connection, once the stream ended
        (health,) = raw_http.read_responses(sock, [health_req])
    assert stream.status == 200 and stream.headers["x-content-type-options"] == "nosniff"
    assert raw_http.blocks(stream.body)[-1].startswith(b"event: state\n")
    assert health.status == 200
    assert not read_by_gunicorn(spied, f"/api/jobs/{job['id']}/events")
    assert read_by_gunicorn(spied, "/healthz")
    assert f"method=GET path=/api/jobs/{job['id']}/events status=200" in spied.log()  # the same log line


def test_a_head_that_arrives_in_two_parts_is_gunicorns_and_still_a_stream(spied):
    with raw_http.connect(spied.url) as sock:
        sock.sendall(PLAIN[:20])
        time.sleep(0.3)  # the front door saw an unfinished head and left it to gunicorn
        sock.sendall(PLAIN[20:])
        first = sock.recv(1 << 16)
    assert first.startswith(b"HTTP/1.1 200 OK\r\n") and b"retry: " in first
    assert read_by_gunicorn(spied, "/api/events")


def test_a_refused_stream_is_answered_by_the_app_in_the_contracts_json(spied):
    req = raw_http.request("GET", "/api/jobs/nosuchjob/events")
    with raw_http.connect(spied.url) as sock:
        sock.sendall(raw_http.encode(req))
        (answer,) = raw_http.read_responses(sock, [req])
    assert answer.status == 404 and b'"code":"not_found"' in answer.body
    assert read_by_gunicorn(spied, "/api/jobs/nosuchjob/events")


def test_a_connection_that_says_nothing_is_closed_after_the_keep_alive_timeout(spied):
    with socket.create_connection(("127.0.0.1", int(spied.url.rsplit(":", 1)[1])), timeout=15) as sock:
        opened = time.monotonic()
        assert sock.recv(1) == b""  # keepalive: 5 s, from the default SSE_RETRY_MS
        assert 4 < time.monotonic() - opened < 12


def test_a_silent_connection_does_not_hold_the_exit(tmp_path):
    """SIGTERM shuts the read side of every connection, the front door's waiting ones too."""
    server = start_server(tmp_path, env={"SSE_RETRY_MS": "20000"})  # keepalive: 23 s
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=15):
        time.sleep(0.2)
        signalled = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(15)
    assert time.monotonic() - signalled < 8
    assert server.process.returncode == 0 and "[ERROR]" not in server.log()


class Worker:
    """What the front door reads of gunicorn's worker."""

    alive = True
    cfg = Config()


@pytest.fixture
def connection():
    with raw_http.loopback_pair() as pair:
        yield pair


def serve_first_request(connection, opener) -> tuple[list[bytes], list[tuple]]:
    """Run the front door on one connection: what gunicorn's `handle` then read, and what was detached."""
    listener, server, addr, client = connection
    read_by_gunicorn: list[bytes] = []
    detached: list[tuple] = []
    door = FrontDoor(Worker(), opener, lambda *args: detached.append(args))
    client.sendall(PLAIN)
    door.wrap(lambda _listener, sock, _addr: read_by_gunicorn.append(sock.recv(1 << 16)))(listener, server, addr)
    return read_by_gunicorn, detached


def test_a_stream_the_opener_gives_is_detached_with_its_head_and_the_request_taken_off(connection):
    stream = object()

    def opener(environ, start_response):
        assert (environ["PATH_INFO"], environ["HTTP_ACCEPT"], environ["REMOTE_ADDR"]) == \
            ("/api/events", "text/event-stream", "127.0.0.1")
        start_response("200 OK", [("Content-Type", "text/event-stream")])
        return stream

    read_by_gunicorn, [detached] = serve_first_request(connection, opener)
    assert read_by_gunicorn == []
    assert detached[0] is stream and detached[3:] == ("200 OK", [("Content-Type", "text/event-stream")], True)
    _, server, _, _ = connection
    server.setblocking(False)
    with pytest.raises(BlockingIOError):
        server.recv(1)  # nothing left unread


def failing_opener(environ, start_response):
    raise RuntimeError("a bug")


@pytest.mark.parametrize("opener", [lambda environ, start_response: None, failing_opener], ids=["refused", "failed"])
def test_a_request_the_opener_does_not_take_reaches_gunicorn_whole(connection, opener):
    read_by_gunicorn, detached = serve_first_request(connection, opener)
    assert read_by_gunicorn == [PLAIN] and detached == []
