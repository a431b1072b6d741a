"""Cancel: a running job stops quickly with its progress kept; terminal jobs are 409 (issue #3).

Queued jobs are cancelled in test_queue.py, on a server with one slot.
"""

import json

import pytest

from tests import raw_http
from tests.conftest import start_job, wait_for_state


def cancel(client, job_id: str):
    return client.post(f"/api/jobs/{job_id}/cancel")


def last_progress_before_terminal(events) -> dict:
    jobs = [event.json() for event in events]
    assert jobs[-1]["state"] == "cancelled"
    return jobs[-2]["progress"]


def test_a_running_job_is_cancelled_and_its_progress_stays_where_it_was(client, open_stream):
    job = start_job(client, "sleep", seconds=60, steps=600)
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    reader.wait_for(lambda events: any(e.event == "progress" and e.json()["progress"]["done"] >= 2 for e in events))
    response = cancel(client, job["id"])
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.json()["id"] == job["id"]
    assert response.json()["state"] in ("running", "cancelled")
    reader.wait_ended(timeout=10)
    final = reader.events[-1].json()
    assert reader.events[-1].event == "state"
    assert final["progress"] == last_progress_before_terminal(reader.events)
    assert 2 <= final["progress"]["done"] < 600
    assert final["started_at"] is not None and final["finished_at"] is not None
    assert final["error"] is None and final["result"] is None
    assert client.get(f"/api/jobs/{job['id']}").json() == final


@pytest.mark.parametrize(("kind", "params"), [
    ("stubborn", {"seconds": 60}),
    ("cpu_off_loop", {"seconds": 2}),
    ("unknown_total", {"steps": 10000}),
])
def test_a_running_job_of_any_kind_is_cancelled(client, open_stream, kind, params):
    """`stubborn` never looks; `cpu_off_loop` waits on a thread that can't be stopped."""
    job = start_job(client, kind, **params)
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    wait_for_state(client, job["id"], {"running"})
    assert cancel(client, job["id"]).status_code == 202
    reader.wait_ended(timeout=10)
    assert reader.events[-1].json()["state"] == "cancelled"


def test_a_second_cancel_while_the_job_is_stopping_is_202_again(server, client):
    """Both cancels go pipelined on one connection, so the second surely lands inside the grace."""
    job = start_job(client, "stubborn", seconds=60)
    wait_for_state(client, job["id"], {"running"})
    req = raw_http.request("POST", f"/api/jobs/{job['id']}/cancel")
    with raw_http.connect(server.url) as sock:
        sock.sendall(raw_http.encode(req) * 2)
        first, second = raw_http.read_responses(sock, [req, req])
    assert (first.status, second.status) == (202, 202)
    assert json.loads(second.body)["state"] == "running"
    wait_for_state(client, job["id"], {"cancelled"}, timeout=10)
    response = cancel(client, job["id"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_cancellable"


@pytest.mark.parametrize(("kind", "params", "state"), [
    ("sleep", {"seconds": 0, "steps": 1}, "succeeded"),
    ("fail", {"message": "expected in this test"}, "failed"),
])
def test_cancelling_a_finished_job_is_409_and_changes_nothing(client, kind, params, state):
    job = start_job(client, kind, **params)
    finished = wait_for_state(client, job["id"], {state})
    response = cancel(client, job["id"])
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "not_cancellable"
    assert client.get(f"/api/jobs/{job['id']}").json() == finished


def test_cancelling_a_cancelled_job_is_409(client):
    job = start_job(client, "report_and_wait")
    wait_for_state(client, job["id"], {"running"})
    assert cancel(client, job["id"]).status_code == 202
    cancelled = wait_for_state(client, job["id"], {"cancelled"})
    assert cancel(client, job["id"]).json()["error"]["code"] == "not_cancellable"
    assert client.get(f"/api/jobs/{job['id']}").json() == cancelled


def test_a_cancel_may_carry_an_empty_json_body(client):
    job = start_job(client, "report_and_wait")
    response = client.post(f"/api/jobs/{job['id']}/cancel", json={})
    assert response.status_code == 202
    wait_for_state(client, job["id"], {"cancelled"})
