"""Results, percent and failure as a person sees them (issue #3)."""

import json

import pytest

from tests.conftest import start_job, wait_for_state


def download(client, job: dict):
    response = client.get(f"/api/jobs/{job['id']}/result")
    assert response.status_code == 200, response.text
    assert "content-encoding" not in response.headers
    return response


def test_a_sleep_result_is_the_json_steps_as_an_attachment(client):
    job = start_job(client, "sleep", seconds=0.1, steps=3)
    done = wait_for_state(client, job["id"], {"succeeded"})
    response = download(client, job)
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == f'attachment; filename="sleep-{job["id"]}.json"'
    assert json.loads(response.content) == {"steps": 3}
    assert done["result"]["url"] == f"/api/jobs/{job['id']}/result"
    assert done["result"]["content_type"] == "application/json"


def test_greet_writes_exactly_the_greeting_with_the_user_verbatim(client):
    users = ["Guest", "Zoë 🚀 <b>&amp;</b>", " two  spaces "]
    jobs = [start_job(client, "greet", user=user) for user in users]
    for user, job in zip(users, jobs):
        done = wait_for_state(client, job["id"], {"succeeded"}, timeout=30)
        assert done["result"]["content_type"] == "text/plain; charset=utf-8"
        response = download(client, job)
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["content-disposition"] == f'attachment; filename="greet-{job["id"]}.txt"'
        assert response.content == f"Hello, {user}! Task finished.".encode("utf-8")
        assert response.headers["x-content-type-options"] == "nosniff"  # `<b>` stays text (issue 15)


def test_a_job_without_success_has_no_result(client):
    job = start_job(client, "report_and_wait", done=1, total=2)
    try:
        wait_for_state(client, job["id"], {"running"})
        response = client.get(f"/api/jobs/{job['id']}/result")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "no_result"
        assert client.get(f"/api/jobs/{job['id']}").json()["result"] is None
    finally:
        client.post(f"/api/jobs/{job['id']}/cancel")
    wait_for_state(client, job["id"], {"cancelled"})
    assert client.get(f"/api/jobs/{job['id']}/result").json()["error"]["code"] == "no_result"


def progress_when_reported(client, done: int, total: int | None) -> dict:
    """Progress of a job that reported `done` of `total` and then waits (cancelled afterwards)."""
    job = start_job(client, "report_and_wait", done=done, total=total)
    try:
        return wait_for_progress(client, job["id"], done, total)
    finally:
        client.post(f"/api/jobs/{job['id']}/cancel")


def wait_for_progress(client, job_id: str, done: int, total: int | None) -> dict:
    """Wait for the report itself: before it lands, a running job already shows done 0 of no total."""
    job = wait_for_state(client, job_id, {"running"})
    for _ in range(300):
        if (job["progress"]["done"], job["progress"]["total"]) == (done, total) and job["started_at"]:
            return job["progress"]
        job = client.get(f"/api/jobs/{job_id}").json()
    raise AssertionError(f"job {job_id} never reported {done} of {total}: {job['progress']}")


@pytest.mark.parametrize(("done", "total", "percent"), [
    (0, 3, 0.0),
    (1, 3, 33.3),
    (2, 3, 66.7),
    (3, 3, 100.0),
    (1, 2000, 0.1),
    (1999, 2000, 99.9),
    (9999, 10000, 99.9),
    (99999, 100000, 99.9),
    (2000, 2000, 100.0),
    (5, None, None),
])
def test_percent_is_rounded_to_one_place_never_100_before_the_end_and_null_without_a_total(
        client, done, total, percent):
    progress = progress_when_reported(client, done, total)
    assert progress == {"done": done, "total": total, "percent": percent, "message": None}


def test_a_job_with_an_unknown_total_has_null_percent_in_every_event(client, open_stream):
    job = start_job(client, "unknown_total", steps=3)
    reader = open_stream(f"/api/jobs/{job['id']}/events?lastEventId=")
    reader.wait_ended()
    final = wait_for_state(client, job["id"], {"succeeded"})
    progresses = [event.json()["progress"] for event in reader.events] + [final["progress"]]
    assert all(p["total"] is None and p["percent"] is None for p in progresses)
    assert final["progress"]["done"] == 3


def test_a_failed_job_shows_one_line_and_logs_the_traceback(server, client):
    job = start_job(client, "fail", message="disk full\nsecond line")
    failed = wait_for_state(client, job["id"], {"failed"})
    response_text = client.get(f"/api/jobs/{job['id']}").text
    assert failed["error"] == "RuntimeError: disk full"
    assert "Traceback" not in response_text
    assert "\n" not in failed["error"]
    assert failed["result"] is None
    assert failed["progress"] == {"done": 1, "total": 2, "percent": 50.0, "message": None}
    assert failed["finished_at"] is not None
    log = server.log()
    assert f"job {job['id']} (fail) failed" in log
    tail = log[log.index(f"job {job['id']} (fail) failed"):]
    assert "Traceback (most recent call last)" in tail and "RuntimeError: disk full" in tail
