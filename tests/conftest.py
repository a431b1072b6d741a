"""Fixtures: a real `gunicorn -c gunicorn.conf.py` on a free port, and SSE readers with deadlines."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from httpx_sse import ServerSentEvent, connect_sse

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
BOOT_DEADLINE_S = 20.0
STOP_DEADLINE_S = 15.0

TEST_ENV = {
    "JOB_KINDS_MODULES": "tests.kinds_for_tests",
    "SSE_HEARTBEAT_S": "1",
    "SSE_RETRY_MS": "500",
    "LIMIT_STREAMS_PER_OWNER": "0",
    "LIMIT_QUEUED_PER_OWNER": "0",
    "LIMIT_JOBS_PER_MINUTE": "0",
    "LIMIT_RUNNING_PER_OWNER": "0",
    "CLEANUP_CRON": "off",
}
"""Every test server loads the test kinds and heartbeats every second, so tests stay quick;
per-owner limits are off but where a test is about them (tests/test_limits.py)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running gunicorn in its own process group, logging to a file (an undrained pipe stalls it)."""

    process: subprocess.Popen
    url: str
    log_path: Path
    data_dir: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kwargs: object) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=httpx.Timeout(10.0), **kwargs)
        self.clients.append(client)
        return client

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, deadline: float = STOP_DEADLINE_S) -> int:
        """SIGTERM the group, wait, SIGKILL after the deadline; returns the exit code."""
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(deadline)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def start_server(log_dir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 before_exec: Callable[[], None] | None = None, config: Path = ROOT / "gunicorn.conf.py",
                 ready_path: str = "/healthz") -> Server:
    """A gunicorn on a free port, answering `ready_path`; `before_exec` runs in the child (e.g. limits).

    Each server gets a data folder of its own under `log_dir`, unless `env` names one
    (two servers on one folder: a restart); sharing `<repo>/instance` would mix their files.
    A free port too, unless `env` gives a `BIND` (a restart that clients reconnect to).
    `config` is another gunicorn config for another app (tests/host_app.py's).
    """
    port = int(env["BIND"].rsplit(":", 1)[1]) if env and "BIND" in env else free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    full_env = {**os.environ, **TEST_ENV, "BIND": f"127.0.0.1:{port}",
                "DATA_DIR": str(log_dir / f"data-{port}"), **(env or {})}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen([GUNICORN, "-c", str(config), *args],
                                   cwd=ROOT, env=full_env, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True, preexec_fn=before_exec)
    server = Server(process, f"http://127.0.0.1:{port}", log_path, Path(full_env["DATA_DIR"]))
    deadline = time.monotonic() + BOOT_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode} at start:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}{ready_path}", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop()
    pytest.fail(f"gunicorn did not answer {ready_path} within {BOOT_DEADLINE_S} s:\n{server.log()}")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers with their own settings; each is stopped after the test."""
    servers: list[Server] = []

    def factory(env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Server:
        servers.append(start_server(tmp_path, env, args))
        return servers[-1]

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by the tests that only add their own jobs; they filter by job id."""
    server = start_server(tmp_path_factory.mktemp("server"))
    yield server
    server.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0)) as client:
        yield client


def start_job(client: httpx.Client, kind: str, **params: object) -> dict:
    response = client.post("/api/jobs", json={"kind": kind, "params": params})
    assert response.status_code == 202, response.text
    return response.json()


def cancel_unfinished(client: httpx.Client, timeout: float = 5.0) -> None:
    """Leave a shared server as found: cancel every job a test left queued or running, and wait
    until they have stopped (a running job ends at its next check, within a second)."""
    deadline = time.monotonic() + timeout
    while unfinished := client.get("/api/jobs?state=queued,running").json()["jobs"]:
        if time.monotonic() > deadline:
            raise AssertionError(f"still unfinished {timeout} s after their cancel: {unfinished}")
        for job in unfinished:
            client.post(f"/api/jobs/{job['id']}/cancel")
        time.sleep(0.05)


def wait_for_state(client: httpx.Client, job_id: str, states: set[str], timeout: float = 15.0) -> dict:
    """Poll a job until it reaches one of `states` (only for set-up; streams are tested by reading them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not reach {states} within {timeout} s; it is {job['state']}")


class StreamReader:
    """Reads one SSE stream in a thread into `events`; every wait has a deadline.

    `ended` is set when the server ended the response; `comments` counts the
    raw comment lines seen (httpx-sse skips them), for heartbeat tests.
    `arrived[i]` is when `events[i]` was read (`time.monotonic()`).
    """

    def __init__(self, client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: list[ServerSentEvent] = []
        self.arrived: list[float] = []
        self.retry: int | None = None
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self._changed = threading.Condition()
        self._client = client
        self._url = url
        self._request_headers = headers or {}
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with connect_sse(self._client, "GET", self._url, headers=self._request_headers) as source:
                self._response = source.response
                self.status = source.response.status_code
                self.headers = source.response.headers
                with self._changed:
                    self._changed.notify_all()
                if self.status == 200:
                    for event in source.iter_sse():
                        if event.retry is not None:
                            self.retry = event.retry
                        if not event.data:
                            # A block with no data dispatches nothing in a browser (HTML standard,
                            # "dispatch the event"), but httpx-sse yields one for the `retry:` block
                            # and, once an id was seen, for the blank line after each comment.
                            continue
                        with self._changed:
                            self.events.append(event)
                            self.arrived.append(time.monotonic())
                            self._changed.notify_all()
        except (httpx.HTTPError, RuntimeError) as error:  # closed by the test or the server
            self.error = error
        finally:
            self.ended.set()
            with self._changed:
                self._changed.notify_all()

    def wait_for(self, predicate: Callable[[list[ServerSentEvent]], bool], timeout: float = 15.0) -> list[ServerSentEvent]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.events):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.ended.is_set() and not predicate(self.events)):
                    raise AssertionError(f"stream {self._url} did not get there within {timeout} s "
                                         f"(ended={self.ended.is_set()}, error={self.error!r}); "
                                         f"events: {[(e.event, e.id) for e in self.events]}")
                self._changed.wait(min(remaining, 0.2))
        return list(self.events)

    def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.status is None and not self.ended.is_set():
                if time.monotonic() > deadline:
                    raise AssertionError(f"stream {self._url} did not connect within {timeout} s")
                self._changed.wait(0.2)

    def wait_ended(self, timeout: float = 15.0) -> None:
        assert self.ended.wait(timeout), f"stream {self._url} did not end within {timeout} s"

    def close(self) -> None:
        """Leave as a browser tab would: drop the connection."""
        if self._response is not None:
            # Shut the socket first: it wakes the reader thread's blocked read at once.
            with contextlib.suppress(OSError):  # the server may have ended it already
                self._response.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)
            self._response.close()
        self._thread.join(5)


@pytest.fixture
def open_stream(server: Server) -> Iterator[Callable[..., StreamReader]]:
    """Open SSE streams on the shared server, each on its own connection; all closed after the test."""
    readers: list[tuple[StreamReader, httpx.Client]] = []

    def opener(path: str, headers: dict[str, str] | None = None, on: Server | None = None) -> StreamReader:
        target = on or server
        client = httpx.Client(base_url=target.url, timeout=httpx.Timeout(10.0, read=30.0))
        reader = StreamReader(client, path, headers)
        readers.append((reader, client))
        return reader

    yield opener
    for reader, client in readers:
        reader.close()
        client.close()
