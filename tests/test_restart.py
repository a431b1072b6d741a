"""What survives a restart (docs/api.md), with real gunicorn processes killed and started again (issue #12).

Most tests read one scenario per way of stopping (`restarted`): a server with one slot
finishes three jobs, runs a long one, queues three more and is watched by two streams;
then it is stopped by SIGKILL or SIGTERM and a new one starts on the same data folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from httpx_sse import ServerSentEvent

from tests.conftest import Server, StreamReader, start_job, wait_for_state
from tests.restarts import (STOPS, TERMINAL, DataFolder, finish, finish_cancelled, job_after_restart,
                            job_or_fail, kill_hard, timestamp)
from tests.test_resume import History, triples
from tests.test_retention import wait_for_404

CLOCK_SLACK_S = 0.01
"""Timestamps carry milliseconds; the server and the tests share one clock."""


@dataclass
class BeforeTheStop:
    """What clients saw of the first server: its jobs, a result, and two streams read until it went away."""

    finished: list[dict]
    result: bytes
    result_headers: dict[str, str]
    running: dict
    queued: list[dict]
    all_jobs_stream: StreamReader
    running_job_stream: StreamReader

    def newest_id_seen(self) -> int:
        return max(int(e.id) for reader in (self.all_jobs_stream, self.running_job_stream) for e in reader.events)

    def terminal_event(self, job_id: str) -> ServerSentEvent:
        (event,) = [e for e in self.all_jobs_stream.events if is_state(e, job_id, TERMINAL)]
        return event


@dataclass
class Restarted:
    how: str
    folder: DataFolder
    before: BeforeTheStop
    stopped_at: float
    """Wall clock when the first server's process had exited."""
    server: Server
    running_at_start: httpx.Response
    """The job that was running, as the first request to the new server saw it."""


def is_state(event: ServerSentEvent, job_id: str, states: frozenset[str] | set[str]) -> bool:
    return event.event == "state" and event.json()["id"] == job_id and event.json()["state"] in states


def assert_after_and_increasing(events: list[ServerSentEvent], last_id: int) -> None:
    """Never an id at or below the one the client had, never one twice, never going back."""
    ids = [int(e.id) for e in events]
    assert ids and ids[0] > last_id, (last_id, ids)
    assert ids == sorted(set(ids)), ids


def assert_snapshot_or_missed(events: list[ServerSentEvent]) -> None:
    """A resumed stream starts with a fresh snapshot or with the missed events; never a snapshot later."""
    assert "snapshot" not in [e.event for e in events[1:]], [(e.event, e.id) for e in events]


def work_before_the_stop(folder: DataFolder, server: Server) -> BeforeTheStop:
    client = server.client()
    all_jobs_stream = folder.open_stream(server, "/api/events")
    all_jobs_stream.wait_for(lambda events: events)
    finished = [finish(client, "sleep", seconds=0.1, steps=2), finish(client, "fail"), finish_cancelled(client)]
    result = client.get(f"/api/jobs/{finished[0]['id']}/result")
    running = start_job(client, "sleep", seconds=60, steps=60)
    wait_for_state(client, running["id"], {"running"})
    queued = [start_job(client, "sleep", seconds=0.2, steps=2) for _ in range(3)]
    running_job_stream = folder.open_stream(server, f"/api/jobs/{running['id']}/events")
    running_job_stream.wait_for(lambda events: events)
    all_jobs_stream.wait_for(lambda events: any(is_state(e, queued[-1]["id"], {"queued"}) for e in events))
    return BeforeTheStop(finished, result.content, {name: result.headers[name] for name in
                                                    ("content-type", "content-disposition")},
                         running, queued, all_jobs_stream, running_job_stream)


@pytest.fixture(scope="module", params=list(STOPS))
def restarted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restarted]:
    folder = DataFolder(tmp_path_factory.mktemp("restart"), {"JOBS_CONCURRENCY": "1"})
    try:
        first = folder.start()
        before = work_before_the_stop(folder, first)
        STOPS[request.param](first)
        stopped_at = time.time()
        for reader in (before.all_jobs_stream, before.running_job_stream):
            reader.wait_ended(5)
        server = folder.start()
        running_at_start = server.client().get(f"/api/jobs/{before.running['id']}")
        yield Restarted(request.param, folder, before, stopped_at, server, running_at_start)
    finally:
        folder.close()


