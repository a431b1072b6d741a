"""How the pages use their streams, in headless Chromium against real gunicorn servers (issue 4):
one stream for any number of jobs, recovery after a cut, and the job page closing its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.browser import CuttableProxy, browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import Server, start_job, wait_for_state

DEADLINE_S = 30.0


def event_stream_requests(page: Any) -> list[Any]:
    """Every EventSource request the page makes from now on."""
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request) if request.resource_type == "eventsource" else None)
    return requests


def open_streams(client: httpx.Client) -> int:
    return client.get("/healthz").json()["streams"]


def cards(page: Any) -> list[tuple[str, str]]:
    found = page.eval_on_selector_all("#jobs [data-job-id]", "els => els.map(el => [el.dataset.jobId, el.dataset.state])")
    return [tuple(pair) for pair in found]


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"not within {DEADLINE_S} s: {what}"
        time.sleep(0.1)


@pytest.fixture
def fresh_server(server_factory: Callable[..., Server]) -> Server:
    """Its own server, so the stream count on /healthz is only this test's page."""
    return server_factory({"JOBS_CONCURRENCY": "10"})


@pytest.fixture
def proxy(fresh_server: Server) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(int(fresh_server.url.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


def test_twenty_jobs_at_once_share_exactly_one_event_stream(fresh_server: Server, open_page: Any) -> None:  # noqa: F811
    client = fresh_server.client()
    page = open_page("about:blank")
    requests = event_stream_requests(page)
    page.goto(fresh_server.url)
    wait_live(page)

    jobs = [start_job(client, "sleep", seconds=1, steps=10)["id"] for _ in range(20)]
    page.locator('#jobs [data-state="running"]').first.wait_for()
    assert open_streams(client) == 1

    for job_id in jobs:
        page.locator(f'[data-job-id="{job_id}"][data-state="succeeded"]').wait_for()
    assert sorted(job_id for job_id, _ in cards(page)) == sorted(jobs)
    assert open_streams(client) == 1
    assert [request.url for request in requests] == [f"{fresh_server.url}/api/events"]


def test_cut_stream_recovers_with_state_caught_up_and_nothing_doubled(
        fresh_server: Server, proxy: CuttableProxy, open_page: Any) -> None:  # noqa: F811
    client = fresh_server.client()
    page = open_page("about:blank")
    requests = event_stream_requests(page)
    page.goto(proxy.url)
    wait_live(page)
    before = start_job(client, "sleep", seconds=3, steps=30)["id"]
    page.wait_for_function(
        "id => Number(document.querySelector(`[data-job-id='${id}'] [role=progressbar]`)"
        "?.getAttribute('aria-valuenow')) > 0", arg=before)

    proxy.cut()
    page.locator('#connection:is([data-connection="reconnecting"], [data-connection="offline"])').wait_for()
    during = start_job(client, "sleep", seconds=0.2, steps=2)["id"]
    still_running = start_job(client, "sleep", seconds=60, steps=60)["id"]
    cancelled = start_job(client, "sleep", seconds=60, steps=60)["id"]
    client.post(f"/api/jobs/{cancelled}/cancel")
    wait_for_state(client, before, {"succeeded"})
    wait_for_state(client, during, {"succeeded"})
    wait_for_state(client, still_running, {"running"})

    proxy.restore()
    wait_live(page)
    expected = {before: "succeeded", during: "succeeded", still_running: "running", cancelled: "cancelled"}
    for job_id, state in expected.items():
        page.locator(f'[data-job-id="{job_id}"][data-state="{state}"]').wait_for()
    assert sorted(cards(page)) == sorted(expected.items())
    assert page.locator(f'[data-job-id="{before}"] [role="progressbar"]').get_attribute("aria-valuenow") == "100"
    resumed = requests[-1]
    assert resumed.all_headers().get("last-event-id") or "lastEventId=" in resumed.url, resumed.url
    client.post(f"/api/jobs/{still_running}/cancel")  # the server then stops at once


def test_job_page_closes_its_stream_once_the_job_ends(server: Server, client: httpx.Client, open_page: Any) -> None:  # noqa: F811
    job_id = start_job(client, "sleep", seconds=1, steps=10)["id"]
    page = open_page("about:blank")
    requests = event_stream_requests(page)
    page.goto(f"{server.url}/jobs/{job_id}")

    page.locator(f'[data-job-id="{job_id}"][data-state="succeeded"]').wait_for()
    page.locator('#connection[data-connection="closed"]').wait_for()
    page.wait_for_timeout(2000)  # four retry intervals of the test server: a reconnect would show
    assert [request.url for request in requests] == [f"{server.url}/api/jobs/{job_id}/events"]
    assert page.get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
    assert page.locator("#announcer").text_content() == "The sleep job succeeded."


def test_job_page_of_a_finished_job_shows_it_without_reconnecting(
        server: Server, client: httpx.Client, open_page: Any) -> None:  # noqa: F811
    job_id = start_job(client, "fail")["id"]
    wait_for_state(client, job_id, {"failed"})
    page = open_page("about:blank")
    requests = event_stream_requests(page)
    page.goto(f"{server.url}/jobs/{job_id}")

    page.locator(f'[data-job-id="{job_id}"][data-state="failed"]').wait_for()
    page.locator('#connection[data-connection="closed"]').wait_for()
    assert page.locator(".job-error").is_visible()
    assert page.locator('[data-action="cancel"]').count() == 0
    assert len(requests) == 1


def test_finished_jobs_past_fifty_fold_behind_a_button(fresh_server: Server, open_page: Any) -> None:  # noqa: F811
    client = fresh_server.client()
    page = open_page(fresh_server.url)
    wait_live(page)
    jobs = [start_job(client, "sleep", seconds=0, steps=1)["id"] for _ in range(120)]
    wait_for_state(client, jobs[-1], {"succeeded"})

    more = page.locator("#jobs-more")
    more.filter(has_text="Show 50 more of 70 older finished jobs").wait_for()
    assert page.locator("#jobs [data-job-id]").count() == 50
    more.click()
    more.filter(has_text="Show 20 more of 20 older finished jobs").wait_for()
    more.click()
    more.wait_for(state="hidden")
    assert sorted(job_id for job_id, _ in cards(page)) == sorted(jobs)
    assert page.locator("#jobs-summary").text_content() == "120 finished"


@pytest.fixture
def secured_proxy(server_factory: Callable[..., Server], tmp_path: Any) -> Iterator[tuple[CuttableProxy, str]]:
    """A server with API tokens behind a cuttable proxy, and a token to sign in with."""
    token = "alice-" + "x" * 30
    tokens = tmp_path / "tokens"
    tokens.write_text(f"alice {token}\n")
    proxy = CuttableProxy(int(server_factory({"API_TOKENS_FILE": str(tokens)}).url.rsplit(":", 1)[1]))
    yield proxy, token
    proxy.close()


def test_a_stream_refused_after_the_session_ended_sends_the_page_to_sign_in(
        secured_proxy: tuple[CuttableProxy, str], open_page: Any) -> None:  # noqa: F811
    proxy, token = secured_proxy
    page = open_page(f"{proxy.url}/signin")
    page.fill('input[name="token"]', token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{proxy.url}/")
    wait_live(page)
    page.context.clear_cookies()  # the session ends (signed out elsewhere, or expired)
    proxy.cut()
    proxy.restore()  # the browser reconnects and gets 401
    page.wait_for_url(f"{proxy.url}/signin", timeout=DEADLINE_S * 1000)
