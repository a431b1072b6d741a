"""Raw HTTP/1.1 for what httpx-sse hides or httpx won't do: raw stream bytes, unread bodies, pipelining, a reader that never reads."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import h11
import httpx


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def connect(url: str, timeout: float = 10.0, receive_buffer: int | None = None) -> socket.socket:
    """A plain TCP connection to the server; `receive_buffer` shrinks the kernel's buffer before connecting."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.connect((parts.hostname, parts.port))
    return sock


@contextlib.contextmanager
def loopback_pair() -> Iterator[tuple[socket.socket, socket.socket, tuple[str, int], socket.socket]]:
    """A TCP connection over loopback, in this process: (listener, the server's end, the
    client's address, the client's end); all closed at the end."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname()) as client:
            server, addr = listener.accept()
            with server:
                yield listener, server, addr, client


def request(method: str, target: str, headers: dict[str, str] | None = None) -> h11.Request:
    return h11.Request(method=method, target=target, headers=[("Host", "127.0.0.1"), *(headers or {}).items()])


def encode(req: h11.Request, body: bytes = b"") -> bytes:
    """The request's bytes as sent; with a `Content-Length` header, `body` may be shorter (or absent)."""
    conn = h11.Connection(h11.CLIENT)
    data = conn.send(req)
    if body:
        data += conn.send(h11.Data(data=body))
    return data


def read_responses(sock: socket.socket, requests: list[h11.Request], deadline_s: float = 10.0) -> list[RawResponse]:
    """One complete response per request sent on `sock` (pipelined or not), read before the deadline."""
    deadline = time.monotonic() + deadline_s
    leftover = b""
    responses = []
    for req in requests:
        conn = h11.Connection(h11.CLIENT)
        conn.send(req)
        if leftover:  # b"" would tell h11 the connection closed
            conn.receive_data(leftover)
        head, body = None, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                _receive(sock, conn, deadline, f"{len(responses)} of {len(requests)} responses")
            elif isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
            else:
                raise AssertionError(f"unexpected {event!r} after {len(responses)} responses")
        leftover = conn.trailing_data[0]
        responses.append(RawResponse(head.status_code,
                                     {k.decode("latin-1"): v.decode("latin-1") for k, v in head.headers},
                                     body))
    return responses


def read_stream_bytes(client: httpx.Client, path: str, until: Callable[[bytes], bool],
                      deadline_s: float = 15.0, headers: dict[str, str] | None = None) -> tuple[httpx.Response, bytes]:
    """A stream's body bytes as sent (comments included), read until `until` holds or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    data = b""
    with client.stream("GET", path, headers=headers, timeout=httpx.Timeout(10.0, read=5.0)) as response:
        for chunk in response.iter_raw():
            data += chunk
            if until(data):
                return response, data
            assert time.monotonic() < deadline, f"{path} sent only {data!r} within {deadline_s} s"
    raise AssertionError(f"{path} ended after {data!r}")


def blocks(data: bytes) -> list[bytes]:
    """The complete blocks of an event stream (the text between blank lines)."""
    return data.split(b"\n\n")[:-1]


def body_chunks(sock: socket.socket, req: h11.Request, deadline_s: float = 30.0) -> Iterator[bytes]:
    """The body of the response to `req` (already sent on `sock`), de-chunked, as it arrives."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(req)
    deadline = time.monotonic() + deadline_s
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            _receive(sock, conn, deadline, "the response was not over")
        elif isinstance(event, h11.Data):
            yield bytes(event.data)
        elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
            return


def _receive(sock: socket.socket, conn: h11.Connection, deadline: float, what: str) -> None:
    """Feed h11 the next bytes from `sock`, failing with `what` once the deadline has passed."""
    remaining = deadline - time.monotonic()
    assert remaining > 0, f"{what} by the deadline"
    sock.settimeout(remaining)
    conn.receive_data(sock.recv(1 << 20))