def test_finished_jobs_are_listed_after_the_restart_as_they_were(restarted: Restarted) -> None:
    client = restarted.server.client()
    listed = {job["id"]: job for job in client.get("/api/jobs", params={"limit": 1000}).json()["jobs"]}
    for job in restarted.before.finished:
        assert job_after_restart(client, job["id"]) == job
        assert listed.get(job["id"]) == job
    assert [job["state"] for job in restarted.before.finished] == ["succeeded", "failed", "cancelled"]


def test_a_result_file_downloads_the_same_bytes_after_the_restart(restarted: Restarted) -> None:
    client = restarted.server.client()
    job_id = restarted.before.finished[0]["id"]
    job_after_restart(client, job_id)
    response = client.get(f"/api/jobs/{job_id}/result")
    assert response.status_code == 200, response.text
    assert response.content == restarted.before.result
    assert {name: response.headers.get(name) for name in restarted.before.result_headers} == \
        restarted.before.result_headers


def test_queued_jobs_start_after_the_restart_oldest_first_and_succeed(restarted: Restarted) -> None:
    client = restarted.server.client()
    for job in restarted.before.queued:
        job_after_restart(client, job["id"])
    jobs = [wait_for_state(client, job["id"], set(TERMINAL)) for job in restarted.before.queued]
    assert [job["state"] for job in jobs] == ["succeeded"] * len(jobs)
    started = [timestamp(job["started_at"]) for job in jobs]
    assert started == sorted(started) and len(set(started)) == len(started), started
    assert started[0] >= restarted.stopped_at - CLOCK_SLACK_S, "a queued job started while the server stopped"


def test_the_running_job_ends_interrupted_with_a_one_line_error(restarted: Restarted) -> None:
    """At once on SIGTERM (before the process exits); after SIGKILL, as the next start begins."""
    job = job_or_fail(restarted.running_at_start, restarted.before.running["id"])
    assert job["state"] == "interrupted", job
    assert isinstance(job["error"], str) and job["error"].strip() and "\n" not in job["error"]
    assert job["result"] is None
    finished_at = timestamp(job["finished_at"])
    if restarted.how == "SIGTERM":
        assert finished_at <= restarted.stopped_at + CLOCK_SLACK_S
        assert any(is_state(e, job["id"], {"interrupted"}) for e in restarted.before.all_jobs_stream.events)
    else:
        assert finished_at >= restarted.stopped_at - CLOCK_SLACK_S


def test_event_ids_go_on_above_every_id_seen_before_the_restart(restarted: Restarted) -> None:
    reader = restarted.folder.open_stream(restarted.server, "/api/events")
    fresh = start_job(restarted.server.client(), "sleep", seconds=0, steps=1)
    events = reader.wait_for(lambda events: any(is_state(e, fresh["id"], {"succeeded"}) for e in events))
    assert events[0].event == "snapshot"
    assert_after_and_increasing(events, restarted.before.newest_id_seen())


def test_the_all_jobs_stream_resumed_from_before_the_restart_never_goes_back_or_repeats(restarted: Restarted) -> None:
    last_id = restarted.before.all_jobs_stream.events[-1].id
    reader = restarted.folder.open_stream(restarted.server, "/api/events", {"Last-Event-ID": last_id})
    fresh = start_job(restarted.server.client(), "sleep", seconds=0, steps=1)
    events = reader.wait_for(lambda events: any(is_state(e, fresh["id"], {"succeeded"}) for e in events))
    assert_after_and_increasing(events, int(last_id))
    assert_snapshot_or_missed(events)
    if events[0].event != "snapshot" and restarted.how == "SIGKILL":
        # Issued at the new start, after the id the client had: one of the events it missed.
        assert any(is_state(e, restarted.before.running["id"], {"interrupted"}) for e in events)
    assert not reader.ended.is_set()


