"""Live events: each job's state sequence, one id per event on every stream, job streams that end (issue #3)."""

import pytest

from tests.conftest import start_job, wait_for_state


def opened(reader):
    """Wait for the snapshot; its id is where the stream began."""
    (snapshot,) = reader.wait_for(lambda events: len(events) >= 1)[:1]
    assert snapshot.event == "snapshot"
    return reader


def of_job(events, job_id: str):
    return [e for e in events if e.event != "snapshot" and e.json()["id"] == job_id]


def terminal_seen(job_id: str, state: str):
    return lambda events: any(e.event == "state" and e.json()["id"] == job_id and e.json()["state"] == state
                              for e in events)


def test_a_job_is_announced_queued_then_runs_then_ends_and_done_never_decreases(client, open_stream):
    everything = opened(open_stream("/api/events"))
    job = start_job(client, "sleep", seconds=0.3, steps=5)
    everything.wait_for(terminal_seen(job["id"], "succeeded"))
    mine = of_job(everything.events, job["id"])
    assert (mine[0].event, mine[0].json()["state"]) == ("state", "queued")
    assert [e.json()["state"] for e in mine if e.event == "state"] == ["queued", "running", "succeeded"]
    running_at = [e.json()["state"] for e in mine].index("running")
    assert all(e.event == "progress" for e in mine[running_at + 1:-1])
    dones = [e.json()["progress"]["done"] for e in mine]
    assert dones == sorted(dones) and dones[-1] == 5


def test_every_stream_shows_the_same_event_with_the_same_id_and_the_same_states(client, open_stream):
    first, second = opened(open_stream("/api/events")), opened(open_stream("/api/events"))
    since = first.events[0].id
    job = start_job(client, "sleep", seconds=0.5, steps=10)
    job_streams = [open_stream(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": since}) for _ in range(2)]
    for reader in (first, second):
        reader.wait_for(terminal_seen(job["id"], "succeeded"))
    for reader in job_streams:
        reader.wait_ended()
    streams = [of_job(reader.events, job["id"]) for reader in (first, second, *job_streams)]
    state_sequences = [[(e.id, e.json()["state"]) for e in events if e.event == "state"] for events in streams]
    assert all(sequence == state_sequences[0] for sequence in state_sequences)
    assert [state for _, state in state_sequences[0]] == ["queued", "running", "succeeded"]
    by_id = {}
    for events in streams:
        for event in events:
            assert by_id.setdefault(event.id, (event.event, event.data)) == (event.event, event.data)


def test_a_live_event_has_a_higher_id_than_the_snapshot_before_it(client, open_stream):
    job = start_job(client, "sleep", seconds=0.5, steps=5)
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    reader.wait_ended()
    ids = [int(e.id) for e in reader.events]
    assert reader.events[0].event == "snapshot"
    assert ids == sorted(set(ids))


@pytest.mark.parametrize(("kind", "params", "state"), [
    ("sleep", {"seconds": 0.3, "steps": 3}, "succeeded"),
    ("fail", {"message": "expected by this test"}, "failed"),
])
def test_a_job_stream_ends_right_after_the_terminal_state(client, open_stream, kind, params, state):
    everything = opened(open_stream("/api/events"))
    job = start_job(client, kind, **params)
    reader = open_stream(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": everything.events[0].id})
    reader.wait_ended()
    assert reader.status == 200 and reader.error is None
    last = reader.events[-1]
    assert (last.event, last.json()["state"]) == ("state", state)
    assert all(e.json()["state"] not in ("succeeded", "failed") for e in reader.events[:-1])


def test_a_job_stream_ends_after_a_cancel(client, open_stream):
    job = start_job(client, "report_and_wait")
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    wait_for_state(client, job["id"], {"running"})
    client.post(f"/api/jobs/{job['id']}/cancel")
    reader.wait_ended()
    assert reader.events[-1].json()["state"] == "cancelled"


def test_the_stream_of_a_finished_job_is_its_snapshot_then_the_end(client, open_stream):
    everything = opened(open_stream("/api/events"))
    job = start_job(client, "sleep", seconds=0, steps=1)
    everything.wait_for(terminal_seen(job["id"], "succeeded"))
    terminal_id = int(of_job(everything.events, job["id"])[-1].id)
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    reader.wait_ended()
    assert reader.status == 200 and reader.retry is not None
    (snapshot,) = reader.events
    assert snapshot.event == "snapshot"
    assert snapshot.json() == client.get(f"/api/jobs/{job['id']}").json()
    assert snapshot.json()["state"] == "succeeded"
    assert int(snapshot.id) >= terminal_id


def test_the_all_jobs_snapshot_lists_unfinished_jobs_newest_first(client, open_stream):
    jobs = [start_job(client, "report_and_wait") for _ in range(2)]
    try:
        reader = opened(open_stream("/api/events"))
        snapshot = reader.events[0].json()
        assert list(snapshot) == ["jobs"]
        listed = [job["id"] for job in snapshot["jobs"]]
        assert [job_id for job_id in listed if job_id in {j["id"] for j in jobs}] == [jobs[1]["id"], jobs[0]["id"]]
        created = [job["created_at"] for job in snapshot["jobs"]]
        assert created == sorted(created, reverse=True)
    finally:
        for job in jobs:
            client.post(f"/api/jobs/{job['id']}/cancel")
