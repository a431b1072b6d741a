"""The page shows what a job system adds (issue #13): attempt n of m with the last error, a
countdown to a delayed start, the time limit, and the schedules with their next runs."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser import browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import Server


def card(page: Any, job_id: str) -> Any:
    return page.locator(f'#jobs [data-job-id="{job_id}"]')


def test_a_retried_job_shows_its_attempt_and_last_error_and_a_delayed_one_counts_down(
        server: Server, open_page: Any) -> None:  # noqa: F811
    page = open_page(server.url)
    wait_live(page)
    with httpx.Client(base_url=server.url) as client:
        flaky = client.post("/api/jobs", json={"kind": "flaky", "params": {"succeed_on": 3, "hold_s": 1}}).json()
        later = client.post("/api/jobs", json={"kind": "greet", "delay_s": 600, "timeout_s": 90}).json()
    attempt = card(page, flaky["id"]).locator(".job-attempt")
    attempt.get_by_text("Attempt 2 of 3").wait_for()
    assert attempt.inner_text() == ("Attempt 2 of 3 · the last one failed: "
                                    "ConnectionError: attempt 1 could not reach the service")
    page.locator(f'#jobs [data-job-id="{flaky["id"]}"][data-state="succeeded"]').wait_for(timeout=15_000)
    assert "Attempt 3 of 3" in card(page, flaky["id"]).locator(".job-attempt").inner_text()
    waiting = card(page, later["id"])
    assert waiting.get_attribute("data-state") == "queued"
    assert waiting.locator(".job-elapsed").inner_text().startswith("Starts in 9 min")
    assert waiting.locator(".job-limit").inner_text() == "Time limit 1 min 30 s"
    with httpx.Client(base_url=server.url) as client:
        client.post(f"/api/jobs/{later['id']}/cancel")


def test_a_batch_with_some_failed_items_says_so_in_the_warning_colour(server: Server, open_page: Any) -> None:  # noqa: F811
    page = open_page(server.url)
    wait_live(page)
    with httpx.Client(base_url=server.url) as client:
        partial = client.post("/api/jobs", json={"kind": "batch", "params": {"failed": 2, "of": 40}}).json()
        clean = client.post("/api/jobs", json={"kind": "batch", "params": {"failed": 0, "of": 40}}).json()
    colour = "(element) => getComputedStyle(element).color"
    done = page.locator(f'#jobs [data-job-id="{partial["id"]}"][data-state="succeeded"]')
    done.wait_for()
    assert done.locator(".job-state").inner_text() == "Succeeded, 2 of 40 failed"
    clean_card = page.locator(f'#jobs [data-job-id="{clean["id"]}"][data-state="succeeded"]')
    clean_card.wait_for()
    assert clean_card.locator(".job-state").inner_text() == "Succeeded"
    assert done.locator(".job-state").evaluate(colour) != clean_card.locator(".job-state").evaluate(colour)
    assert done.get_attribute("data-outcome") == "partial"


def test_the_dashboard_lists_the_schedules_with_their_next_run(server_factory, open_page: Any) -> None:  # noqa: F811
    server = server_factory({"CLEANUP_CRON": "0 3 * * *"})
    page = open_page(server.url)
    wait_live(page)
    schedules = page.locator("#schedules")
    schedules.get_by_text("cleanup").wait_for()
    assert schedules.locator("code").inner_text() == "0 3 * * *"
    assert schedules.locator(".schedule-next").inner_text().startswith("next run in ")
