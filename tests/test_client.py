"""`python -m progress.client` against a real gunicorn: exit statuses, results, resume after a cut (issue 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser import CuttableProxy
from tests.conftest import ROOT, Server, start_job, wait_for_state

CLIENT_DEADLINE_S = 60


CLIENT_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}


def client_command(url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "progress.client", "--url", url, *args]


def run_client(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(client_command(url, *args), cwd=ROOT, env=CLIENT_ENV, capture_output=True, text=True,
                          timeout=CLIENT_DEADLINE_S)


def spawn_client(url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(client_command(url, *args), cwd=ROOT, env=CLIENT_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def own_server(server_factory: Callable[..., Server]) -> Server:
    """Its own server, so `/healthz` counts only this test's streams."""
    return server_factory()


@pytest.fixture
def proxy(own_server: Server) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(int(own_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


def wait_for_one_stream(client: httpx.Client) -> None:
    """The followed job's stream is open: a cut now drops a live stream."""
    deadline = time.monotonic() + CLIENT_DEADLINE_S
    while client.get("/healthz").json()["streams"] < 1:
        assert time.monotonic() < deadline, "the client did not open its stream"
        time.sleep(0.05)


@pytest.mark.parametrize(("kind", "params", "status", "said"), [
    ("sleep", ["seconds=0.3", "steps=3"], 0, "succeeded"),
    ("fail", ["message=disk full"], 1, "failed: RuntimeError: disk full"),
    ("flaky", ["succeed_on=2", "hold_s=0.2"], 0, "attempt 1 failed: ConnectionError: attempt 1 could not"),
    ("unknown_total", ["steps=3"], 0, "succeeded"),
    ("sleep", ["seconds=5000"], 5, "params.seconds must be at most 3600."),
    ("sleep", ["seconds=soon"], 5, "params.seconds must be a number."),
    ("no_such_kind", [], 5, "unknown_kind"),
])
def test_start_follows_the_job_and_exits_with_how_it_ended(
        server: Server, kind: str, params: list[str], status: int, said: str) -> None:
    finished = run_client(server.url, "start", kind, *params)
    assert finished.returncode == status, finished.stderr
    assert said in finished.stderr


def test_start_downloads_the_result_into_a_folder(server: Server, tmp_path: Path) -> None:
    finished = run_client(server.url, "start", "sleep", "seconds=0.2", "steps=4", "-o", str(tmp_path))
    assert finished.returncode == 0, finished.stderr
    [saved] = tmp_path.iterdir()
    assert saved.name.startswith("sleep-") and saved.suffix == ".json"
    assert json.loads(saved.read_text()) == {"steps": 4}


def test_start_uploads_a_local_file_for_an_upload_param(server: Server, tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("name,age\nAda,36\nAlan,41\n")
    finished = run_client(server.url, "start", "csv_summary", f"upload=@{people}", "-o", "-")
    assert finished.returncode == 0, finished.stderr
    assert "Uploaded people.csv (24 bytes)" in finished.stderr
    assert json.loads(finished.stdout)["rows"] == 2


def test_start_takes_a_list_param_as_one_word_per_item(server: Server, client: httpx.Client) -> None:
    """Issue 16 part 7: `recipients=… recipients=…`, no JSON needed."""
    started = run_client(server.url, "start", "email", "recipients=ann@example.com",
                         "recipients=Bob <bob@example.com>", "--detach")
    assert started.returncode == 0, started.stderr
    job = client.get(f"/api/jobs/{started.stdout.strip()}").json()
    assert job["params"]["recipients"] == ["ann@example.com", "Bob <bob@example.com>"]
    assert job["progress"]["total"] == 2


def test_start_with_a_missing_local_file_is_a_usage_error(server: Server, tmp_path: Path) -> None:
    finished = run_client(server.url, "start", "csv_summary", f"upload=@{tmp_path / 'nope.csv'}")
    assert finished.returncode == 2 and "No such file" in finished.stderr


def test_result_goes_to_standard_output_verbatim(server: Server, client: httpx.Client) -> None:
    user = "<Ada> \"Lovelace\" ü"
    job_id = start_job(client, "greet", user=user)["id"]
    wait_for_state(client, job_id, {"succeeded"})
    finished = run_client(server.url, "result", job_id, "-o", "-")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout == f"Hello, {user}! Task finished."


def test_result_of_an_unfinished_job_is_refused(server: Server, client: httpx.Client) -> None:
    job_id = start_job(client, "sleep", seconds=30, steps=30)["id"]
    finished = run_client(server.url, "result", job_id, "-o", "-")
    client.post(f"/api/jobs/{job_id}/cancel")
    assert finished.returncode == 5 and "no_result" in finished.stderr


def test_follow_exits_3_when_the_job_is_cancelled(server: Server, client: httpx.Client) -> None:
    job_id = start_job(client, "sleep", seconds=30, steps=300)["id"]
    follower = spawn_client(server.url, "follow", job_id)
    wait_for_state(client, job_id, {"running"})
    run_client(server.url, "cancel", job_id)
    _, stderr = follower.communicate(timeout=CLIENT_DEADLINE_S)
    assert follower.returncode == 3, stderr
    assert f"job {job_id} cancelled" in stderr


def test_follow_of_a_finished_job_reports_it_at_once(server: Server, client: httpx.Client) -> None:
    job_id = start_job(client, "fail")["id"]
    wait_for_state(client, job_id, {"failed"})
    finished = run_client(server.url, "follow", job_id)
    assert finished.returncode == 1 and "disk full" in finished.stderr


def test_follow_of_an_unknown_job_is_refused(server: Server) -> None:
    finished = run_client(server.url, "follow", "AAAAAAAAAAAAAAAAAAAAAA")
    assert finished.returncode == 5 and "not_found" in finished.stderr


def test_detach_prints_only_the_job_id(server: Server, client: httpx.Client) -> None:
    finished = run_client(server.url, "start", "sleep", "seconds=0", "steps=1", "--detach")
    assert finished.returncode == 0
    assert client.get(f"/api/jobs/{finished.stdout.strip()}").status_code == 200


def test_follow_resumes_after_the_connection_drops(own_server: Server, proxy: CuttableProxy) -> None:
    client = own_server.client()
    job_id = start_job(client, "sleep", seconds=4, steps=40)["id"]
    follower = spawn_client(proxy.url, "follow", job_id)
    wait_for_one_stream(client)
    proxy.cut()
    time.sleep(1)  # an outage of a second: the client retries every 0.5 s meanwhile
    proxy.restore()
    _, stderr = follower.communicate(timeout=CLIENT_DEADLINE_S)
    assert follower.returncode == 0, stderr
    assert f"job {job_id} succeeded" in stderr


def test_client_gives_up_with_status_6_when_the_server_stays_away(own_server: Server, proxy: CuttableProxy) -> None:
    client = own_server.client()
    job_id = start_job(client, "sleep", seconds=30, steps=30)["id"]
    follower = spawn_client(proxy.url, "--give-up", "1", "follow", job_id)
    wait_for_one_stream(client)
    proxy.cut()
    _, stderr = follower.communicate(timeout=CLIENT_DEADLINE_S)
    client.post(f"/api/jobs/{job_id}/cancel")  # the server then stops at once
    assert follower.returncode == 6, stderr
    assert "stayed unreachable for 1 s" in stderr


def test_watch_until_idle_shows_every_job_end(own_server: Server) -> None:
    client = own_server.client()  # its own server: no other test's job keeps it busy
    jobs = [start_job(client, "sleep", seconds=1.5, steps=15)["id"] for _ in range(3)]
    finished = run_client(own_server.url, "watch", "--until-idle")
    assert finished.returncode == 0, finished.stderr
    for job_id in jobs:
        assert f"job {job_id} succeeded" in finished.stderr


def test_the_client_never_imports_flask() -> None:
    code = "import sys, progress.client.cli; print('flask' in sys.modules)"
    probe = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert probe.stdout.strip() == "False", probe.stderr


def wait_until_done_at_least(client: httpx.Client, job_id: str, done: int) -> None:
    deadline = time.monotonic() + CLIENT_DEADLINE_S
    while client.get(f"/api/jobs/{job_id}").json()["progress"]["done"] < done:
        assert time.monotonic() < deadline, f"job {job_id} did not reach {done} steps"
        time.sleep(0.05)

