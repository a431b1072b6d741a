"""The product inside someone else's Flask app (issue 16): `ProgressExtension(app,
url_prefix="/progress", owner_of_request=...)` serves the JSON API and both streams under the
prefix with the contract's JSON errors, whatever the host's own error pages are, and leaves
the host's own paths to the host. tests/host_app.py is the host, under a real gunicorn -k gevent
with the take-over installed by the README's one line."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from progress.flask_adapter.extension import STATIC_FOLDER
from tests.conftest import ROOT, Server, StreamReader, start_job, start_server, wait_for_state
from tests.host_app import USER_HEADER, create_host_app
from tests.test_bad_input import UNKNOWN_ID, assert_error
from web.app import create_app
from web.settings import Settings

HOST_404 = "The host's own 404 page"
HOST_GRACEFUL_TIMEOUT_S = 5.0
"""tests/host_gunicorn.conf.py's `graceful_timeout`: a stop that waited for it would take this long."""


def start_host(folder: Path) -> Server:
    return start_server(folder, env={"PYTHONPATH": str(ROOT)}, config=ROOT / "tests" / "host_gunicorn.conf.py",
                        ready_path="/")


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_host(tmp_path_factory.mktemp("host"))
    yield server
    server.stop()


def signed_in(host: Server, name: str = "ann") -> httpx.Client:
    return host.client(headers={USER_HEADER: name})


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "/progress/api/jobs", {"kind": "no such kind"}, 400, "unknown_kind"),
    ("POST", "/progress/api/jobs", {"kind": "sleep", "params": {"seconds": -1}}, 400, "invalid_params"),
    ("GET", f"/progress/api/jobs/{UNKNOWN_ID}", None, 404, "not_found"),
    ("GET", f"/progress/api/jobs/{UNKNOWN_ID}/events", None, 404, "not_found"),
    ("GET", f"/progress/api/jobs/{UNKNOWN_ID}/result", None, 404, "not_found"),
    ("GET", "/progress/api/nothing/here", None, 404, "not_found"),
    ("GET", "/progress/api", None, 404, "not_found"),
    ("DELETE", "/progress/api/jobs", None, 405, "method_not_allowed"),
    ("POST", "/progress/api/events", None, 405, "method_not_allowed"),
])
def test_errors_under_the_prefix_are_the_contracts_json_whatever_the_hosts_pages(host, method, path, body, status, code):
    response = signed_in(host).request(method, path, json=body, headers={"Accept": "text/html"})
    assert_error(response, status, code)
    if status == 405:
        assert method not in response.headers["Allow"] and "GET" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/nothing/here", "/progress/nothing", "/api/jobs"])
def test_the_hosts_own_paths_keep_the_hosts_own_404_page(host, path):
    response = signed_in(host).get(path)
    assert response.status_code == 404 and HOST_404 in response.text


@pytest.mark.parametrize("path", ["/progress/api/jobs", "/progress/api/events", "/progress/api/elsewhere"])
def test_without_an_owner_from_the_hosts_login_the_api_is_401_json(host, path):
    response = host.client().get(path)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert host.client().get("/").status_code == 200  # the host's own pages are the host's business


def test_a_job_under_the_prefix_streams_on_both_streams_and_its_result_downloads(host):
    ann = signed_in(host)
    everything = StreamReader(signed_in(host, "ann"), "/progress/api/events")
    others = StreamReader(signed_in(host, "bob"), "/progress/api/events")
    try:
        everything.wait_for(lambda events: events and events[0].event == "snapshot")
        submitted = ann.post("/progress/api/jobs", json={"kind": "sleep", "params": {"seconds": 0.3, "steps": 3}})
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        assert submitted.headers["Location"] == f"/progress/api/jobs/{job_id}"

        one_job = StreamReader(signed_in(host, "ann"), f"/progress/api/jobs/{job_id}/events")
        one_job.wait_ended()
        last = one_job.events[-1].json()
        assert one_job.events[-1].event == "state" and last["state"] == "succeeded"
        assert last["result"]["url"] == f"/progress/api/jobs/{job_id}/result"
        seen = everything.wait_for(lambda events: any(e.event == "state" and e.json()["id"] == job_id
                                                      and e.json()["state"] == "succeeded" for e in events))
        assert [e.json()["state"] for e in seen if e.event == "state"] == ["queued", "running", "succeeded"]

        assert ann.get(submitted.headers["Location"]).json()["state"] == "succeeded"
        download = ann.get(last["result"]["url"])
        assert download.status_code == 200 and download.json() == {"steps": 3}
        assert_error(signed_in(host, "bob").get(submitted.headers["Location"]), 404, "not_found")
        assert all(e.event == "snapshot" for e in others.events)  # bob saw nothing of ann's job
    finally:
        everything.close()
        others.close()


def test_sigterm_ends_the_hosts_jobs_and_streams_in_seconds_through_the_same_one_line(tmp_path):
    """The config's one line installs the graceful stop too: no waiting out graceful_timeout."""
    host = start_host(tmp_path)
    try:
        with httpx.Client(base_url=f"{host.url}/progress", headers={USER_HEADER: "ann"}) as ann:
            running = start_job(ann, "sleep", seconds=60, steps=60)
            wait_for_state(ann, running["id"], {"running"})
        stream = StreamReader(signed_in(host), "/progress/api/events")
        stream.wait_for(lambda events: events and events[0].event == "snapshot")
        signalled = time.monotonic()
        os.killpg(host.process.pid, signal.SIGTERM)
        stream.wait_for(lambda events: any(e.event == "state" and e.json()["id"] == running["id"]
                                           and e.json()["state"] == "interrupted" for e in events))
        stream.wait_ended()
        host.process.wait(HOST_GRACEFUL_TIMEOUT_S)
        assert time.monotonic() - signalled < HOST_GRACEFUL_TIMEOUT_S
        assert "Worker graceful timeout" not in host.log()
    finally:
        host.stop()


def test_the_api_document_names_the_prefix_and_only_the_extensions_routes(host):
    document = signed_in(host).get("/progress/api/openapi.json").json()
    assert document["servers"] == [{"url": "/progress"}]
    assert "/healthz" not in document["paths"] and "/api/jobs/{job_id}/events" in document["paths"]
    location = document["paths"]["/api/jobs"]["post"]["responses"]["202"]["headers"]["Location"]["schema"]
    assert location["pattern"].startswith("^/progress/api/jobs/")


def test_the_extensions_static_files_are_under_the_prefix_and_never_over_the_standalone_apps(tmp_path: Path):
    host_app = create_host_app(str(tmp_path))
    standalone = create_app(Settings(jobs_db=":memory:", data_dir=str(tmp_path / "standalone")))
    for app in (host_app, standalone):
        rules = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
        assert rules["/progress/static/<path:filename>"] == "progress_assets.static"
        assert Path(app.blueprints["progress_assets"].static_folder) == STATIC_FOLDER == ROOT / "progress" / "static"
    assert {rule.endpoint for rule in standalone.url_map.iter_rules() if rule.rule == "/static/<path:filename>"} == {"static"}
    with standalone.test_client().get("/static/app.css") as page_style:
        assert page_style.status_code == 200
