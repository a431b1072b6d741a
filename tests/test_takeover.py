"""SSE connections taken over from gunicorn (progress/takeover.py), seen from the wire: exact
HTTP/1.1, and the connection goes back to gunicorn's keep-alive loop when a stream ends."""

from tests import raw_http
from tests.conftest import start_job


def test_one_connection_carries_two_job_streams_and_a_request_between_and_after(client, server):
    first, second = (start_job(client, "sleep", seconds=1, steps=4) for _ in range(2))
    exchange = [raw_http.request("GET", f"/api/jobs/{first['id']}/events"), raw_http.request("GET", "/healthz"),
                raw_http.request("GET", f"/api/jobs/{second['id']}/events"), raw_http.request("GET", "/healthz")]
    with raw_http.connect(server.url) as sock:
        responses = []
        for req in exchange:  # each sent once the previous answer is complete, as a browser would
            sock.sendall(raw_http.encode(req))
            responses += raw_http.read_responses(sock, [req], deadline_s=15)  # h11 checks every chunk
    first_stream, health, second_stream, health_again = responses
    for stream in (first_stream, second_stream):
        assert stream.status == 200 and stream.headers["transfer-encoding"] == "chunked"
        assert stream.headers["content-type"].startswith("text/event-stream") and "date" in stream.headers
        assert raw_http.blocks(stream.body)[-1].startswith(b"event: state\n")
    assert health.status == health_again.status == 200


def test_an_http_1_0_client_gets_its_stream_unchunked_until_the_connection_closes(client, server):
    """HTTP/1.0 has no chunks: such a stream stays gunicorn's, in a greenlet, and ends with the connection."""
    job = start_job(client, "sleep", seconds=0.5, steps=2)
    with raw_http.connect(server.url) as sock:
        sock.sendall(f"GET /api/jobs/{job['id']}/events HTTP/1.0\r\nHost: test\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(1 << 16):  # to the server's close, within the socket's timeout
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.0 200 ") and b"transfer-encoding" not in head.lower()
    assert raw_http.blocks(body)[-1].startswith(b"event: state\n")
