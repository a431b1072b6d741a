"""What survives a restart, for jobs that wait for their time or for another attempt (issue #13)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import start_job, wait_for_state
from tests.restarts import TERMINAL, DataFolder, kill_hard, timestamp


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[DataFolder]:
    folder = DataFolder(tmp_path)
    yield folder
    folder.close()


def test_a_delayed_job_survives_a_restart_and_starts_on_time(folder):
    server = folder.start()
    client = server.client()
    job = client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0, "steps": 1},
                                         "delay_s": 2}).json()
    kill_hard(server)
    again = folder.start().client()
    final = wait_for_state(again, job["id"], TERMINAL, timeout=15)
    assert final["state"] == "succeeded"
    assert 0 <= timestamp(final["started_at"]) - timestamp(job["run_at"]) < 1.0


def test_a_job_with_attempts_left_killed_mid_run_is_retried_after_the_restart(folder):
    server = folder.start()
    client = server.client()
    job = start_job(client, "flaky", succeed_on=2, hold_s=60)
    wait_for_state(client, job["id"], {"running"})
    kill_hard(server)
    again = folder.start().client()
    final = wait_for_state(again, job["id"], TERMINAL, timeout=15)
    assert (final["state"], final["attempt"]) == ("succeeded", 2)
    assert final["retry_errors"] == ["The server stopped before the job finished."]
