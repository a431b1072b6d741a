"""The runner's queue seen from outside: one slot, oldest first, 503 when full, queued jobs cancelled at once (issue #3)."""

import pytest

from tests.conftest import cancel_unfinished, start_job, start_server, wait_for_state


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory):
    """One job at a time and two waiting; each test cancels what it started."""
    server = start_server(tmp_path_factory.mktemp("one-slot"), {"JOBS_CONCURRENCY": "1", "JOBS_QUEUE_SIZE": "2"})
    yield server
    server.stop()


@pytest.fixture
def slot_client(one_slot):
    client = one_slot.client()
    yield client
    cancel_unfinished(client)
    assert client.get("/healthz").json()["jobs"] == {"queued": 0, "running": 0}


def job_ids(client) -> list[str]:
    return [job["id"] for job in client.get("/api/jobs?limit=1000").json()["jobs"]]


def test_beyond_the_queue_size_a_new_job_is_503_queue_full_with_retry_after(slot_client):
    running = start_job(slot_client, "report_and_wait")
    wait_for_state(slot_client, running["id"], {"running"})
    waiting = [start_job(slot_client, "sleep", seconds=0, steps=1) for _ in range(2)]
    before = job_ids(slot_client)
    response = slot_client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0}})
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "queue_full"
    assert int(response.headers["retry-after"]) >= 1
    assert job_ids(slot_client) == before
    assert slot_client.get("/healthz").json()["jobs"] == {"queued": 2, "running": 1}
    slot_client.post(f"/api/jobs/{waiting[0]['id']}/cancel")
    assert slot_client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0}}).status_code == 202


def test_bad_input_is_judged_before_the_queue(slot_client):
    running = start_job(slot_client, "report_and_wait")
    wait_for_state(slot_client, running["id"], {"running"})
    for _ in range(2):
        start_job(slot_client, "report_and_wait")
    response = slot_client.post("/api/jobs", json={"kind": "nope"})
    assert response.json()["error"]["code"] == "unknown_kind"


def watch_and_block(server, client, open_stream):
    """An `/api/events` reader, and a running job that holds the one slot until cancelled."""
    events = open_stream("/api/events", on=server)
    events.wait_for(lambda seen: seen and seen[0].event == "snapshot")
    blocker = start_job(client, "report_and_wait")
    wait_for_state(client, blocker["id"], {"running"})
    return events, blocker


def test_a_queued_job_is_cancelled_at_once_and_never_starts(one_slot, slot_client, open_stream):
    events, blocker = watch_and_block(one_slot, slot_client, open_stream)
    queued = start_job(slot_client, "sleep", seconds=0, steps=1)
    response = slot_client.post(f"/api/jobs/{queued['id']}/cancel")
    assert response.status_code == 202
    assert response.json()["state"] == "cancelled"
    assert response.json()["started_at"] is None
    slot_client.post(f"/api/jobs/{blocker['id']}/cancel")
    after = start_job(slot_client, "sleep", seconds=0, steps=1)
    wait_for_state(slot_client, after["id"], {"succeeded"})
    events.wait_for(lambda seen: any(e.event == "state" and e.json()["id"] == after["id"]
                                     and e.json()["state"] == "succeeded" for e in seen))
    states = [e.json()["state"] for e in events.events[1:] if e.json()["id"] == queued["id"]]
    assert states == ["queued", "cancelled"]
    final = slot_client.get(f"/api/jobs/{queued['id']}").json()
    assert (final["state"], final["started_at"], final["progress"]["done"]) == ("cancelled", None, 0)
    assert final["finished_at"] is not None


def test_waiting_jobs_start_oldest_first(one_slot, slot_client, open_stream):
    events, blocker = watch_and_block(one_slot, slot_client, open_stream)
    first = start_job(slot_client, "sleep", seconds=0, steps=1)
    second = start_job(slot_client, "sleep", seconds=0, steps=1)
    slot_client.post(f"/api/jobs/{blocker['id']}/cancel")
    wait_for_state(slot_client, second["id"], {"succeeded"})
    events.wait_for(lambda seen: any(e.json().get("id") == second["id"] and e.json()["state"] == "succeeded"
                                     for e in seen[1:]))
    started = [e.json()["id"] for e in events.events[1:] if e.event == "state" and e.json()["state"] == "running"]
    assert started == [blocker["id"], first["id"], second["id"]]
