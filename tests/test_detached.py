"""A detached stream (progress/gunicorn_transport/detached.py): the hub writes every event, a greenlet runs only
while a write waits, and the stream's endings, order and HTTP framing stay exact."""

import gc
import socket
import struct

import gevent
import greenlet
import pytest

from progress.gunicorn_transport.chunked import ChunkedSocket, http_chunk
from progress.gunicorn_transport.detached import HEARTBEAT_CHUNK, LAST_CHUNK, Drainer, Heartbeats
from progress.hub import Hub
from progress.sse import SERVER_STOPPING
from progress.streams import Opened, Stream
from tests import raw_http
from tests.test_direct_write import SmallSocket
from tests.test_hub import publish_progress, publish_state

HEAD = b"HTTP/1.1 200 OK\r\n\r\n"


class Ends:
    """The `on_end` callback: records whether the connection may serve another request."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, sock: SmallSocket, keep_alive: bool) -> None:
        self.calls.append(keep_alive)


def detach(opened: Opened, sock: SmallSocket, heartbeats: Heartbeats | None = None) -> Ends:
    ends = Ends()
    Drainer.run(Stream(lambda: opened, 10.0), sock, HEAD, ends, heartbeats or Heartbeats(10.0))  # type: ignore[arg-type]
    gevent.sleep(0.01)
    return ends


def live_greenlets() -> int:
    return sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet) and not obj.dead)


def test_the_publisher_writes_each_event_and_the_end_gives_the_connection_back():
    hub = Hub()
    sock = SmallSocket()
    ends = detach(Opened(b"first", hub.subscribe("a")), sock)
    progress = publish_progress(hub, "a", 1)
    assert sock.wire == HEAD + http_chunk(b"first") + http_chunk(progress.frame)  # written at once
    end = publish_state(hub, "a", "succeeded", terminal=True)
    gevent.sleep(0.01)
    assert sock.wire.endswith(http_chunk(progress.frame) + http_chunk(end.frame) + LAST_CHUNK)
    assert ends.calls == [True]
    assert hub.subscriber_count == 0


def test_no_greenlet_waits_on_an_idle_detached_stream():
    hub = Hub()
    heartbeats = Heartbeats(10.0)
    idle = live_greenlets()
    socks = [SmallSocket() for _ in range(50)]
    for sock in socks:
        detach(Opened(b"first", hub.subscribe()), sock, heartbeats)
    queued = publish_state(hub, "a", "queued")
    gevent.sleep(0.01)
    assert live_greenlets() <= idle + 1  # the one heartbeat greenlet
    assert all(sock.wire.endswith(http_chunk(queued.frame)) for sock in socks)


def test_a_stream_that_ends_with_its_first_bytes_is_written_whole_at_once():
    sock = SmallSocket()
    ends = detach(Opened(b"snapshot of a finished job"), sock)
    assert sock.wire == HEAD + http_chunk(b"snapshot of a finished job") + LAST_CHUNK
    assert ends.calls == [True]


def test_what_the_socket_would_not_take_is_sent_first_then_the_backlog_in_id_order():
    hub = Hub()
    sock = SmallSocket()
    ends = detach(Opened(b"first", hub.subscribe("a")), sock)
    sock.room = 10  # the client stopped reading: the next chunk goes out in part
    cut = publish_progress(hub, "a", 1)
    later = publish_progress(hub, "a", 2)
    end = publish_state(hub, "a", "succeeded", terminal=True)
    gevent.sleep(0.01)
    assert sock.wire == (HEAD + http_chunk(b"first") + http_chunk(cut.frame)
                         + http_chunk(later.frame + end.frame) + LAST_CHUNK)
    assert ends.calls == [True]


def test_a_client_gone_ends_the_stream_and_closes_the_connection():
    hub = Hub()
    sock = SmallSocket()
    ends = detach(Opened(b"first", hub.subscribe()), sock)
    sock.gone = True
    sock.send_rest = sock.send_now  # type: ignore[method-assign] # the drainer's write fails too
    publish_state(hub, "a", "queued")
    gevent.sleep(0.01)
    assert ends.calls == [False]
    assert hub.subscriber_count == 0


def test_a_quiet_stream_gets_heartbeats_and_a_heartbeat_finds_a_client_gone():
    hub = Hub()
    sock = SmallSocket()
    ends = detach(Opened(b"first", hub.subscribe()), sock, Heartbeats(0.04))
    gevent.sleep(0.2)
    assert sock.wire.startswith(HEAD + http_chunk(b"first") + HEARTBEAT_CHUNK + HEARTBEAT_CHUNK)
    sock.gone = True
    sock.send_rest = sock.send_now  # type: ignore[method-assign]
    gevent.sleep(0.1)
    assert ends.calls == [False]
    assert hub.subscriber_count == 0


def test_a_server_stopping_sends_the_farewell_then_closes_the_connection():
    hub = Hub()
    sock = SmallSocket()
    ends = detach(Opened(b"first", hub.subscribe()), sock)
    hub.close(SERVER_STOPPING)
    gevent.sleep(0.01)
    assert sock.wire.endswith(http_chunk(SERVER_STOPPING) + LAST_CHUNK)
    assert ends.calls == [False]


def test_a_backlog_past_the_mailbox_limit_ends_the_stream_for_the_client_to_resume():
    hub = Hub(mailbox_limit=3)
    sock = SmallSocket()
    ends = detach(Opened(b"first", hub.subscribe()), sock)
    sock.room = 0  # nothing more goes out at once: events pile up in the mailbox
    publish_state(hub, "a", "queued")
    held = sock.send_rest
    sock.send_rest = lambda data: gevent.sleep(0.05) or held(data)  # type: ignore[method-assign]
    for n in range(6):
        publish_state(hub, f"job{n}", "queued")
    gevent.sleep(0.2)
    assert sock.wire.endswith(LAST_CHUNK)
    assert ends.calls == [True]
    assert hub.subscriber_count == 0


def test_a_write_failing_as_the_stream_opens_releases_the_subscription():
    hub = Hub()
    sock = SmallSocket(gone=True)
    sock.send_rest = sock.send_now  # type: ignore[method-assign]
    ends = detach(Opened(b"first", hub.subscribe()), sock)
    assert ends.calls == [False]
    assert hub.subscriber_count == 0


def test_the_heartbeat_greenlet_lets_the_loop_run_between_batches(monkeypatch):
    monkeypatch.setattr("progress.gunicorn_transport.detached.PINGS_PER_TURN", 2)
    hub, heartbeats = Hub(), Heartbeats(0.04)
    socks = [SmallSocket() for _ in range(6)]
    for sock in socks:  # all at once, so all fall quiet in the same tick
        stream = Stream(lambda: Opened(b"first", hub.subscribe()), 0.04)
        Drainer.run(stream, sock, HEAD, Ends(), heartbeats)  # type: ignore[arg-type]
    seen: set[int] = set()

    def watch() -> None:
        while len(seen) < 7:
            seen.add(sum(sock.wire.count(HEARTBEAT_CHUNK) for sock in socks))
            gevent.sleep(0)

    watcher = gevent.spawn(watch)
    watcher.join(timeout=1)
    assert {2, 4} <= seen  # the loop ran while the first tick's heartbeats were part written


@pytest.fixture
def tcp_pair():
    """A connected TCP pair over loopback: the server's end wrapped as the take-over wraps it."""
    with raw_http.loopback_pair() as (_, server, _, client):
        yield ChunkedSocket(server), client