def test_a_job_stream_resumed_from_before_the_restart_never_goes_back_and_ends_interrupted(restarted: Restarted) -> None:
    before = restarted.before
    job_after_restart(restarted.server.client(), before.running["id"])
    last_id = before.running_job_stream.events[0].id  # its snapshot, taken while the job ran
    reader = restarted.folder.open_stream(restarted.server, f"/api/jobs/{before.running['id']}/events",
                                          {"Last-Event-ID": last_id})
    reader.wait_ended()
    assert reader.status == 200
    assert_after_and_increasing(reader.events, int(last_id))
    assert_snapshot_or_missed(reader.events)
    assert reader.events[-1].json()["state"] == "interrupted"
    if reader.events[0].event == "snapshot":
        assert len(reader.events) == 1
    elif restarted.how == "SIGTERM":
        # Everything after the id was issued before the stop: the missed events are what the old stream showed.
        seen = History(before.running["id"], last_id, before.running_job_stream.events[1:])
        assert triples(reader) == seen.missed(int(last_id))


def test_a_job_stream_resumed_at_or_after_a_terminal_event_from_before_the_restart_is_204(restarted: Restarted) -> None:
    client = restarted.server.client()
    newest_seen = str(restarted.before.newest_id_seen())
    for job in restarted.before.finished:
        job_after_restart(client, job["id"])
        for last_id in (restarted.before.terminal_event(job["id"]).id, newest_seen):
            response = client.get(f"/api/jobs/{job['id']}/events", headers={"Last-Event-ID": last_id})
            assert response.status_code == 204, (job["state"], last_id, response.text[:200])


@pytest.fixture
def data_folder(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], DataFolder]]:
    """`data_folder(env)`: this test's data folder, its servers started with `env`; all killed after."""
    made: list[DataFolder] = []

    def make(env: dict[str, str]) -> DataFolder:
        made.append(DataFolder(tmp_path, env))
        return made[-1]

    yield make
    for folder in made:
        folder.close()


def test_every_job_answered_202_is_on_disk_when_the_server_is_killed_right_after(data_folder) -> None:
    folder = data_folder({"JOBS_CONCURRENCY": "1"})
    server = folder.start()
    with ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(lambda _: start_job(server.client(), "sleep", seconds=30, steps=30), range(24)))
    kill_hard(server)
    client = folder.start().client()
    for job in accepted:
        kept = job_after_restart(client, job["id"])
        assert (kept["kind"], kept["params"], kept["created_at"]) == (job["kind"], job["params"], job["created_at"])
    listed = {job["id"] for job in client.get("/api/jobs", params={"limit": 1000}).json()["jobs"]}
    assert {job["id"] for job in accepted} <= listed
    assert (folder.path / "jobs.sqlite3").is_file(), "JOBS_DB defaults to <DATA_DIR>/jobs.sqlite3"


KEEP_S = 5.0
DOWN_S = 2.5
EXPIRY_SLACK_S = 1.5
"""Kept from when it finished: gone by finish + KEEP_S + slack; counted from the restart, it would
stay until at least finish + DOWN_S + KEEP_S, a second past that."""


def test_a_finished_job_is_kept_keep_s_from_when_it_finished_not_from_the_restart(data_folder) -> None:
    folder = data_folder({"JOBS_KEEP_S": str(KEEP_S)})
    server = folder.start()
    job = finish(server.client(), "sleep", seconds=0, steps=1)
    kill_hard(server)
    finished_at = timestamp(job["finished_at"])
    time.sleep(max(0.0, finished_at + DOWN_S - time.time()))
    client = folder.start().client()
    job_after_restart(client, job["id"])
    wait_for_404(client, f"/api/jobs/{job['id']}", timeout=finished_at + KEEP_S + EXPIRY_SLACK_S - time.time())
    assert client.get(f"/api/jobs/{job['id']}/result").status_code == 404


def test_an_in_memory_store_forgets_every_job_on_restart(data_folder) -> None:
    folder = data_folder({"JOBS_DB": ":memory:"})
    server = folder.start()
    job = finish(server.client(), "sleep", seconds=0, steps=1)
    server.stop()
    client = folder.start().client()
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404
    assert job["id"] not in {job["id"] for job in client.get("/api/jobs").json()["jobs"]}
    assert not (folder.path / "jobs.sqlite3").exists()
