"""Resuming with `Last-Event-ID` or `?lastEventId=`: the contract's Resuming table, row by row (issue #3)."""

from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import StreamReader, start_job, wait_for_state

MALFORMED = ["", "abc", "-1", "01", "1.5", " 5", "5 ", "+5", "1e3", "0x10", "５", str(2**53), "9" * 40]
TOO_OLD = ["0", "1", "1000000"]


@dataclass
class History:
    """Every event of one finished `sleep` job as `/api/events` showed it, and the id before it began."""

    job_id: str
    before: str
    events: list  # ServerSentEvent, in id order

    def missed(self, since: int) -> list[tuple[str, str, str]]:
        """The contract's missed events: states after `since`, and the newest progress if after it."""
        states = [e for e in self.events if e.event == "state" and int(e.id) > since]
        progress = [e for e in self.events if e.event == "progress"][-1:]
        chosen = states + [e for e in progress if int(e.id) > since]
        return [(e.event, e.id, e.data) for e in sorted(chosen, key=lambda e: int(e.id))]

    @property
    def terminal_id(self) -> str:
        return self.events[-1].id


@pytest.fixture(scope="module")
def history(server) -> History:
    with httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0, read=30.0)) as stream_client:
        reader = StreamReader(stream_client, "/api/events")
        before = reader.wait_for(lambda events: events)[0].id
        job = start_job(server.client(), "sleep", seconds=0.4, steps=4)
        reader.wait_for(lambda events: any(e.event == "state" and e.json()["id"] == job["id"]
                                           and e.json()["state"] == "succeeded" for e in events))
        reader.close()
    events = [e for e in reader.events[1:] if e.json()["id"] == job["id"]]
    assert [e.json()["state"] for e in events if e.event == "state"] == ["queued", "running", "succeeded"]
    return History(job["id"], before, events)


def newest_id(client) -> int:
    """The newest id issued, read from a fresh snapshot of `/api/events`."""
    with client.stream("GET", "/api/events") as response:
        for line in response.iter_lines():
            if line.startswith("id: "):
                return int(line[4:])
    raise AssertionError("no snapshot")


def triples(reader) -> list[tuple[str, str, str]]:
    return [(e.event, e.id, e.data) for e in reader.events]


def resume(open_stream, path: str, last_id: str, how: str):
    if how == "header":
        return open_stream(path, headers={"Last-Event-ID": last_id})
    return open_stream(f"{path}?lastEventId={quote(last_id)}")


def header_safe(value: str) -> bool:
    """HTTP clients refuse non-ASCII header values and strip surrounding blanks; the query carries those."""
    return value.isascii() and value == value.strip()


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("position", ["before", "queued", "running", "first progress", "last progress"])
def test_a_job_stream_resumes_with_exactly_the_missed_events_then_ends(open_stream, history, how, position):
    progress = [e for e in history.events if e.event == "progress"]
    since = {
        "before": history.before,
        "queued": history.events[0].id,
        "running": history.events[1].id,
        "first progress": progress[0].id,
        "last progress": progress[-1].id,
    }[position]
    reader = resume(open_stream, f"/api/jobs/{history.job_id}/events", since, how)
    reader.wait_ended()
    assert reader.status == 200 and reader.retry is not None
    assert triples(reader) == history.missed(int(since))
    assert reader.events[-1].json()["state"] == "succeeded"
    assert all(int(e.id) > int(since) for e in reader.events)


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_job_stream_resumed_at_or_after_its_terminal_event_is_204(client, open_stream, history, how):
    start_job(client, "sleep", seconds=0, steps=1)
    for last_id in (history.terminal_id, str(int(history.terminal_id) + 1), str(newest_id(client))):
        path = f"/api/jobs/{history.job_id}/events"
        headers = {"Last-Event-ID": last_id} if how == "header" else {}
        response = client.get(path if how == "header" else f"{path}?lastEventId={last_id}", headers=headers)
        assert response.status_code == 204, last_id
        assert response.content == b""


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("last_id", [*MALFORMED, *TOO_OLD, "above newest"])
def test_a_bad_too_old_or_future_id_gets_a_fresh_snapshot_then_the_end(client, open_stream, history, last_id, how):
    if last_id == "above newest":
        last_id = str(newest_id(client) + 10**9)
    if how == "header" and not header_safe(last_id):
        how = "query"
    reader = resume(open_stream, f"/api/jobs/{history.job_id}/events", last_id, how)
    reader.wait_ended()
    assert reader.status == 200
    (snapshot,) = reader.events
    assert snapshot.event == "snapshot" and snapshot.json()["state"] == "succeeded"


