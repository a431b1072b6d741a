"""Per-owner limits answer 429 with Retry-After and recover (issue #8)."""

import time

import pytest

from progress.errors import RateLimited
from progress.limits import RateLimiter
from tests.conftest import start_job, wait_for_state


def assert_rate_limited(response) -> None:
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"


def test_open_streams_per_owner_are_capped_and_a_closed_one_frees_its_place(server_factory, open_stream):
    server = server_factory(env={"LIMIT_STREAMS_PER_OWNER": "2"})
    first = open_stream("/api/events", on=server)
    open_stream("/api/events", on=server).wait_for(lambda events: events)
    first.wait_for(lambda events: events)
    client = server.client()
    assert_rate_limited(client.get("/api/events"))
    first.close()  # the server notices at its next heartbeat (1 s in tests)
    deadline = time.monotonic() + 15
    while (status := client.get("/healthz").json()["streams"]) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 1
    third = open_stream("/api/events", on=server)
    third.wait_connected()
    assert third.status == 200


def test_queued_jobs_per_owner_are_capped_and_recover_when_one_leaves(server_factory):
    server = server_factory(env={"LIMIT_QUEUED_PER_OWNER": "2", "JOBS_CONCURRENCY": "1"})
    client = server.client()
    running = start_job(client, "sleep", seconds=30, steps=1)
    wait_for_state(client, running["id"], {"running"})
    waiting = [start_job(client, "sleep", seconds=30, steps=1) for _ in range(2)]
    refused = client.post("/api/jobs", json={"kind": "greet"})
    assert_rate_limited(refused)
    assert len(client.get("/api/jobs").json()["jobs"]) == 3  # nothing was created
    client.post(f"/api/jobs/{waiting[0]['id']}/cancel")
    assert client.post("/api/jobs", json={"kind": "greet"}).status_code == 202


def test_job_creation_rate_per_owner_is_capped(server_factory):
    server = server_factory(env={"LIMIT_JOBS_PER_MINUTE": "3"})
    client = server.client()
    for _ in range(3):
        start_job(client, "sleep", seconds=0)
    assert_rate_limited(client.post("/api/jobs", json={"kind": "sleep"}))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_limiter_refills_evenly_and_says_when_to_retry():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=6, clock=clock)  # one token every 10 s, bursts of 6
    for _ in range(6):
        limiter.take("alice")
    with pytest.raises(RateLimited) as caught:
        limiter.take("alice")
    assert caught.value.retry_after == 10
    limiter.take("bob")  # owners are counted apart
    clock.now += 10
    limiter.take("alice")


def test_the_rate_limiter_forgets_owners_whose_bucket_refilled():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, clock=clock)
    for n in range(10_001):
        limiter.take(f"owner{n}")
    clock.now += 120
    limiter.take("late")
    assert len(limiter._buckets) <= 2


def test_a_zero_limit_is_no_limit():
    limiter = RateLimiter(per_minute=0)
    for _ in range(1000):
        limiter.take("alice")
