"""The `/api/events` snapshot is encoded once per moment and set of jobs (issue 14 part 8)."""

from progress.jobs import Job, JobState
from progress.snapshots import MAX_KEPT, Snapshots, snapshot_json
from progress.sse import encode_event


def jobs(count: int) -> list[Job]:
    return [Job("sleep", {"seconds": n, "steps": 1}) for n in range(count)]


def test_opens_at_one_moment_share_one_encoding_of_the_same_bytes():
    snapshots, kept = Snapshots(), jobs(3)
    first = snapshots.event(7, kept)
    assert first == encode_event("snapshot", 7, snapshot_json(kept))
    assert snapshots.event(7, list(kept)) is first


def test_a_new_id_or_another_set_of_jobs_gets_a_snapshot_of_its_own():
    snapshots, kept = Snapshots(), jobs(3)
    first = snapshots.event(7, kept)
    forgotten = snapshots.event(7, kept[1:])  # retention forgets a job without issuing an id
    assert forgotten == encode_event("snapshot", 7, snapshot_json(kept[1:])) != first
    kept[0].state = JobState.RUNNING  # a commit changes a job and issues a new id
    later = snapshots.event(8, kept)
    assert later == encode_event("snapshot", 8, snapshot_json(kept)) and b'"running"' in later


def test_past_the_limit_of_sets_kept_they_are_made_anew():
    snapshots, kept = Snapshots(), jobs(MAX_KEPT + 1)
    first = snapshots.event(1, kept[:1])
    for n in range(1, MAX_KEPT + 1):
        snapshots.event(1, kept[n:n + 1])
    again = snapshots.event(1, kept[:1])
    assert again == first and again is not first
