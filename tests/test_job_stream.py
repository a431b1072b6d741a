"""A job's own stream: snapshot, live events in order, and the end (issue #3)."""

from tests.conftest import start_job


def test_job_stream_sends_every_step_then_ends_after_terminal_state(client, open_stream):
    job = start_job(client, "sleep", seconds=0.5, steps=5)
    reader = open_stream(f"/api/jobs/{job['id']}/events")
    reader.wait_ended()
    events = reader.events
    assert reader.status == 200
    assert events[0].event in ("snapshot",)
    states = [e.json()["state"] for e in events if e.event in ("snapshot", "state")]
    assert states[-1] == "succeeded"
    ids = [int(e.id) for e in events]
    assert ids == sorted(set(ids))
    dones = [e.json()["progress"]["done"] for e in events]
    assert dones == sorted(dones) and dones[-1] == 5
