"""The dashboard in Chromium through deploy/nginx.conf: TLS, HTTP/2, eight tabs at once (issue 16).

Over HTTP/1.1 a browser opens at most six connections to a site, so a seventh tab's stream
would wait; over HTTP/2 every tab's stream shares one connection.
"""

from __future__ import annotations

from typing import Any

from tests.browser import PageProblems, browser, wait_live  # noqa: F401  (fixtures)
from tests.nginx_fixtures import authority, nginx_factory  # noqa: F401  (fixtures)
from tests.test_deploy_nginx import wait_for_streams
from tests.test_page_dashboard import submit_form

TABS = 8


def test_eight_dashboards_through_nginx_are_live_at_once_and_each_shows_a_job_end(
        browser: Any, server_factory, nginx_factory) -> None:  # noqa: F811
    server = server_factory()
    nginx = nginx_factory(server)
    context = browser.new_context(ignore_https_errors=True)  # the test CA is not in Chromium's store
    context.set_default_timeout(20_000)
    problems = PageProblems()
    try:
        tabs = []
        for _ in range(TABS):
            tab = context.new_page()
            problems.watch(tab)
            tab.goto(nginx.url)
            wait_live(tab)
            tabs.append(tab)
        protocols = {tab.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol") for tab in tabs}
        assert protocols == {"h2"}
        wait_for_streams(server, TABS)

        tabs[0].locator('details[data-kind="sleep"]').wait_for()
        answer = submit_form(tabs[0], "sleep", {"seconds": "1", "steps": "10"})
        assert answer.status == 202  # a POST from the page passes nginx's Host and the same-origin check
        for tab in tabs:
            tab.locator(f'#jobs [data-job-id="{answer.json()["id"]}"][data-state="succeeded"]').wait_for()

        tabs.pop().close()  # one tab closes; its stream ends, the other tabs' stay
        wait_for_streams(server, TABS - 1)
    finally:
        context.close()
    assert not problems.errors, problems.errors
