"""What the server sends for pages, read over plain HTTP: the policy, the 404 page, escaping (issue 4)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ROOT, start_job, wait_for_state


@pytest.mark.parametrize("path", ["/", "/jobs/{job_id}", "/jobs/unknown-id", "/no/such/page"])
def test_pages_allow_only_the_apps_own_scripts(client: httpx.Client, path: str) -> None:
    job_id = start_job(client, "sleep", seconds=0, steps=1)["id"]
    response = client.get(path.format(job_id=job_id))
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "<script>" not in response.text  # every script is a file under /static


@pytest.mark.parametrize("path", ["/api/kinds", "/api/events", "/healthz"])
def test_api_responses_carry_no_page_policy(client: httpx.Client, path: str) -> None:
    with client.stream("GET", path) as response:
        assert "content-security-policy" not in response.headers


@pytest.mark.parametrize("path", ["/jobs/AAAAAAAAAAAAAAAAAAAAAA", "/nothing-here"])
def test_unknown_job_or_path_gets_the_sites_404_page(client: httpx.Client, path: str) -> None:
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "<h1>Not found</h1>" in response.text
    assert "/static/app.css" in response.text
    assert "Traceback" not in response.text


def test_unknown_job_page_answers_json_to_a_client_that_asks(client: httpx.Client) -> None:
    response = client.get("/jobs/AAAAAAAAAAAAAAAAAAAAAA", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_job_page_holds_job_data_only_escaped(client: httpx.Client) -> None:
    job_id = start_job(client, "fail", message="<script>alert(1)</script>")["id"]
    wait_for_state(client, job_id, {"failed"})
    page = client.get(f"/jobs/{job_id}").text
    assert "<script>alert" not in page
    assert f'data-stream="/api/jobs/{job_id}/events"' in page


SCRIPTS = {**{f"/static/{path.name}": path for path in (ROOT / "web" / "static").glob("*.js")},
           **{f"/progress/static/{path.name}": path for path in (ROOT / "progress" / "static").glob("*.js")}}
"""The page's own modules, and the extension's that it shares with <job-progress> (issue 16)."""


@pytest.mark.parametrize("module", sorted(SCRIPTS))
def test_scripts_never_insert_html(client: httpx.Client, module: str) -> None:
    response = client.get(module)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    source = response.text
    assert source == SCRIPTS[module].read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source, f"{module} uses {sink}"
