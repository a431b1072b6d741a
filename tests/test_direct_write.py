"""Events the hub writes straight to an idle stream's socket keep the HTTP framing and the
stream's order and endings exact (progress/gunicorn_transport/direct.py, issue #6)."""

import json
import os

import gevent
import pytest
from gevent import socket as gevent_socket

from progress.gunicorn_transport.chunked import ChunkedSocket, http_chunk
from progress.gunicorn_transport.direct import DirectReader
from progress.hub import Hub
from progress.sse import event_stream
from tests import raw_http
from tests.conftest import start_job
from tests.test_hub import publish_progress, publish_state


NOT_A_SOCKET = os.open(os.devnull, os.O_RDONLY)
"""One descriptor for every `SmallSocket`, open for the session."""


class SmallSocket:
    """A client socket that takes `room` bytes at once, then would block; `send_rest` waits."""

    def __init__(self, room: int = 1 << 20, gone: bool = False) -> None:
        self.room = room
        self.gone = gone
        self.wire = b""

    def send_now(self, data: bytes) -> int:
        if self.gone:
            raise BrokenPipeError()
        taken = min(self.room, len(data))
        self.room -= taken
        self.wire += data[:taken]
        return taken

    def send_rest(self, data: bytes) -> None:
        self.wire += data

    def fileno(self) -> int:
        return NOT_A_SOCKET  # epoll refuses it: the hang-up watch leaves it to the heartbeat


def serve(sub, sock: SmallSocket, heartbeat: float = 10.0) -> gevent.Greenlet:
    """The stream's greenlet as gunicorn runs it: each yielded block goes out as one chunk."""
    def run() -> None:
        for block in event_stream(sub, b"first", heartbeat, DirectReader(sock)):  # type: ignore[arg-type]
            sock.wire += http_chunk(block)
    greenlet = gevent.spawn(run)
    gevent.sleep(0.01)  # the stream sends its first bytes and waits idle
    return greenlet


def test_an_idle_job_stream_gets_events_written_by_the_publisher_and_ends_after_the_terminal_one():
    hub = Hub()
    sock = SmallSocket()
    stream = serve(hub.subscribe("a"), sock)
    progress = publish_progress(hub, "a", 1)
    end = publish_state(hub, "a", "succeeded", terminal=True)
    stream.join(timeout=5)
    assert stream.dead
    assert sock.wire == http_chunk(b"first") + http_chunk(progress.frame) + http_chunk(end.frame)
    assert hub.subscriber_count == 0


def test_what_the_socket_would_not_take_goes_first_then_the_rest_in_id_order():
    hub = Hub()
    sock = SmallSocket()
    stream = serve(hub.subscribe("a"), sock)
    sock.room = 10  # the client stopped reading: the next chunk goes out in part
    cut = publish_progress(hub, "a", 1)
    later = publish_progress(hub, "a", 2)
    end = publish_state(hub, "a", "succeeded", terminal=True)
    stream.join(timeout=5)
    assert stream.dead
    assert sock.wire == http_chunk(b"first") + http_chunk(cut.frame) + http_chunk(later.frame + end.frame)


def test_a_client_gone_before_a_direct_write_gets_the_event_through_the_stream_instead():
    hub = Hub()
    sock = SmallSocket(gone=True)
    stream = serve(hub.subscribe(), sock)
    event = publish_state(hub, "a", "queued")
    gevent.sleep(0.01)
    assert sock.wire.endswith(http_chunk(event.frame))  # the stream's own write finds the broken pipe
    stream.kill()


@pytest.mark.parametrize(("has_socket", "method", "protocol", "direct"), [
    (True, "GET", "HTTP/1.1", True),
    (False, "GET", "HTTP/1.1", False),  # python -m web: gevent's pywsgi
    (True, "HEAD", "HTTP/1.1", False),  # no body at all
    (True, "GET", "HTTP/1.0", False),  # not chunked
    (True, "GET", "HTTP/2.0", False),  # framed by HTTP/2
])
def test_direct_writes_only_where_gunicorn_sends_a_chunked_body(has_socket, method, protocol, direct):
    with gevent_socket.socket() as sock:
        environ = {"REQUEST_METHOD": method, "SERVER_PROTOCOL": protocol}
        if has_socket:
            environ["gunicorn.socket"] = sock
        assert (ChunkedSocket.from_environ(environ) is not None) is direct


def test_a_job_stream_is_exact_chunked_http_and_its_connection_serves_the_next_request(client, server):
    job = start_job(client, "sleep", seconds=1, steps=6)  # long enough to be live when the stream opens
    stream = raw_http.request("GET", f"/api/jobs/{job['id']}/events")
    health = raw_http.request("GET", "/healthz")
    with raw_http.connect(server.url) as sock:
        sock.sendall(raw_http.encode(stream))
        (events,) = raw_http.read_responses(sock, [stream], deadline_s=15)  # h11 checks every chunk
        sock.sendall(raw_http.encode(health))
        (after,) = raw_http.read_responses(sock, [health])
    blocks = raw_http.blocks(events.body)
    assert blocks[0] == b"retry: 500" and blocks[-1].startswith(b"event: state\n")
    assert json.loads(blocks[-1].split(b"data: ", 1)[1])["state"] == "succeeded"
    assert after.status == 200