def test_the_header_wins_over_the_query(client, open_stream, history):
    path = f"/api/jobs/{history.job_id}/events"
    assert client.get(f"{path}?lastEventId=abc", headers={"Last-Event-ID": history.terminal_id}).status_code == 204
    reader = open_stream(f"{path}?lastEventId={history.terminal_id}", headers={"Last-Event-ID": "abc"})
    reader.wait_ended()
    assert [e.event for e in reader.events] == ["snapshot"]
    reader = open_stream(f"{path}?lastEventId={history.terminal_id}", headers={"Last-Event-ID": history.events[0].id})
    reader.wait_ended()
    assert triples(reader) == history.missed(int(history.events[0].id))


@pytest.fixture
def waiting_job(client):
    """A running job that reported 2 of 5 and waits; its `/api/events` history is returned with it."""
    job = start_job(client, "report_and_wait", done=2, total=5)
    wait_for_state(client, job["id"], {"running"})
    yield job
    client.post(f"/api/jobs/{job['id']}/cancel")


def test_a_running_job_stream_resumes_with_the_missed_events_then_goes_live(client, open_stream, history, waiting_job):
    whole = open_stream(f"/api/jobs/{waiting_job['id']}/events", headers={"Last-Event-ID": history.terminal_id})
    whole.wait_for(lambda events: any(e.event == "progress" for e in events))
    queued_id = whole.events[0].id
    assert [e.event for e in whole.events] == ["state", "state", "progress"]
    resumed = open_stream(f"/api/jobs/{waiting_job['id']}/events", headers={"Last-Event-ID": queued_id})
    resumed.wait_for(lambda events: len(events) >= 2)
    assert triples(resumed) == triples(whole)[1:]
    assert not resumed.ended.is_set()
    client.post(f"/api/jobs/{waiting_job['id']}/cancel")
    resumed.wait_ended()
    assert resumed.events[-1].json()["state"] == "cancelled"


@pytest.mark.parametrize("last_id", ["abc", "01", "1", "above newest"])
def test_a_running_job_stream_with_a_bad_id_gets_a_snapshot_then_goes_live(client, open_stream, waiting_job, last_id):
    if last_id == "above newest":
        last_id = str(newest_id(client) + 10**9)
    reader = open_stream(f"/api/jobs/{waiting_job['id']}/events", headers={"Last-Event-ID": last_id})
    reader.wait_for(lambda events: events)
    assert reader.events[0].event == "snapshot" and reader.events[0].json()["state"] == "running"
    client.post(f"/api/jobs/{waiting_job['id']}/cancel")
    reader.wait_ended()
    assert [e.event for e in reader.events] == ["snapshot", "state"]


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("position", ["before", "running", "last progress"])
def test_the_all_jobs_stream_resumes_with_the_missed_events_then_stays_open(open_stream, history, how, position):
    since = {"before": history.before, "running": history.events[1].id,
             "last progress": [e for e in history.events if e.event == "progress"][-1].id}[position]
    reader = resume(open_stream, "/api/events", since, how)
    reader.wait_for(lambda events: any(e.id == history.terminal_id for e in events))
    assert reader.events[0].event != "snapshot"
    ids = [int(e.id) for e in reader.events]
    assert ids == sorted(set(ids)) and ids[0] > int(since)
    assert [t for t in triples(reader) if history.job_id in t[2]] == history.missed(int(since))
    progress_jobs = [e.json()["id"] for e in reader.events if e.event == "progress"]
    assert len(progress_jobs) == len(set(progress_jobs))
    assert not reader.ended.is_set()


@pytest.mark.parametrize("how", ["header", "query"])
@pytest.mark.parametrize("last_id", ["", "abc", "-1", "01", "1.5", "５", str(2**53), "1", "above newest"])
def test_the_all_jobs_stream_with_a_bad_id_starts_with_a_snapshot(client, open_stream, last_id, how):
    if last_id == "above newest":
        last_id = str(newest_id(client) + 10**9)
    if how == "header" and not header_safe(last_id):
        how = "query"
    reader = resume(open_stream, "/api/events", last_id, how)
    reader.wait_for(lambda events: events)
    assert reader.events[0].event == "snapshot" and list(reader.events[0].json()) == ["jobs"]
