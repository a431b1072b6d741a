"""A file picked on the dashboard is uploaded with live progress, then its job starts (issue 5, item 3).

Headless Chromium against real gunicorn. The browser's upload is throttled through the
DevTools protocol so a few megabytes take a few seconds even on loopback: the progress
element then moves through values below its end, and an upload can be cancelled midway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.browser import browser, open_page, wait_live  # noqa: F401  (fixtures)
from tests.conftest import Server
from tests.test_page_dashboard import card

ROWS = 120_000
UPLOAD_BYTES_PER_S = 1024 * 1024
"""Throttled upload rate: a few MiB take a few seconds, far below any timeout."""

RECORD_UPLOAD = """form => {
  window.uploadValues = [];
  const bar = form.querySelector("progress");
  new MutationObserver(() => window.uploadValues.push(Number(bar.value)))
    .observe(bar, {attributeFilter: ["value"]});
}"""
"""Every value the form's upload `<progress>` takes."""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few MiB of valid CSV with a known row count."""
    path = tmp_path_factory.mktemp("csv") / "sales.csv"
    with open(path, "w", encoding="utf-8") as file:
        file.write("id,region,amount\n")
        file.writelines(f"{row},region-{row % 7},{row * 0.25}\n" for row in range(ROWS))
    return path


def upload_form(page: Any) -> Any:
    wait_live(page)
    box = page.locator('details[data-kind="csv_summary"]')
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    return box.locator("form")


def throttle_uploads(page: Any, bytes_per_s: int) -> None:
    session = page.context.new_cdp_session(page)
    session.send("Network.enable")
    session.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_s})


def job_posts(page: Any) -> list[str]:
    """Every `POST /api/jobs` the page sends from now on."""
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url)
            if request.method == "POST" and request.url.endswith("/api/jobs") else None)
    return posts


def test_the_upload_param_is_marked_for_the_page_and_still_validated_by_its_pattern(client: Any) -> None:
    kinds = {kind["name"]: kind for kind in client.get("/api/kinds").json()["kinds"]}
    schema = kinds["csv_summary"]["params"]
    Draft202012Validator.check_schema(schema)
    upload = schema["properties"]["upload"]
    assert (upload["type"], upload["format"], upload["contentMediaType"]) == ("string", "upload", "text/csv")
    assert "upload" in schema["required"]

    response = client.post("/api/jobs", json={"kind": "csv_summary", "params": {"upload": "../../etc/passwd"}})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_params"
    assert response.json()["error"]["message"].startswith("params.upload")


def test_a_picked_csv_uploads_with_progress_then_its_summary_job_succeeds(
        server: Server, open_page: Any, big_csv: Path) -> None:  # noqa: F811
    page = open_page(server.url)
    form = upload_form(page)
    picker = form.locator('input[type="file"][name="upload"]')
    assert picker.get_attribute("accept") == "text/csv"
    assert form.get_by_label("CSV file").count() == 1
    form.evaluate(RECORD_UPLOAD)
    throttle_uploads(page, UPLOAD_BYTES_PER_S)

    picker.set_input_files(big_csv)
    with page.expect_response("**/api/uploads", timeout=60_000) as uploaded, \
            page.expect_response("**/api/jobs", timeout=60_000) as started:
        form.get_by_role("button", name="Start").click()
        bar = form.get_by_role("progressbar", name="Upload of sales.csv")
        bar.wait_for()
        assert form.get_by_role("button", name="Cancel upload").is_visible()
    assert uploaded.value.status == 201
    assert uploaded.value.request.headers["content-type"] == "text/csv"
    job = started.value.json()  # (the upload's own answer is gone from DevTools' cache: the body was large)

    assert bar.evaluate("bar => [bar.value, bar.max]") == [1, 1]
    assert form.locator(".upload-percent").text_content() == "100%"
    assert form.locator(".upload-percent").get_attribute("aria-live") == "polite"
    seen = page.evaluate("window.uploadValues")
    assert seen == sorted(seen) and seen[-1] == 1
    assert any(0 < value < 1 for value in seen), seen
    assert form.get_by_role("button", name="Cancel upload").is_hidden()

    card(page, job["id"], "succeeded").wait_for(timeout=60_000)
    assert card(page, job["id"]).get_by_role("progressbar").get_attribute("aria-valuenow") == "100"
    result = server.client().get(f"/api/jobs/{job['id']}/result").json()
    assert result["rows"] == ROWS


def test_cancelling_an_upload_aborts_it_and_starts_no_job(
        server: Server, open_page: Any, big_csv: Path) -> None:  # noqa: F811
    page = open_page(server.url)
    form = upload_form(page)
    posts = job_posts(page)
    throttle_uploads(page, UPLOAD_BYTES_PER_S // 8)
    form.locator('input[type="file"]').set_input_files(big_csv)
    form.get_by_role("button", name="Start").click()
    form.locator("progress").wait_for()
    page.wait_for_function("form => form.querySelector('progress').value > 0", arg=form.element_handle())

    with page.expect_event("requestfailed") as failed:
        form.get_by_role("button", name="Cancel upload").click()
    assert failed.value.url.endswith("/api/uploads")
    form.get_by_text("Upload cancelled; no job was started.").wait_for()
    assert form.locator(".upload").is_hidden()
    assert form.get_by_role("button", name="Start").is_enabled()
    assert posts == []


def test_start_without_a_file_asks_for_one_at_the_field(server: Server, open_page: Any) -> None:  # noqa: F811
    page = open_page(server.url)
    form = upload_form(page)
    posts = job_posts(page)
    form.get_by_role("button", name="Start").click()
    picker = form.locator('input[type="file"]')
    form.locator(".field-error", has_text="Choose a file for upload.").wait_for()
    assert picker.get_attribute("aria-invalid") is not None
    assert page.evaluate("document.activeElement.type") == "file"
    assert posts == []


def test_a_file_over_the_size_limit_shows_the_413_message_at_the_field_and_starts_no_job(
        server_factory: Any, open_page: Any, tmp_path: Path) -> None:  # noqa: F811
    limited = server_factory({"UPLOAD_MAX_BYTES": "65536", "KINDS_DATA_DIR": str(tmp_path / "data")})
    too_big = tmp_path / "too-big.csv"
    too_big.write_text("n\n" + "1\n" * 100_000)
    page = open_page(limited.url)
    form = upload_form(page)
    posts = job_posts(page)

    form.locator('input[type="file"]').set_input_files(too_big)
    with page.expect_response("**/api/uploads") as answer:
        form.get_by_role("button", name="Start").click()
    assert answer.value.status == 413
    error = form.locator(".field-error", has_text="larger than the limit of 65536 bytes")
    error.wait_for()
    picker = form.locator('input[type="file"]')
    assert picker.get_attribute("aria-invalid") is not None
    assert error.get_attribute("id") in picker.get_attribute("aria-describedby").split()
    assert form.locator(".upload").is_hidden()
    assert posts == []
    assert limited.client().get("/api/jobs").json()["jobs"] == []
    uploads = tmp_path / "data" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []
