"""The hub's fan-out: coalescing mailboxes, bounded memory, endings (issue #3). Ids and
resume history belong to the stores (tests/test_stores.py)."""

import itertools

import gevent

from progress.access import Owner
from progress.events import Event
from progress.hub import Hub
from progress.sse import encode_event

_ids = itertools.count(1)


def _relay(hub: Hub, event_type: str, job_id: str, data: str, terminal: bool = False) -> Event:
    """What a store does after a commit: an event with the next id, handed to the hub."""
    event_id = next(_ids)
    event = Event(event_id, event_type, job_id, encode_event(event_type, event_id, data), terminal, "anonymous")
    hub.relay(event)
    return event


def publish_state(hub: Hub, job_id: str, state: str, terminal: bool = False) -> Event:
    return _relay(hub, "state", job_id, f'{{"id":"{job_id}","state":"{state}"}}', terminal)


def publish_progress(hub: Hub, job_id: str, done: int) -> Event:
    return _relay(hub, "progress", job_id, f'{{"id":"{job_id}","done":{done}}}')


def test_an_event_is_encoded_once_and_shared_by_every_subscriber():
    hub = Hub()
    first, second = hub.subscribe(), hub.subscribe()
    event = publish_state(hub, "a", "queued")
    assert event.frame == encode_event("state", event.id, '{"id":"a","state":"queued"}')
    assert first.next_block(0) == second.next_block(0) == event.frame
    assert first._pending == {}


def test_pending_progress_of_a_job_is_replaced_by_its_newest_and_state_is_kept():
    hub = Hub()
    sub = hub.subscribe()
    queued = publish_state(hub, "a", "queued")
    publish_progress(hub, "a", 1)
    other = publish_progress(hub, "b", 1)
    newest = publish_progress(hub, "a", 2)
    done = publish_state(hub, "a", "succeeded", terminal=True)
    assert sub.next_block(0) == queued.frame + other.frame + newest.frame + done.frame  # id order
    assert sub.coalesced == 1


def test_a_job_subscription_sees_only_its_job_and_finishes_after_the_terminal_event():
    hub = Hub()
    sub = hub.subscribe("a")
    publish_state(hub, "b", "queued")
    end = publish_state(hub, "a", "succeeded", terminal=True)
    assert sub.next_block(0) == end.frame
    assert sub.finished


def test_a_reader_that_never_reads_has_a_bounded_mailbox_and_is_cut_off():
    hub = Hub(mailbox_limit=10)
    frozen, live = hub.subscribe(), hub.subscribe()
    for n in range(1000):
        publish_progress(hub, f"job{n}", 1)
        live.next_block(0)
    assert len(frozen._pending) == 0 and frozen.closed  # cut off past its limit; it resumes
    assert frozen.next_block(0) is None and frozen.finished
    frozen.close()
    assert hub.subscriber_count == 1


def test_a_waiting_reader_wakes_when_an_event_arrives_and_times_out_otherwise():
    hub = Hub()
    sub = hub.subscribe()
    assert sub.next_block(0.01) is None
    gevent.spawn_later(0.01, publish_state, hub, "a", "queued")
    assert b"queued" in sub.next_block(5)


def test_close_unsubscribes_and_releases_the_mailbox():
    hub = Hub()
    subs = [hub.subscribe(), hub.subscribe("a")]
    assert hub.subscriber_count == 2
    for sub in subs:
        sub.close()
    assert hub.subscriber_count == 0
    publish_state(hub, "a", "queued")  # nobody left to deliver to
    assert hub._by_job == {}


def test_closing_the_hub_ends_every_subscription_after_a_farewell():
    hub = Hub()
    sub = hub.subscribe()
    pending = publish_state(hub, "a", "interrupted", terminal=True)
    hub.close(b": bye\n\n")
    assert sub.next_block(5) == pending.frame + b": bye\n\n"
    assert sub.finished
    late = hub.subscribe()
    assert late.next_block(5) is None and late.finished


def test_the_streams_of_revoked_viewers_end_and_everyone_elses_go_on():
    """A token taken out of API_TOKENS_FILE ends its owner's open streams (issue 14 part 6)."""
    hub = Hub()
    bobs = [hub.subscribe(viewer=Owner("bob")), hub.subscribe("a", viewer=Owner("bob"))]
    alices = hub.subscribe(viewer=Owner("alice"))
    hub.end_streams_of({"bob", "carol"})
    assert all(sub.closed for sub in bobs) and not alices.closed
    assert [sub.next_block(0) for sub in bobs] == [None, None] and all(sub.finished for sub in bobs)
    event = Event(next(_ids), "state", "a", b"event: state\n\n", False, "alice")
    hub.relay(event)
    assert alices.next_block(0) == event.frame and not alices.closed
