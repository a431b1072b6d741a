"""The pages audited with axe-core (WCAG 2.1 A/AA and best practices), and the keyboard's Cancel
path, in headless Chromium against the shared gunicorn (issue #16 part 8)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.axe import assert_accessible
from tests.browser import DESKTOP, PHONE, browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import Server, start_job, wait_for_state
from tests.restarts import finish
from tests.test_page_dashboard import card, submit_form

LONG_ERROR = ("could not write /var/lib/flask-progress/results/quarterly-sales-by-region-and-product-"
              "2026-12-31T23:59:59Z-final-final-v2.csv.partial")
"""An error line with a long word in it: unwrapped, 673 px of text that pushed a phone's cards sideways."""


@pytest.fixture(scope="module")
def jobs(server: Server) -> Iterator[dict[str, dict]]:
    """A job in each look a card has: running (Cancel), succeeded (Download result), failed (its error)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        shown = {
            "succeeded": finish(client, "sleep", seconds=0, steps=1),
            "failed": finish(client, "fail", message=LONG_ERROR),
            "running": start_job(client, "report_and_wait", done=1, total=4),
        }
        wait_for_state(client, shown["running"]["id"], {"running"})
        yield shown
        client.post(f"/api/jobs/{shown['running']['id']}/cancel")


def dashboard(server: Server, open_page: Any, jobs: dict[str, dict], **options: Any) -> Any:  # noqa: F811
    """The dashboard with every kind's form open and the cards of `jobs` drawn."""
    page = open_page(server.url, bypass_csp=True, **options)
    wait_live(page)
    page.locator("details.kind").first.wait_for()
    page.evaluate("document.querySelectorAll('details.kind').forEach((box) => { box.open = true; })")
    for state, job in jobs.items():
        card(page, job["id"], state).wait_for()
    return page


@pytest.mark.parametrize(("color_scheme", "viewport"), [("light", DESKTOP), ("dark", DESKTOP), ("dark", PHONE)],
                         ids=["light", "dark", "dark-phone"])
def test_the_dashboard_passes_axe_before_and_with_a_form_error_shown(
        server: Server, open_page: Any, jobs: dict[str, dict], color_scheme: str, viewport: dict) -> None:  # noqa: F811
    page = dashboard(server, open_page, jobs, color_scheme=color_scheme, viewport=viewport)
    assert_accessible(page)

    assert submit_form(page, "sleep", {"seconds": "5000"}).status == 400
    field = page.locator('form[data-kind="sleep"] [name="seconds"]')
    page.get_by_text("params.seconds must be at most 3600.").wait_for()
    assert field.get_attribute("aria-invalid") == "true"  # announced as invalid; an empty value is not
    assert_accessible(page)


def test_at_phone_width_a_long_error_wraps_and_params_get_a_line_of_their_own(
        server: Server, open_page: Any, jobs: dict[str, dict]) -> None:  # noqa: F811
    page = dashboard(server, open_page, jobs, viewport=PHONE)
    failed = card(page, jobs["failed"]["id"])
    failed.scroll_into_view_if_needed()  # cards off screen are not laid out (content-visibility)
    page.wait_for_function("([id, error]) => document.querySelector(`[data-job-id='${id}'] .job-error`).innerText "
                           "=== error", arg=[jobs["failed"]["id"], f"RuntimeError: {LONG_ERROR}"])  # all of it, wrapped
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert failed.evaluate("card => card.scrollWidth <= card.clientWidth"), "the card scrolls sideways"
    head, params = (failed.locator(selector).bounding_box() for selector in (".job-head", ".job-params"))
    assert params["width"] == pytest.approx(head["width"], abs=1)  # was squeezed to about 7 characters


@pytest.mark.parametrize("path", ["/jobs/{running}", "/no/such/page"])
def test_the_job_page_and_the_404_page_pass_axe(
        server: Server, open_page: Any, jobs: dict[str, dict], path: str) -> None:  # noqa: F811
    page = open_page(server.url + path.format(running=jobs["running"]["id"]), bypass_csp=True, color_scheme="dark")
    if path.startswith("/jobs/"):
        card(page, jobs["running"]["id"], "running").locator('[data-action="cancel"]').wait_for()
    assert_accessible(page)


def test_cancel_pressed_with_enter_keeps_the_keyboard_on_the_card(
        server: Server, open_page: Any, client: httpx.Client) -> None:  # noqa: F811
    job_id = start_job(client, "report_and_wait", done=1, total=4)["id"]
    page = open_page(server.url)
    wait_live(page)
    cancel = card(page, job_id, "running").locator('[data-action="cancel"]')
    focused_card = "document.activeElement.closest('[data-job-id]')?.dataset.jobId ?? document.activeElement.tagName"

    cancel.focus()
    page.keyboard.press("Enter")
    assert page.evaluate(focused_card) == job_id  # while the cancel is on its way

    card(page, job_id, "cancelled").wait_for()
    assert page.evaluate(focused_card) == job_id  # the button is gone; its card's link holds the focus
    assert page.evaluate("document.activeElement.className") == "job-kind"
    page.keyboard.press("Tab")  # and the keyboard goes on from there, not from the top of the page
    assert page.evaluate("document.activeElement.closest('#jobs') !== null")
