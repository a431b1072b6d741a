"""`/metrics`: Prometheus text with the live figures an operator needs (issue #6)."""

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from progress.hub import Hub
from tests.test_hub import publish_progress
from tests.conftest import start_job, wait_for_state

FAMILIES = ("progress_streams_open", "progress_events_published", "progress_events_coalesced",
            "progress_streams_coalescing", "progress_queue_depth", "progress_jobs",
            "progress_job_duration_seconds", "progress_event_loop_lag_seconds")


def scrape(client: httpx.Client, query: str = "") -> dict[str, dict[tuple, float]]:
    """Every sample as {name: {sorted labels: value}}."""
    response = client.get(f"/metrics{query}")
    assert response.status_code == 200
    samples: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_metrics_is_prometheus_text_with_every_family(client):
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert set(FAMILIES) <= names


def test_a_finished_job_is_counted_by_state_and_kind_with_its_duration(client):
    before = scrape(client)
    job = start_job(client, "sleep", seconds=0.2, steps=4)
    wait_for_state(client, job["id"], {"succeeded"})
    after = scrape(client)
    key = (("kind", "sleep"), ("state", "succeeded"))
    assert after["progress_jobs"][key] >= before["progress_jobs"][key] + 1
    duration_count = after["progress_job_duration_seconds_count"]
    assert duration_count[key] >= before.get("progress_job_duration_seconds_count", {}).get(key, 0) + 1
    assert after["progress_events_published_total"][()] >= before["progress_events_published_total"][()] + 6


def test_an_open_stream_is_counted(client, open_stream):
    reader = open_stream("/api/events")
    reader.wait_for(lambda events: len(events) >= 1)
    assert scrape(client)["progress_streams_open"][()] >= 1


def test_live_greenlets_are_counted_and_an_open_stream_holds_none(client, open_stream):
    """Detached streams (progress/gunicorn_transport): forty more open streams, not forty more greenlets."""
    before = scrape(client, "?greenlets=1")
    readers = [open_stream("/api/events") for _ in range(40)]
    for reader in readers:
        reader.wait_for(lambda events: len(events) >= 1)
    after = scrape(client, "?greenlets=1")
    assert after["progress_streams_open"][()] >= 40  # a stream an earlier test left may end meanwhile
    assert after["progress_greenlets"][()] < before["progress_greenlets"][()] + 20
    assert "progress_greenlets" not in scrape(client)  # a routine scrape never walks the heap


def test_the_loop_monitor_records_lag_once_scraped(client):
    scrape(client)  # the first scrape starts the monitor
    deadline = time.monotonic() + 10
    while scrape(client)["progress_event_loop_lag_seconds_count"][()] < 3:
        assert time.monotonic() < deadline, "the loop monitor recorded nothing within 10 s"
        time.sleep(0.1)


@pytest.mark.parametrize("close_first", [False, True])
def test_coalesced_progress_is_counted_for_open_and_closed_subscriptions(close_first):
    hub = Hub()
    slow, prompt = hub.subscribe(), hub.subscribe()
    for done in range(3):
        publish_progress(hub, "job-1", done)
        prompt.next_block(timeout=0)
    if close_first:
        slow.close()
    assert hub.coalescing() == (2, 0 if close_first else 1)
