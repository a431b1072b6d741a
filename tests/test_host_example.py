"""The example host app (examples/host_app/, issue 16 part 3) in headless Chromium on a real
`gunicorn -k gevent` with the take-over: its Flask-Login users see their own jobs through
`<job-progress>` elements and nobody else's, a job started from its page rises to 100 and its
result downloads, its own 404 page stays its own, the page's elements share one stream, and
axe-core finds nothing wrong on a page full of elements, light or dark."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.axe import assert_accessible
from tests.browser import browser, open_page  # noqa: F401  (fixtures)
from tests.conftest import ROOT, Server, start_server
from tests.test_bad_input import UNKNOWN_ID, assert_error
from tests.test_page_streams import event_stream_requests, wait_until

EXAMPLE = ROOT / "examples" / "host_app"
PASSWORDS = {"ann": "ann-demo-password", "bob": "bob-demo-password"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("example"), env={"PYTHONPATH": str(ROOT)},
                          config=EXAMPLE / "gunicorn.conf.py", ready_path="/signin")
    yield server
    server.stop()


def signed_in(host: Server, name: str) -> httpx.Client:
    """A client with the session cookie of the host's own sign-in form."""
    client = host.client()
    assert client.post("/signin", data={"name": name, "password": PASSWORDS[name]}).status_code == 303
    return client


def start_tally(client: httpx.Client, to: int) -> str:
    response = client.post("/progress/api/jobs", json={"kind": "tally", "params": {"to": to}})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def page_of(open_page: Any, client: httpx.Client, path: str, **options: Any) -> tuple[Any, list[Any]]:  # noqa: F811
    """A browser signed in with `client`'s cookie at `path`, and the EventSource requests it makes."""
    page = open_page("about:blank", **options)
    page.context.add_cookies([{"name": name, "value": value, "url": str(client.base_url)}
                              for name, value in client.cookies.items()])
    streams = event_stream_requests(page)
    page.goto(f"{client.base_url}{path}")
    return page, streams


def element(page: Any, job_id: str, state: str | None = None) -> Any:
    locator = page.locator(f'job-progress[job="{job_id}"]' + (f'[data-state="{state}"]' if state else ""))
    locator.wait_for()
    return locator


def test_a_tally_started_from_the_host_page_rises_to_100_and_its_result_downloads(host, open_page):  # noqa: F811
    page = open_page(f"{host.url}/signin")  # the host's Content-Security-Policy enforced: script-src 'self'
    page.get_by_label("Name").fill("ann")
    page.get_by_label("Password").fill(PASSWORDS["ann"])
    page.get_by_role("button", name="Sign in").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Start a tally").click()
    job_id = page.locator("job-progress").first.get_attribute("job")

    tally = element(page, job_id, "succeeded")
    assert tally.get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
    assert tally.locator('[data-action="cancel"]').count() == 0
    result = tally.get_by_role("link", name="Download result")
    assert result.get_attribute("href") == f"/progress/api/jobs/{job_id}/result"
    with page.expect_download() as download:
        result.click()
    assert Path(download.value.path()).read_text() == "1 + ... + 20 = 210\n"


def test_several_elements_share_one_stream_that_closes_once_every_job_has_ended(host, open_page):  # noqa: F811
    ann = signed_in(host, "ann")
    jobs = [start_tally(ann, 10) for _ in range(3)]
    page, streams = page_of(open_page, ann, "/")
    ended: list[str] = []
    for event in ("requestfailed", "requestfinished"):  # /api/events never ends by itself: the page ended it
        page.on(event, lambda request: ended.append(request.url))

    for job_id in jobs:
        element(page, job_id, "succeeded")
    all_jobs = f"{host.url}/progress/api/events"
    assert [request.url for request in streams] == [all_jobs]
    wait_until(lambda: all_jobs in ended, "the page closed its one stream once every job had ended")


def test_another_users_job_shows_as_not_found_with_none_of_its_data_and_the_hosts_404_stays_its_own(
        host, open_page):  # noqa: F811
    ann, bob = signed_in(host, "ann"), signed_in(host, "bob")
    bobs = start_tally(bob, 7)
    page, streams = page_of(open_page, ann, f"/jobs/{bobs}")

    shown = element(page, bobs, "not_found")
    assert "not found" in shown.inner_text().lower()
    assert shown.locator('[role="progressbar"], .job-kind, button, a').count() == 0
    assert "to=7" not in page.content() and "total so far" not in page.content()
    assert [request.url for request in streams] == [f"{host.url}/progress/api/jobs/{bobs}/events"]  # one job: its own

    page.goto(f"{host.url}/")
    assert page.locator("job-progress").count() > 0 and page.locator(f'job-progress[job="{bobs}"]').count() == 0

    answer = page.goto(f"{host.url}/no/such/page")
    assert answer.status == 404 and page.get_by_role("heading", name="Nothing here").is_visible()
    assert_error(ann.get(f"/progress/api/jobs/{UNKNOWN_ID}/nothing", headers={"Accept": "text/html"}), 404, "not_found")


def test_a_page_of_elements_passes_the_audit_light_and_dark_and_cancel_keeps_the_keyboards_focus(
        host, open_page):  # noqa: F811
    ann = signed_in(host, "ann")
    long = start_tally(ann, 1000)
    page, _ = page_of(open_page, ann, "/", bypass_csp=True)  # axe is injected
    element(page, long, "running")
    page.evaluate("""id => {  // one more element, added once the page's stream is open
        const late = document.createElement("job-progress");
        late.setAttribute("job", id);
        document.querySelector("main").append(late);
    }""", UNKNOWN_ID)
    element(page, UNKNOWN_ID, "not_found")

    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    assert_accessible(page)

    cancel = element(page, long).get_by_role("button", name="Cancel")
    cancel.focus()
    page.keyboard.press("Enter")
    element(page, long, "cancelled")
    assert page.evaluate("document.activeElement.closest('job-progress')?.getAttribute('job')") == long
