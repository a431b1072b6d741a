"""The dashboard in headless Chromium against the shared gunicorn: forms, live bars, cancel, results (issue 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import PHONE, browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import Server, wait_for_state

RECORD_PERCENTS = """() => {
  window.seenPercents = {};
  new MutationObserver((records) => {
    for (const record of records) {
      const id = record.target.closest("[data-job-id]").dataset.jobId;
      (window.seenPercents[id] ??= []).push(record.target.getAttribute("aria-valuenow"));
    }
  }).observe(document.getElementById("jobs"), {subtree: true, attributeFilter: ["aria-valuenow"]});
}"""
"""Every value `aria-valuenow` takes, per job, however fast the frames go."""


def submit_form(page: Any, kind: str, values: dict[str, str]) -> httpx.Response | Any:
    """Fill a kind's form as a person would and press Start; returns the POST's response."""
    box = page.locator(f'details[data-kind="{kind}"]')
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    form = box.locator("form")
    for name, value in values.items():
        form.locator(f'[name="{name}"]').fill(value)
    with page.expect_response("**/api/jobs") as answer:
        form.get_by_role("button", name="Start").click()
    return answer.value


def card(page: Any, job_id: str, state: str | None = None) -> Any:
    selector = f'[data-job-id="{job_id}"]' + (f'[data-state="{state}"]' if state else "")
    return page.locator(f"#jobs {selector}")


@pytest.fixture
def dashboard(server: Server, open_page: Any) -> Any:  # noqa: F811
    page = open_page(server.url)
    wait_live(page)
    page.locator('details[data-kind="sleep"]').wait_for()
    return page


def test_job_started_from_its_form_rises_to_100_succeeds_and_its_result_downloads(dashboard: Any) -> None:
    dashboard.evaluate(RECORD_PERCENTS)
    response = submit_form(dashboard, "sleep", {"seconds": "1.5", "steps": "15"})
    assert response.status == 202
    job_id = response.json()["id"]

    card(dashboard, job_id, "succeeded").wait_for()
    bar = card(dashboard, job_id).get_by_role("progressbar")
    assert bar.get_attribute("aria-valuenow") == "100"
    seen = [float(value) for value in dashboard.evaluate("id => window.seenPercents[id]", job_id)]
    assert seen == sorted(seen) and seen[0] < 100 and seen[-1] == 100
    assert card(dashboard, job_id).locator('[data-action="cancel"]').count() == 0

    with dashboard.expect_download() as download_info:
        card(dashboard, job_id).get_by_role("link", name="Download result").click()
    download = download_info.value
    assert download.suggested_filename == f"sleep-{job_id}.json"
    assert json.loads(Path(download.path()).read_text()) == {"steps": 15}


def test_form_starts_a_job_from_the_keyboard(dashboard: Any) -> None:
    greet = dashboard.locator('details[data-kind="greet"] summary')
    greet.focus()
    if dashboard.locator('details[data-kind="greet"]').get_attribute("open") is None:
        dashboard.keyboard.press("Enter")  # a summary opens its box from the keyboard
    dashboard.keyboard.press("Tab")
    assert dashboard.evaluate("document.activeElement.name") == "user"
    dashboard.keyboard.press("Control+A")
    dashboard.keyboard.type("Keyboard")
    with dashboard.expect_response("**/api/jobs") as answer:
        dashboard.keyboard.press("Enter")
    job = answer.value.json()
    assert job["params"] == {"user": "Keyboard"}
    card(dashboard, job["id"]).wait_for()


@pytest.mark.parametrize(("kind", "name", "value", "message"), [
    ("sleep", "seconds", "5000", "params.seconds must be at most 3600."),
    ("sleep", "steps", "2.5", "params.steps must be an integer."),
    ("greet", "user", "", "params.user must be at least 1 character long."),
])
def test_bad_value_shows_the_servers_message_next_to_its_field_and_starts_nothing(
        dashboard: Any, client: httpx.Client, kind: str, name: str, value: str, message: str) -> None:
    before = len(client.get("/api/jobs", params={"limit": 1000}).json()["jobs"])
    response = submit_form(dashboard, kind, {name: value})
    assert response.status == 400

    field = dashboard.locator(f'form[data-kind="{kind}"] .field').filter(has=dashboard.locator(f'[name="{name}"]'))
    error = field.locator(".field-error")
    error.wait_for()
    assert error.text_content() == message
    assert field.locator(f'[name="{name}"]').get_attribute("aria-invalid") == "true"
    assert dashboard.evaluate("document.activeElement.name") == name
    assert len(client.get("/api/jobs", params={"limit": 1000}).json()["jobs"]) == before

    submit_form(dashboard, kind, {name: {"seconds": "0.1", "steps": "1", "user": "Fixed"}[name]})
    assert error.is_hidden()


def test_running_job_is_cancelled_from_the_page(dashboard: Any, client: httpx.Client) -> None:
    job_id = submit_form(dashboard, "sleep", {"seconds": "60", "steps": "600"}).json()["id"]
    card(dashboard, job_id, "running").wait_for()

    card(dashboard, job_id).locator('button[data-action="cancel"]').click()

    card(dashboard, job_id, "cancelled").wait_for()
    assert card(dashboard, job_id).locator('[data-action="cancel"]').count() == 0
    assert card(dashboard, job_id).locator(".job-state").text_content() == "Cancelled"
    assert wait_for_state(client, job_id, {"cancelled"})["state"] == "cancelled"


def test_failed_job_shows_its_one_line_error(dashboard: Any) -> None:
    job_id = submit_form(dashboard, "fail", {}).json()["id"]
    card(dashboard, job_id, "failed").wait_for()
    error = card(dashboard, job_id).locator(".job-error")
    assert error.is_visible()
    assert "disk full" in error.text_content() and "\n" not in error.text_content()


def test_html_in_params_is_shown_as_text_never_run(dashboard: Any, server: Server, open_page: Any) -> None:  # noqa: F811
    payload = "<img src=x onerror=alert(1)>"
    job_id = submit_form(dashboard, "greet", {"user": payload}).json()["id"]

    running = card(dashboard, job_id, "running")
    running.wait_for()
    assert card(dashboard, job_id).locator(".job-params").text_content() == f"user={payload}"
    dashboard.wait_for_function(
        "id => document.querySelector(`[data-job-id='${id}'] .job-message`).textContent.includes('<img')", arg=job_id)
    assert dashboard.locator("#jobs img").count() == 0

    job_page = open_page(f"{server.url}/jobs/{job_id}")
    card(job_page, job_id).wait_for()
    assert card(job_page, job_id).locator(".job-params").text_content() == f"user={payload}"
    assert job_page.locator("img").count() == 0  # the open_page fixture fails on any dialog


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_dashboard_fits_a_phone_screen(server: Server, open_page: Any, color_scheme: str) -> None:  # noqa: F811
    page = open_page(server.url, color_scheme=color_scheme, viewport=PHONE, reduced_motion="reduce")
    wait_live(page)
    page.locator("details.kind").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(15, 18, 22)") == (color_scheme == "dark")
