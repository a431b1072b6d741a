"""SIGTERM on a real gunicorn: jobs interrupted, streams told and ended, exit in seconds (issue #3)."""

import os
import signal
import time

import httpx
import pytest

from tests.conftest import start_job, wait_for_state

EXIT_DEADLINE_S = 12.0
"""gunicorn's own graceful_timeout is 10 s; our hook must end everything well before it."""


@pytest.mark.parametrize("jobs_db", [":memory:", ""])
def test_sigterm_interrupts_jobs_tells_every_stream_and_exits_in_seconds(jobs_db, server_factory, open_stream):
    """A running job ends `interrupted`; a queued one too when nothing outlives the process, and
    on disk (the default) it stays queued for the next start (tests/test_restart.py)."""
    server = server_factory(env={"JOBS_CONCURRENCY": "1", "JOBS_DB": jobs_db})
    client = server.client()
    running = start_job(client, "sleep", seconds=60, steps=60)
    queued = start_job(client, "sleep", seconds=60, steps=60)
    wait_for_state(client, running["id"], {"running"})
    all_jobs = open_stream("/api/events", on=server)
    one_job = open_stream(f"/api/jobs/{running['id']}/events", on=server)
    for reader in (all_jobs, one_job):
        reader.wait_for(lambda events: events and events[0].event == "snapshot")

    signalled = time.monotonic()
    os.killpg(server.process.pid, signal.SIGTERM)

    def interrupted(events, job_id):
        return any(e.event == "state" and e.json()["id"] == job_id and e.json()["state"] == "interrupted"
                   for e in events)

    all_jobs.wait_for(lambda events: interrupted(events, running["id"]))
    one_job.wait_for(lambda events: interrupted(events, running["id"]))
    one_job.wait_ended()
    all_jobs.wait_ended()
    server.process.wait(EXIT_DEADLINE_S)
    assert time.monotonic() - signalled < EXIT_DEADLINE_S
    assert server.process.returncode == 0
    final = [e.json() for e in all_jobs.events if e.event == "state" and e.json()["id"] == queued["id"]]
    if jobs_db == ":memory:":
        assert final[-1]["started_at"] is None
        assert final[-1]["error"] == "The server stopped before the job started."
    else:
        assert final == []  # announced before the stream opened; no change since
    assert "Worker graceful timeout" not in server.log()


def test_while_stopping_new_jobs_and_healthz_get_503_shutting_down(server_factory):
    server = server_factory()
    with httpx.Client(base_url=server.url, timeout=5) as client:
        running = start_job(client, "cpu_off_loop", seconds=3)  # keeps the grace period busy
        wait_for_state(client, running["id"], {"running"})
        client.get("/healthz")  # the keep-alive connection stays open across the signal
        os.killpg(server.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while (health := client.get("/healthz")).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert health.status_code == 503
        assert health.json() == {"error": {"code": "shutting_down", "message": "The server is stopping."}}
        refused = client.post("/api/jobs", json={"kind": "greet"})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "shutting_down"
    server.process.wait(EXIT_DEADLINE_S)


def test_an_idle_keep_alive_connection_does_not_hold_the_exit(server_factory):
    """gunicorn waits for every connection; an idle keep-alive one would hold it for `keepalive`
    seconds (here 23, from SSE_RETRY_MS), so shutdown closes it."""
    server = server_factory(env={"SSE_RETRY_MS": "20000"})
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200  # leaves an idle keep-alive connection
        signalled = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(EXIT_DEADLINE_S)
    # Without the close, gunicorn waits out its graceful_timeout (10 s) and kills the worker.
    assert time.monotonic() - signalled < 8
    assert server.process.returncode == 0
    assert "Worker graceful timeout" not in server.log()
    assert "[ERROR]" not in server.log()  # the idle connection ends as a client leaving, not a socket error
