"""Restarting a real gunicorn on the same data folder, as a deploy or a crash does (issue #12).

The tests of the contract's "What survives a restart" share these: a `DataFolder` starts
servers one after another on one `DATA_DIR`, `STOPS` ends one by SIGKILL or SIGTERM, and
`job_after_restart` fails with one clear line when a job did not survive.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx

from tests.conftest import Server, StreamReader, start_job, start_server, wait_for_state

TERMINAL = frozenset({"succeeded", "failed", "cancelled", "interrupted"})


def kill_hard(server: Server) -> int:
    """`kill -9` the whole group, as a crash or the OOM killer would: nothing runs on the way out."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait()
    return server.stop()  # only closes its clients now: the process is gone


STOPS: dict[str, Callable[[Server], int]] = {"SIGKILL": kill_hard, "SIGTERM": Server.stop}
"""The two ways a server stops before a restart; tests parametrise over the names."""


class DataFolder:
    """One deployment's data folder, and the servers started on it one after another.

    Streams get clients of their own, not the server's: `Server.stop` closes its clients
    before it signals, and a stream must see what the server sends while it stops.
    """

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.path = root / "data"
        self.logs = root / "logs"  # apart, so the data folder holds only what the server wrote
        self.path.mkdir()
        self.logs.mkdir()
        self.env = {"DATA_DIR": str(self.path), **(env or {})}
        self.servers: list[Server] = []
        self.streams: list[tuple[StreamReader, httpx.Client]] = []

    def start(self) -> Server:
        self.servers.append(start_server(self.logs, self.env))
        return self.servers[-1]

    def open_stream(self, server: Server, path: str, headers: dict[str, str] | None = None) -> StreamReader:
        client = httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0, read=30.0))
        reader = StreamReader(client, path, headers)
        self.streams.append((reader, client))
        return reader

    def close(self) -> None:
        """Kill what is left (nothing to keep; SIGTERM would wait out running jobs) and close the streams."""
        for server in self.servers:
            kill_hard(server)
        for reader, client in self.streams:
            reader.close()
            client.close()


def job_after_restart(client: httpx.Client, job_id: str) -> dict:
    """The job as the restarted server shows it; fails in one line if it was lost."""
    return job_or_fail(client.get(f"/api/jobs/{job_id}"), job_id)


def job_or_fail(response: httpx.Response, job_id: str) -> dict:
    """The job a restarted server answered with; a 404 means the restart lost it."""
    assert response.status_code == 200, f"job {job_id} missing after restart: {response.status_code} {response.text}"
    return response.json()


def finish(client: httpx.Client, kind: str, **params: object) -> dict:
    """Start a job and wait until it is terminal; returns it as the API then shows it."""
    return wait_for_state(client, start_job(client, kind, **params)["id"], set(TERMINAL))


def finish_cancelled(client: httpx.Client) -> dict:
    """A job cancelled while running, so it has a start, progress and a finish."""
    job = start_job(client, "report_and_wait", done=1, total=4)
    wait_for_state(client, job["id"], {"running"})
    client.post(f"/api/jobs/{job['id']}/cancel")
    return wait_for_state(client, job["id"], {"cancelled"})


def timestamp(value: str) -> float:
    """An RFC 3339 timestamp of the API as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
