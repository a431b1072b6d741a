"""The `cleanup` kind on a real server: old things go, running and waiting work is never touched (issue #5)."""

import time

import pytest

from tests.conftest import start_job, wait_for_state


def upload(client, body: bytes = b"a,b\n1,2\n") -> str:
    response = client.post("/api/uploads", content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_cleanup_removes_finished_jobs_old_files_and_orphan_results_but_not_running_or_waiting_work(
        server_factory, tmp_path):
    """Old uploads, result files, `report` data sets and outbox files go (the last two: issue 15);
    what an unfinished job names or reads stays."""
    data, results = tmp_path / "data", tmp_path / "results"
    server = server_factory({"JOBS_CONCURRENCY": "2", "KINDS_DATA_DIR": str(data),
                             "RESULTS_DIR": str(results)})
    client = server.client()
    finished = [wait_for_state(client, start_job(client, kind, **params)["id"], {"succeeded"})
                for kind, params in (("sleep", {"seconds": 0, "steps": 1}), ("report", {"rows": 1000}),
                                     ("report", {"rows": 2000}), ("email", {"recipients": ["ann@example.com"]}))]
    unused, in_use = upload(client), upload(client)
    (results / "orphan-left-by-a-crash").write_bytes(b"old result")
    running = start_job(client, "sleep", seconds=60, steps=60)
    blocker = start_job(client, "sleep", seconds=60, steps=60)
    wait_for_state(client, blocker["id"], {"running"})
    cleanup = start_job(client, "cleanup", older_than_s=0)
    waiting = [start_job(client, "csv_summary", upload=in_use),  # queued behind the cleanup
               start_job(client, "report", rows=2000)]
    client.post(f"/api/jobs/{blocker['id']}/cancel")  # its slot goes to the cleanup

    done = wait_for_state(client, cleanup["id"], {"succeeded", "failed"})
    assert done["state"] == "succeeded", done["error"]
    assert client.get(done["result"]["url"]).json() == {
        "jobs": 5, "uploads": 1, "results": 1, "report_data": 1, "outbox": 1, "older_than_s": 0}
    assert done["progress"]["done"] == done["progress"]["total"]
    assert {client.get(f"/api/jobs/{job['id']}").status_code for job in (*finished, blocker)} == {404}
    assert client.get(f"/api/jobs/{running['id']}").json()["state"] == "running"
    assert [path.name for path in (data / "uploads").rglob("*") if path.is_file()] == [in_use]
    assert [path.name for path in (data / "report").iterdir()] == ["sales-2000.sqlite3"]
    assert list((data / "outbox").iterdir()) == []
    for job in waiting:  # they run once the cleanup ends
        ended = wait_for_state(client, job["id"], {"succeeded", "failed"})
        assert ended["state"] == "succeeded", ended["error"]
    assert sorted(path.name for path in results.iterdir()) == sorted([cleanup["id"], *(job["id"] for job in waiting)])
    client.post(f"/api/jobs/{running['id']}/cancel")


def test_the_server_starts_cleanup_jobs_on_its_own_schedule(server_factory, tmp_path):
    server = server_factory({"CLEANUP_CRON": "* * * * * */1", "CLEANUP_AFTER_S": "0", "KINDS_DATA_DIR": str(tmp_path)})
    client = server.client()
    finished = wait_for_state(client, start_job(client, "sleep", seconds=0, steps=1)["id"], {"succeeded"})
    deadline = time.monotonic() + 15
    while client.get(f"/api/jobs/{finished['id']}").status_code != 404:
        assert time.monotonic() < deadline, "no scheduled cleanup forgot the finished job"
        time.sleep(0.1)
    kinds = {job["kind"] for job in client.get("/api/jobs").json()["jobs"]}
    assert kinds <= {"cleanup"}
    assert client.get("/api/schedules").json() == {"schedules": [
        {"name": "cleanup", "kind": "cleanup", "params": {}, "cron": "* * * * * */1",
         "next_run_at": client.get("/api/schedules").json()["schedules"][0]["next_run_at"]}]}


@pytest.mark.parametrize("value", [-1, "soon", 10 ** 9])
def test_a_bad_retention_param_is_refused(client, value):
    response = client.post("/api/jobs", json={"kind": "cleanup", "params": {"older_than_s": value}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_params"
    assert "params.older_than_s" in response.json()["error"]["message"]
