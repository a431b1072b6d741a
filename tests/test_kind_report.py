"""The `report` kind on a real server: data set made once, CSV result, prompt server, cancel (issue #5)."""

import csv
import io
import time

import pytest

from tests.conftest import start_job, start_server, wait_for_state

ROWS = 600_000
HEALTH_DEADLINE_S = 5.0
"""Generous: a blocked loop would hold /healthz for the whole report, seconds on this machine."""


@pytest.fixture(scope="module")
def report_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("report"))  # the data set goes in its DATA_DIR
    yield server
    server.stop()


@pytest.fixture
def client(report_server):
    return report_server.client()


def test_a_large_report_makes_its_data_set_while_healthz_keeps_answering(client, open_stream, report_server):
    """Issue 16 part 7: one bar over the rows, its total `rows` from queued to the end."""
    job = start_job(client, "report", rows=ROWS, by="region")
    assert job["progress"]["total"] == ROWS
    stream = open_stream(f"/api/jobs/{job['id']}/events", on=report_server)
    answered_while_running = 0
    while client.get(f"/api/jobs/{job['id']}").json()["state"] in ("queued", "running"):
        health = client.get("/healthz", timeout=HEALTH_DEADLINE_S)
        assert health.status_code == 200
        if client.get(f"/api/jobs/{job['id']}").json()["state"] == "running":
            answered_while_running += 1
    stream.wait_ended(timeout=60)
    progress = [event.json()["progress"] for event in stream.events]
    assert answered_while_running >= 1
    assert {p["total"] for p in progress} == {ROWS}  # the total never moves, while the data set is made too
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    assert progress[-1]["done"] == ROWS and len({p["done"] for p in progress}) > 5
    assert any(p["message"].startswith("Making and reading sales: ") for p in progress if p["message"])


def test_the_result_is_a_csv_of_totals_and_a_second_report_reuses_the_data_set(client):
    job = wait_for_state(client, start_job(client, "report", rows=ROWS, by="region")["id"],
                         {"succeeded", "failed"}, timeout=60)
    assert job["state"] == "succeeded", job["error"]
    assert job["progress"]["total"] == ROWS
    assert job["progress"]["message"].startswith(f"{ROWS:,} sales in 5 lines, revenue ")
    response = client.get(job["result"]["url"])
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="report-{job["id"]}.csv"'
    lines = list(csv.DictReader(io.StringIO(response.text)))
    assert [line["region"] for line in lines] == ["Central", "East", "North", "South", "West"]
    assert sum(int(line["orders"]) for line in lines) == ROWS
    assert all(float(line["revenue"]) > 0 for line in lines)


@pytest.mark.parametrize("by, lines", [("month", 24), ("product", 12)])
def test_the_report_totals_by_month_or_product(client, by, lines):
    job = wait_for_state(client, start_job(client, "report", rows=2000, by=by)["id"],
                         {"succeeded", "failed"}, timeout=30)
    rows = list(csv.DictReader(io.StringIO(client.get(job["result"]["url"]).text)))
    assert len(rows) == lines
    assert sum(int(row["orders"]) for row in rows) == 2000


def test_a_report_cancelled_while_its_data_set_is_made_stops_and_leaves_no_data_set(client, report_server):
    job = start_job(client, "report", rows=3_000_000)
    deadline = time.monotonic() + 30
    while client.get(f"/api/jobs/{job['id']}").json()["progress"]["done"] == 0:
        assert time.monotonic() < deadline, "the report never reported progress"
        time.sleep(0.05)
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 202
    stopped = wait_for_state(client, job["id"], {"cancelled", "succeeded", "failed"}, timeout=10)
    assert stopped["state"] == "cancelled"
    assert 0 < stopped["progress"]["done"] < stopped["progress"]["total"]
    assert not list((report_server.data_dir / "report").glob("sales-3000000*"))


@pytest.mark.parametrize("params, field", [
    ({"rows": 999}, "params.rows"),
    ({"rows": 6_000_000}, "params.rows"),
    ({"rows": "many"}, "params.rows"),
    ({"by": "city"}, "params.by"),
    ({"colour": "red"}, "params.colour"),
])
def test_bad_report_params_are_refused_naming_the_param(client, params, field):
    response = client.post("/api/jobs", json={"kind": "report", "params": params})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_params"
    assert field in error["message"]

