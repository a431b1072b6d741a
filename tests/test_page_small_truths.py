"""What a first-time user reads on the dashboard is true and plain (issue #16 part 7): length
hints in proper English, a readable Tab, counts with separators, bytes in kB and MB, and
the forms of a restarted server's new kinds without a reload. Headless Chromium, real gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import Server, free_port, start_job, wait_for_state
from tests.restarts import DataFolder
from tests.test_page_dashboard import card

CSV_BYTES = b"city\tpeople\n" + b"Lisbon\t545923\n" * 88_000
"""A tab-separated file of 1,232,012 bytes: its progress reads 1.2 MB, never 1232012."""


def hints(page: Any, kind: str) -> dict[str, str]:
    return dict(page.eval_on_selector_all(
        f'form[data-kind="{kind}"] .field',
        "fields => fields.map((f) => [f.querySelector('[name]').name, f.querySelector('.field-hint').textContent])"))


@pytest.fixture
def counting_jobs(client: httpx.Client) -> Iterator[dict[str, str]]:
    """Two jobs that hold their progress: 12,345 of 100,000, and 1,234,567 of an unknown total."""
    ids = {"known": start_job(client, "report_and_wait", done=12345, total=100000)["id"],
           "unknown": start_job(client, "report_and_wait", done=1234567, total=None)["id"]}
    for job_id in ids.values():
        wait_for_state(client, job_id, {"running"})
    yield ids
    for job_id in ids.values():
        client.post(f"/api/jobs/{job_id}/cancel")


def test_hints_menus_and_counts_read_as_a_person_writes_them(
        server: Server, open_page: Any, counting_jobs: dict[str, str]) -> None:  # noqa: F811
    page = open_page(server.url)
    wait_live(page)
    page.locator('details[data-kind="wording"]').wait_for()
    page.evaluate("document.querySelectorAll('details.kind').forEach((box) => { box.open = true; })")

    assert hints(page, "wording") == {"label": "at least 1 character · default “x”",
                                      "code": "exactly 3 characters · default “abc”"}
    assert hints(page, "greet")["user"] == "1 to 100 characters · default “Guest”"
    assert "up to 20,000 characters" in hints(page, "email")["body"]
    assert hints(page, "report")["rows"].endswith(" · 1,000 to 5,000,000 · default 100,000")

    known = card(page, counting_jobs["known"]).locator(".job-percent")
    assert known.text_content() == "12.3% · 12,345 of 100,000"
    unknown = card(page, counting_jobs["unknown"])
    assert unknown.locator(".job-percent").text_content() == "1,234,567 done"
    assert unknown.get_by_role("progressbar").get_attribute("aria-valuetext") == "1,234,567 done"

    form = page.locator('form[data-kind="csv_summary"]')
    delimiter = form.locator('select[name="delimiter"]')
    assert delimiter.locator("option").all_text_contents() == [",", ";", "Tab", "|"]
    delimiter.select_option(label="Tab")
    form.locator('input[name="upload"]').set_input_files(
        {"name": "cities.tsv", "mimeType": "text/csv", "buffer": CSV_BYTES})
    with page.expect_request("**/api/jobs") as submitted:
        form.get_by_role("button", name="Start").click()
    assert submitted.value.post_data_json["params"]["delimiter"] == "\t"  # the value, not its label

    job_id = submitted.value.response().json()["id"]
    done = card(page, job_id, "succeeded")
    done.wait_for()
    assert done.locator(".job-percent").text_content() == "100.0% · 1.2 MB of 1.2 MB"
    assert done.locator(".job-message").text_content() == "88,000 rows read"  # the file was read with Tab


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[DataFolder]:
    """A deployment on a fixed address, so the open page reconnects to whichever server runs there."""
    folder = DataFolder(tmp_path, {"BIND": f"127.0.0.1:{free_port()}", "JOB_KINDS_MODULES": ""})
    yield folder
    folder.close()


def test_after_a_restart_with_a_new_kind_its_form_appears_and_typed_values_stay(
        folder: DataFolder, open_page: Any) -> None:  # noqa: F811
    before = folder.start()
    page = open_page(before.url)
    wait_live(page)
    seconds = page.locator('form[data-kind="sleep"] [name="seconds"]')
    seconds.fill("42")
    assert page.locator('details[data-kind="wording"]').count() == 0

    before.stop()
    folder.env["JOB_KINDS_MODULES"] = "tests.kinds_for_tests"
    folder.start()

    page.locator('details[data-kind="wording"]').wait_for()  # no reload: read again on reconnecting
    wait_live(page)
    assert seconds.input_value() == "42"  # the unchanged form was left alone, open, with what was typed
    assert page.locator('details[data-kind="sleep"]').count() == 1
