"""SSE connections taken over from gunicorn (progress/gunicorn_transport/takeover.py), seen from
the wire: exact HTTP/1.1, and the connection goes back to gunicorn's keep-alive loop when a stream
ends. The take-over is on only for the gunicorn versions tested."""

import io
import logging
from types import SimpleNamespace

import pytest

from progress.gunicorn_transport import install, takeover_supported
from tests import raw_http
from tests.conftest import start_job


def test_one_connection_carries_job_streams_and_requests_in_turn(client, server):
    """Each stream is taken over from gunicorn and the connection given back when it ends."""
    with raw_http.connect(server.url) as sock:
        for _ in range(2):
            job = start_job(client, "sleep", seconds=1, steps=4)  # live when its stream opens
            stream_req = raw_http.request("GET", f"/api/jobs/{job['id']}/events")
            health_req = raw_http.request("GET", "/healthz")
            sock.sendall(raw_http.encode(stream_req))
            (stream,) = raw_http.read_responses(sock, [stream_req], deadline_s=15)  # h11 checks every chunk
            sock.sendall(raw_http.encode(health_req))  # once the stream is over, as a browser would
            (health,) = raw_http.read_responses(sock, [health_req])
            assert stream.status == 200 and stream.headers["transfer-encoding"] == "chunked"
            assert stream.headers["content-type"].startswith("text/event-stream") and "date" in stream.headers
            assert raw_http.blocks(stream.body)[0] == b"retry: 500"
            assert raw_http.blocks(stream.body)[-1].startswith(b"event: state\n")
            assert health.status == 200


def test_an_http_1_0_client_gets_its_stream_unchunked_until_the_connection_closes(client, server):
    """HTTP/1.0 has no chunks: such a stream stays gunicorn's, in a greenlet, and ends with the connection."""
    job = start_job(client, "sleep", seconds=0.5, steps=2)
    with raw_http.connect(server.url) as sock:
        sock.sendall(f"GET /api/jobs/{job['id']}/events HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(1 << 16):  # to the server's close, within the socket's timeout
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.0 200 ") and b"transfer-encoding" not in head.lower()
    assert raw_http.blocks(body)[-1].startswith(b"event: state\n")


def test_a_client_that_asks_to_close_gets_connection_close_and_the_end_closes_it(client, server):
    job = start_job(client, "sleep", seconds=0.5, steps=2)
    req = raw_http.request("GET", f"/api/jobs/{job['id']}/events", {"Connection": "close"})
    with raw_http.connect(server.url) as sock:
        sock.sendall(raw_http.encode(req))
        (stream,) = raw_http.read_responses(sock, [req], deadline_s=15)
        assert stream.headers["connection"] == "close"
        assert raw_http.blocks(stream.body)[-1].startswith(b"event: state\n")
        assert sock.recv(1) == b""  # closed by the server once the stream ended


def test_a_request_pipelined_behind_a_stream_is_answered_after_it(client, server):
    """gunicorn's parser already holds the second request, so that stream stays gunicorn's."""
    job = start_job(client, "sleep", seconds=0.5, steps=2)
    pipelined = [raw_http.request("GET", f"/api/jobs/{job['id']}/events"), raw_http.request("GET", "/healthz")]
    with raw_http.connect(server.url) as sock:
        sock.sendall(b"".join(raw_http.encode(req) for req in pipelined))
        stream, health = raw_http.read_responses(sock, pipelined, deadline_s=15)
    assert raw_http.blocks(stream.body)[-1].startswith(b"event: state\n")
    assert health.status == 200


@pytest.mark.parametrize(("version", "supported"), [
    ("27.0.1", True), ("23.0.0", True), ("22.0.0", False), ("28.0.0", False), ("30.1", False)])
def test_the_takeover_is_on_only_for_the_gunicorn_versions_tested(version, supported):
    assert takeover_supported(version) is supported


def test_an_untested_gunicorn_keeps_streams_in_its_greenlets_with_one_warning(caplog):
    """The take-over leans on gunicorn's insides: outside the tested versions it stays off."""
    app = object()
    worker = SimpleNamespace(handle=lambda listener, client, addr: None, wsgi=SimpleNamespace(wsgi_app=app))
    with caplog.at_level(logging.WARNING, logger="progress.gunicorn_transport"):
        connections = install(worker, version="99.0")
    assert worker.wsgi.wsgi_app is app  # no take-over: gunicorn's greenlet serves each stream
    assert connections == {}  # still tracked, for the graceful shutdown
    assert [record.getMessage() for record in caplog.records] == [
        "gunicorn 99.0 is outside the versions tested (23 to before 28): SSE streams keep a greenlet "
        "each instead of being served detached"]


def detachable_request(sock) -> dict:
    """The environ of a GET over HTTP/1.1 on gunicorn's plain socket, nothing read ahead."""
    return {"gunicorn.socket": sock, "REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.input": SimpleNamespace(reader=SimpleNamespace(unreader=SimpleNamespace(buf=io.BytesIO())))}


@pytest.mark.parametrize("writes", [False, True])
def test_an_answer_that_is_not_a_stream_reaches_gunicorn_with_its_head_and_writes(writes):
    """The take-over holds the head until it knows whether it will send the answer itself (issue
    14 part 8); anything else goes to gunicorn as the app gave it, WSGI's `write()` included."""
    import gevent.socket

    sock, peer = gevent.socket.socketpair()
    worker = SimpleNamespace(handle=lambda listener, client, addr: None, wsgi=SimpleNamespace())
    calls = []

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        if writes:
            write(b"early ")
        return [b"body"]

    def gunicorns_start_response(status, headers, exc_info=None):
        calls.append((status, headers, exc_info))
        return lambda data: calls.append(data)

    worker.wsgi.wsgi_app = app
    connections = install(worker, version="27.0.1")
    connections[sock] = ("listener", "addr")
    try:
        body = worker.wsgi.wsgi_app(detachable_request(sock), gunicorns_start_response)
        assert body == [b"body"]
        assert calls == [("200 OK", [("Content-Type", "text/plain")], None), *([b"early "] if writes else [])]
    finally:
        sock.close()
        peer.close()