def reset(client: socket.socket) -> None:
    """A reset, as a proxy or a network blip cuts a connection."""
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()


@pytest.mark.parametrize("hang_up", [reset, socket.socket.close],  # a close: a tab closed
                         ids=["reset", "close"])
def test_a_client_that_hangs_up_ends_its_stream_at_once_not_at_the_next_heartbeat(tcp_pair, hang_up):
    """A close is found by a heartbeat sent at once, which the closed socket answers with a reset."""
    sock, client = tcp_pair
    hub = Hub()
    ends = detach(Opened(b"first", hub.subscribe()), sock, Heartbeats(30.0))
    hang_up(client)
    gevent.sleep(0.2)
    assert ends.calls == [False]
    assert hub.subscriber_count == 0


def test_a_client_that_only_stops_sending_keeps_reading_its_stream(tcp_pair):
    sock, client = tcp_pair
    hub = Hub()
    ends = detach(Opened(b"first", hub.subscribe("a")), sock, Heartbeats(30.0))
    client.shutdown(socket.SHUT_WR)  # as `nc` does once its input ends
    gevent.sleep(0.2)
    event = publish_state(hub, "a", "succeeded", terminal=True)
    gevent.sleep(0.2)
    received = b""
    while not received.endswith(LAST_CHUNK):
        received += client.recv(1 << 16)
    assert received == HEAD + http_chunk(b"first") + HEARTBEAT_CHUNK + http_chunk(event.frame) + LAST_CHUNK
    assert ends.calls == [True]
