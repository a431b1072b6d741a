"""Every open stream is a socket: gunicorn.conf.py raises a low open-file limit and warns
when the hard limit keeps it below `worker_connections` (issue #6)."""

import resource
import socket
import struct
import subprocess
import sys

from tests.conftest import ROOT, start_server

WANTED = 20000 + 1024
"""worker_connections, plus room for files, logs and other sockets."""


def lower_soft_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def test_the_config_raises_a_soft_limit_of_1024_as_far_as_the_hard_one_allows():
    code = ("import resource, runpy; runpy.run_path('gunicorn.conf.py'); "
            "print(*resource.getrlimit(resource.RLIMIT_NOFILE))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, preexec_fn=lower_soft_limit)
    soft, hard = map(int, result.stdout.split())
    assert soft == (WANTED if hard == resource.RLIM_INFINITY else min(WANTED, hard))


def test_a_server_whose_hard_limit_caps_the_streams_says_so_at_start(tmp_path):
    cap = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])

    def low_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, cap), cap))

    server = start_server(tmp_path, before_exec=low_hard_limit)
    try:
        assert f"the open-file limit is {cap}, so a worker holds fewer than 20000 streams" in server.log()
    finally:
        server.stop()


def open_stream_socket(port: int) -> socket.socket:
    """A raw `/api/events` stream, returned once its first bytes arrived."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(1 << 16).startswith(b"HTTP/1.1 200 OK")
    except BaseException:
        sock.close()
        raise
    return sock


def test_streams_reset_at_once_free_their_sockets_for_the_clients_coming_back(tmp_path):
    """A proxy or network blip resets every stream, and every client comes back: the worker
    must not hold the old sockets until a heartbeat finds them (15 s here), or the new ones
    meet the open-file limit and wait in the backlog (docs/performance.md, sixth round)."""
    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    server = start_server(tmp_path, env={"SSE_HEARTBEAT_S": "15"}, before_exec=limit_files)
    port = int(server.url.rsplit(":", 1)[1])
    streams: list[socket.socket] = []
    try:
        for _ in range(2):  # 2 x 150 streams: more than the limit unless the reset ones are freed
            while len(streams) < 150:
                streams.append(open_stream_socket(port))  # each waits at most 10 s
            while streams:
                sock = streams.pop()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
        assert "Too many open files" not in server.log()
    finally:
        for sock in streams:
            sock.close()
        server.stop()
