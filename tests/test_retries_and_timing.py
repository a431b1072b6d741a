"""Retries, time limits, run-later and idempotent submits on a real server (issue #13).

The module runs on the default SQLite store; tests/test_memory_contract.py and
tests/test_redis_contract.py collect it again on the memory and Redis stores.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import start_job, wait_for_state

TERMINAL = {"succeeded", "failed", "cancelled", "interrupted"}


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def states_of(reader, job_id: str) -> list[str]:
    return [event.json()["state"] for event in reader.events
            if event.event == "state" and event.json()["id"] == job_id]


def test_a_kind_that_fails_twice_then_succeeds_ends_succeeded_on_attempt_3_with_both_errors_kept(
        client, open_stream):
    job = start_job(client, "flaky", succeed_on=3, hold_s=0.2)  # live when its stream opens
    assert (job["attempt"], job["max_attempts"]) == (1, 3)
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    reader.wait_ended(timeout=20)
    final = wait_for_state(client, job["id"], TERMINAL)
    assert final["state"] == "succeeded" and final["attempt"] == 3 and final["error"] is None
    assert final["retry_errors"] == ["ConnectionError: attempt 1 could not reach the service",
                                     "ConnectionError: attempt 2 could not reach the service"]
    assert states_of(reader, job["id"])[-5:] == ["queued", "running", "queued", "running", "succeeded"]
    requeued = [event.json() for event in reader.events
                if event.event == "state" and event.json()["state"] == "queued" and event.json()["attempt"] > 1]
    assert [event["attempt"] for event in requeued] == [2, 3] and all(event["run_at"] for event in requeued)
    assert client.get(f"/api/jobs/{job['id']}/result").json() == {"attempt": 3}


def test_a_kind_out_of_attempts_fails_with_its_last_error_and_the_earlier_ones_kept(client):
    job = start_job(client, "flaky", succeed_on=9)
    final = wait_for_state(client, job["id"], TERMINAL, timeout=20)
    assert final["state"] == "failed" and final["attempt"] == 3
    assert final["error"] == "ConnectionError: attempt 3 could not reach the service"
    assert len(final["retry_errors"]) == 2


def test_a_kind_without_retries_fails_at_once(client):
    final = wait_for_state(client, start_job(client, "fail")["id"], TERMINAL)
    assert (final["state"], final["attempt"], final["max_attempts"], final["retry_errors"]) == ("failed", 1, 1, [])


def test_cancel_stops_retrying(client):
    job = start_job(client, "flaky", succeed_on=9, hold_s=0.3)
    deadline = time.monotonic() + 10
    while client.get(f"/api/jobs/{job['id']}").json()["attempt"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 202
    final = wait_for_state(client, job["id"], TERMINAL)
    time.sleep(0.5)  # longer than the backoff: no other attempt comes
    assert final["state"] == "cancelled" and client.get(f"/api/jobs/{job['id']}").json() == final


def test_a_time_limit_stops_a_kind_that_never_checks_for_cancellation(client):
    job = client.post("/api/jobs", json={"kind": "stubborn", "params": {"seconds": 30}, "timeout_s": 1}).json()
    assert job["timeout_s"] == 1
    final = wait_for_state(client, job["id"], TERMINAL, timeout=10)
    assert final["state"] == "failed" and final["error"] == "Timed out after 1 s."
    assert epoch(final["finished_at"]) - epoch(final["started_at"]) < 2.5  # 1 s, then within a second


def test_a_kind_s_own_time_limit_applies_and_a_submit_may_only_shorten_it(client):
    assert start_job(client, "limited", seconds=0)["timeout_s"] == 30
    longer = client.post("/api/jobs", json={"kind": "limited", "timeout_s": 31})
    assert longer.status_code == 400 and longer.json()["error"]["code"] == "bad_request"
    assert "timeout_s" in longer.json()["error"]["message"]


def test_a_delayed_job_waits_queued_with_run_at_then_starts_on_time(client):
    job = client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0, "steps": 1},
                                         "delay_s": 2}).json()
    run_at = epoch(job["run_at"])
    assert job["state"] == "queued" and abs(run_at - epoch(job["created_at"]) - 2) < 0.1
    time.sleep(1)
    assert client.get(f"/api/jobs/{job['id']}").json()["state"] == "queued"
    final = wait_for_state(client, job["id"], {"succeeded"}, timeout=10)
    assert 0 <= epoch(final["started_at"]) - run_at < 1.0


def test_run_at_in_the_past_starts_at_once_and_a_delayed_job_can_be_cancelled(client):
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    assert wait_for_state(client, client.post("/api/jobs", json={
        "kind": "sleep", "params": {"seconds": 0, "steps": 1}, "run_at": past}).json()["id"], {"succeeded"})
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    waiting = client.post("/api/jobs", json={"kind": "greet", "run_at": later}).json()
    assert waiting["state"] == "queued" and waiting["run_at"].startswith(later[:19])
    cancelled = client.post(f"/api/jobs/{waiting['id']}/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["started_at"] is None


@pytest.mark.parametrize(("extra", "field"), [
    ({"run_at": "2026-12-03T10:00:00Z", "delay_s": 1}, "run_at"),
    ({"run_at": "2026-12-03T10:00:00"}, "run_at"),  # no zone
    ({"run_at": "tomorrow"}, "run_at"),
    ({"run_at": "2099-01-01T00:00:00Z"}, "run_at"),  # beyond 30 days
    ({"delay_s": -1}, "delay_s"),
    ({"delay_s": 2592001}, "delay_s"),
    ({"delay_s": "5"}, "delay_s"),
    ({"delay_s": True}, "delay_s"),
    ({"timeout_s": 0}, "timeout_s"),
    ({"timeout_s": "1"}, "timeout_s"),
])
def test_bad_timing_fields_are_400_naming_the_field_and_create_nothing(client, extra, field):
    before = len(client.get("/api/jobs?limit=1000").json()["jobs"])
    response = client.post("/api/jobs", json={"kind": "greet", **extra})
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_request"
    assert field in response.json()["error"]["message"]
    assert len(client.get("/api/jobs?limit=1000").json()["jobs"]) == before


def test_the_same_idempotency_key_posted_20_times_at_once_creates_one_job(server):
    key = f"order-{time.time_ns()}"
    answers: list = []

    def post() -> None:
        with server.client() as client:
            answers.append(client.post("/api/jobs", json={"kind": "greet", "params": {"user": "Ann"}},
                                       headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [answer.status_code for answer in answers] == [202] * 20
    assert len({answer.json()["id"] for answer in answers}) == 1


def test_an_idempotency_key_with_another_body_is_409_and_creates_nothing(client):
    key = f"k-{time.time_ns()}"
    first = client.post("/api/jobs", json={"kind": "greet"}, headers={"Idempotency-Key": key})
    other = client.post("/api/jobs", json={"kind": "greet", "params": {"user": "Bob"}},
                        headers={"Idempotency-Key": key})
    assert first.status_code == 202
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict"
    again = client.post("/api/jobs", json={"kind": "greet"}, headers={"Idempotency-Key": key})
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
def test_a_malformed_idempotency_key_is_400(client, key):
    response = client.post("/api/jobs", json={"kind": "greet"}, headers={"Idempotency-Key": key.encode()})
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]["message"]


@pytest.mark.parametrize(("failed", "state", "failed_items", "error"), [
    (0, "succeeded", None, None),
    (2, "succeeded", {"failed": 2, "of": 40}, None),
    (40, "failed", None, "All 40 items failed; the first: item 1: the address was refused"),
])
def test_a_batch_is_honest_about_its_items(client, failed, state, failed_items, error):
    final = wait_for_state(client, start_job(client, "batch", failed=failed, of=40)["id"], TERMINAL)
    assert (final["state"], final["failed_items"], final["error"]) == (state, failed_items, error)
