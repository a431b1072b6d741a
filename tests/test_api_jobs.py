"""`POST /api/jobs`, `GET /api/jobs`, `GET /api/jobs/<id>` and `/healthz`: the job object as the contract draws it (issue #3)."""

import json
import re

import pytest

from tests.conftest import start_job, wait_for_state

JOB_FIELDS = ["id", "kind", "params", "state", "progress", "created_at", "started_at",
              "finished_at", "error", "result", "attempt", "max_attempts", "retry_errors", "run_at",
              "timeout_s", "failed_items"]
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
STATES = {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"}


def assert_job_shape(job: dict) -> None:
    assert list(job) == JOB_FIELDS
    assert JOB_ID.match(job["id"])
    assert job["state"] in STATES
    assert set(job["progress"]) == {"done", "total", "percent", "message"}
    assert TIMESTAMP.match(job["created_at"])
    for name in ("started_at", "finished_at", "run_at"):
        assert job[name] is None or TIMESTAMP.match(job[name])
    assert 1 <= job["attempt"] <= job["max_attempts"]
    assert len(job["retry_errors"]) == job["attempt"] - 1
    assert job["timeout_s"] is None or job["timeout_s"] > 0


def post_job(client, body: dict):
    return client.post("/api/jobs", json=body)


@pytest.fixture
def cancel_after(client):
    """Jobs a test starts with long defaults are cancelled after it, so the shared server stays quiet."""
    ids: list[str] = []
    yield ids.append
    for job_id in ids:
        client.post(f"/api/jobs/{job_id}/cancel")


def test_a_new_job_is_202_queued_with_location_and_the_contract_shape(client):
    response = post_job(client, {"kind": "sleep", "params": {"seconds": 0.2, "steps": 2}})
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    job = response.json()
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    assert_job_shape(job)
    assert job["kind"] == "sleep"
    assert job["params"] == {"seconds": 0.2, "steps": 2}
    assert job["state"] == "queued"
    assert job["progress"] == {"done": 0, "total": 2, "percent": 0.0, "message": None}
    assert (job["started_at"], job["finished_at"], job["error"], job["result"]) == (None, None, None, None)


def test_job_ids_are_distinct_22_character_url_safe_base64(client):
    ids = {start_job(client, "sleep", seconds=0, steps=1)["id"] for _ in range(20)}
    assert len(ids) == 20
    assert all(JOB_ID.match(job_id) for job_id in ids)


@pytest.mark.parametrize(("body", "params"), [
    ({"kind": "sleep"}, {"seconds": 5, "steps": 100}),
    ({"kind": "sleep", "params": {}}, {"seconds": 5, "steps": 100}),
    ({"kind": "sleep", "params": {"seconds": 7}}, {"seconds": 7, "steps": 100}),
    ({"kind": "sleep", "params": {"steps": 3}}, {"seconds": 5, "steps": 3}),
    ({"kind": "greet"}, {"user": "Guest"}),
])
def test_omitted_params_get_their_defaults(client, cancel_after, body, params):
    response = post_job(client, body)
    assert response.status_code == 202, response.text
    cancel_after(response.json()["id"])
    assert response.json()["params"] == params


@pytest.mark.parametrize("raw_steps", ["10.0", "1e1", "10.000"])
def test_an_integral_float_is_the_integer_it_equals(client, cancel_after, raw_steps):
    body = '{"kind": "sleep", "params": {"seconds": 60, "steps": %s}}' % raw_steps
    response = client.post("/api/jobs", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text
    cancel_after(response.json()["id"])
    assert '"steps":10' in response.text.replace(" ", "")
    steps = response.json()["params"]["steps"]
    assert steps == 10 and isinstance(steps, int)


@pytest.mark.parametrize("params", [
    {"seconds": 0, "steps": 1},
    {"seconds": 3600, "steps": 100000},
    {"seconds": 0.5},
])
def test_sleep_bounds_are_inclusive(client, cancel_after, params):
    response = post_job(client, {"kind": "sleep", "params": params})
    assert response.status_code == 202, response.text
    cancel_after(response.json()["id"])


@pytest.mark.parametrize("user", ["x", "x" * 100, "🚀" * 100, "Zoë", " spaces kept ", "<b>&amp;</b>"])
def test_greet_accepts_1_to_100_code_points_verbatim(client, cancel_after, user):
    response = post_job(client, {"kind": "greet", "params": {"user": user}})
    assert response.status_code == 202, response.text
    cancel_after(response.json()["id"])
    assert response.json()["params"] == {"user": user}


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/json;charset=UTF-8"])
def test_json_with_a_utf_8_charset_is_accepted(client, content_type):
    response = client.post("/api/jobs", content=json.dumps({"kind": "sleep", "params": {"seconds": 0}}),
                           headers={"Content-Type": content_type})
    assert response.status_code == 202, response.text


def test_a_body_of_exactly_64_kib_is_accepted(client):
    body = json.dumps({"kind": "sleep", "params": {"seconds": 0, "steps": 1}}).encode()
    body += b" " * (64 * 1024 - len(body))
    response = client.post("/api/jobs", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202, response.text


def test_get_returns_the_job_and_it_ends_succeeded_with_times_in_order(client):
    job = start_job(client, "sleep", seconds=0.1, steps=2)
    response = client.get(f"/api/jobs/{job['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["id"] == job["id"]
    done = wait_for_state(client, job["id"], {"succeeded"})
    assert_job_shape(done)
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert done["progress"] == {"done": 2, "total": 2, "percent": 100.0, "message": None}
    assert done["error"] is None
    assert done["result"]["url"] == f"/api/jobs/{job['id']}/result"
    assert done["result"]["content_type"] == "application/json"


def list_ids(client, query: str = "") -> list[str]:
    response = client.get(f"/api/jobs{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert list(response.json()) == ["jobs"]
    return [job["id"] for job in response.json()["jobs"]]


def test_the_list_is_newest_first_and_limit_keeps_the_newest(client):
    ids = [start_job(client, "sleep", seconds=0, steps=1)["id"] for _ in range(3)]
    assert list_ids(client, "?limit=3") == ids[::-1]
    assert list_ids(client, "?limit=1") == ids[-1:]
    everything = list_ids(client, "?limit=1000")
    assert [job_id for job_id in everything if job_id in ids] == ids[::-1]
    assert list_ids(client) == everything[:100]


def test_the_list_filters_by_one_state_or_several(client, cancel_after):
    finished = start_job(client, "sleep", seconds=0, steps=1)
    wait_for_state(client, finished["id"], {"succeeded"})
    running = start_job(client, "report_and_wait")
    cancel_after(running["id"])
    wait_for_state(client, running["id"], {"running"})
    by_state = {state: client.get(f"/api/jobs?state={state}&limit=1000").json()["jobs"]
                for state in ("succeeded", "running", "queued,running")}
    assert all(job["state"] == "succeeded" for job in by_state["succeeded"])
    assert all(job["state"] == "running" for job in by_state["running"])
    assert all(job["state"] in ("queued", "running") for job in by_state["queued,running"])
    assert finished["id"] in [job["id"] for job in by_state["succeeded"]]
    assert running["id"] in [job["id"] for job in by_state["running"]]
    assert running["id"] in [job["id"] for job in by_state["queued,running"]]
    assert finished["id"] not in [job["id"] for job in by_state["queued,running"]]


def test_other_query_parameters_are_ignored(client):
    assert list_ids(client, "?limit=5&page=2&sort=asc") == list_ids(client, "?limit=5")


def test_healthz_reports_status_job_counts_and_open_streams(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["status", "jobs", "streams"]
    assert body["status"] == "ok"
    assert list(body["jobs"]) == ["queued", "running"]
    assert all(isinstance(n, int) and n >= 0 for n in [*body["jobs"].values(), body["streams"]])
