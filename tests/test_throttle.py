"""Progress coalesced at the source, and the cheap wake-up streams wait on (issue #6)."""

import gevent
import pytest

from progress.throttle import ProgressThrottle
from progress.wakeup import Wakeup
from tests.conftest import start_job


def test_first_report_is_published_at_once_and_a_burst_folds_into_one_at_the_interval_end():
    published = []
    throttle = ProgressThrottle(lambda: published.append("p"), interval=0.05)
    throttle.report()
    assert published == ["p"]
    for _ in range(10):
        throttle.report()
    assert published == ["p"]
    gevent.sleep(0.2)
    assert published == ["p", "p"]


def test_flush_publishes_a_folded_report_at_once_and_nothing_when_none_is_folded():
    published = []
    throttle = ProgressThrottle(lambda: published.append("p"), interval=60)
    throttle.flush()
    assert published == []
    throttle.report()
    throttle.report()
    throttle.flush()
    assert published == ["p", "p"]
    gevent.sleep(0.01)
    assert published == ["p", "p"]


def test_the_last_progress_of_a_fast_job_comes_right_before_its_terminal_state(client, open_stream):
    reader = open_stream("/api/events")  # open before the job exists, so every event is seen
    reader.wait_for(lambda events: events and events[0].event == "snapshot")
    job = start_job(client, "sleep", seconds=0.05, steps=50)

    def of_job(events):
        return [e for e in events[1:] if e.json()["id"] == job["id"]]

    reader.wait_for(lambda events: any(e.json()["state"] == "succeeded" for e in of_job(events)))
    mine = of_job(reader.events)
    assert [e.json()["state"] for e in mine if e.event == "state"] == ["queued", "running", "succeeded"]
    assert mine[-2].event == "progress" and mine[-2].json()["progress"]["done"] == 50


@pytest.mark.parametrize("set_first", [True, False])
def test_a_wakeup_wakes_its_waiter_when_set(set_first):
    wakeup = Wakeup()
    if set_first:
        wakeup.set()
    else:
        gevent.spawn_later(0.01, wakeup.set)
    assert wakeup.wait(timeout=10) is True


def test_a_wakeup_nobody_sets_times_out_false():
    assert Wakeup().wait(timeout=0.01) is False
