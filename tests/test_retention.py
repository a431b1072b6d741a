"""A finished job is kept `JOBS_KEEP_S` seconds, then it is 404 everywhere; unfinished jobs stay (issue #3)."""

import time

import pytest

from tests.conftest import start_job, wait_for_state


@pytest.fixture
def short_memory(server_factory):
    return server_factory({"JOBS_KEEP_S": "1"})


def wait_for_404(client, path: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (response := client.get(path)).status_code != 404:
        assert time.monotonic() < deadline, f"{path} still answers {response.status_code} after {timeout} s"
        time.sleep(0.1)
    assert response.json()["error"]["code"] == "not_found"


def test_a_finished_job_and_its_result_are_forgotten_after_the_keep_time(short_memory):
    client = short_memory.client()
    waiting = start_job(client, "report_and_wait")
    finished = start_job(client, "sleep", seconds=0, steps=1)
    wait_for_state(client, finished["id"], {"succeeded"})
    assert client.get(f"/api/jobs/{finished['id']}/result").status_code == 200
    wait_for_404(client, f"/api/jobs/{finished['id']}")
    for path in ("result", "events"):
        assert client.get(f"/api/jobs/{finished['id']}/{path}").status_code == 404
    assert client.post(f"/api/jobs/{finished['id']}/cancel").status_code == 404
    assert finished["id"] not in [job["id"] for job in client.get("/api/jobs").json()["jobs"]]
    assert client.get(f"/api/jobs/{waiting['id']}").json()["state"] == "running"
    client.post(f"/api/jobs/{waiting['id']}/cancel")
