"""The dashboard reopened after a restart shows the jobs from before (issue #12), in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import start_job, wait_for_state
from tests.restarts import STOPS, DataFolder, finish, job_after_restart
from tests.test_page_dashboard import card


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[DataFolder]:
    folder = DataFolder(tmp_path, {"JOBS_CONCURRENCY": "1"})
    yield folder
    folder.close()


def test_the_dashboard_reopened_after_a_kill_shows_every_job_from_before_in_its_state(
        folder: DataFolder, open_page: Any) -> None:  # noqa: F811
    server = folder.start()
    client = server.client()
    jobs = [finish(client, "sleep", seconds=0, steps=1), finish(client, "fail")]
    jobs += [start_job(client, "sleep", seconds=60, steps=60) for _ in range(2)]  # one runs, one waits
    wait_for_state(client, jobs[2]["id"], {"running"})
    page = open_page(server.url)
    wait_live(page)
    for job in jobs:
        card(page, job["id"]).wait_for()
    STOPS["SIGKILL"](server)

    again = folder.start()
    client = again.client()
    job_after_restart(client, jobs[3]["id"])
    wait_for_state(client, jobs[3]["id"], {"running"})  # then nothing changes for a minute
    states = {job["id"]: job_after_restart(client, job["id"])["state"] for job in jobs}
    page = open_page(again.url)
    wait_live(page)
    for job_id, state in states.items():
        card(page, job_id, state).wait_for()
