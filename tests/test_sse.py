"""The SSE encoder, byte for byte, and read back by a real SSE parser (httpx-sse) (issue #3)."""

import httpx
import pytest
from httpx_sse import EventSource

from progress.sse import HEARTBEAT, MAX_EVENT_ID, encode, encode_comment, encode_event, encode_retry, parse_event_id


def decoded(stream: bytes) -> list[tuple[str, str, str]]:
    """(event, data, id) of each event a real SSE client reads from these bytes."""
    response = httpx.Response(200, content=stream, headers={"content-type": "text/event-stream"})
    return [(e.event, e.data, e.id) for e in EventSource(response).iter_sse()]


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"data": "x", "event": "state", "id": 7}, b"event: state\nid: 7\ndata: x\n\n"),
    ({"data": "zero", "id": 0}, b"id: 0\ndata: zero\n\n"),  # id 0 is kept (flask-sse dropped it)
    ({"data": ""}, b"data: \n\n"),
    ({"data": "a\nb\r\nc\rd"}, b"data: a\ndata: b\ndata: c\ndata: d\n\n"),
    ({"data": "h\u00e9llo \u2603"}, "data: h\u00e9llo \u2603\n\n".encode()),
    ({"retry": 2000}, b"retry: 2000\n\n"),
    ({"comment": "keep-alive"}, b": keep-alive\n\n"),
])
def test_encode_writes_exact_bytes(kwargs, expected):
    assert encode(**kwargs) == expected


def test_contract_event_is_event_id_data_in_that_order():
    assert encode_event("progress", 1795655123925592, '{"a":"b\\nc"}') == (
        b'event: progress\nid: 1795655123925592\ndata: {"a":"b\\nc"}\n\n')


@pytest.mark.parametrize(("event", "event_id", "data"), [
    ("state", 0, "{}"), ("snapshot", 2**53 - 1, '{"jobs":[]}'), ("progress", 7, '{"m":"Grüße, 東京 🚀"}'), ("state", 1, ""),
])
def test_contract_event_is_what_the_general_encoder_makes_of_the_same_fields(event, event_id, data):
    assert encode_event(event, event_id, data) == encode(data, event=event, id=event_id)


def test_comment_heartbeat_and_retry_are_single_blocks():
    assert encode_comment("server stopping") == b": server stopping\n\n"
    assert HEARTBEAT == b": keep-alive\n\n"
    assert encode_retry(500) == b"retry: 500\n\n"


@pytest.mark.parametrize(("field", "kwargs"), [
    ("event", {"event": "a\nb"}),
    ("id", {"id": "1\r2"}),
])
def test_line_breaks_in_event_or_id_are_refused(field, kwargs):
    with pytest.raises(ValueError, match=field):
        encode("x", **kwargs)


def test_contract_event_refuses_multi_line_data():
    with pytest.raises(ValueError, match="data"):
        encode_event("state", 1, "a\nb")


# The HTML standard's examples (server-sent-events, "Interpreting an event stream" and
# "Authoring notes"), named as in httpx-sse's tests: our bytes read back the same as theirs.

def test_standard_example_stock_ticker_multi_line_data():
    standard = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert encode("YHOO\n+2\n10") == standard
    assert decoded(standard) == [("message", "YHOO\n+2\n10", "")]


def test_standard_example_comment_ids_and_leading_space():
    standard = (b": test stream\n\n"
                b"data: first event\nid: 1\n\n"
                b"data:second event\nid\n\n"
                b"data:  third event\n\n")
    ours = (encode(comment="test stream") + encode("first event", id=1)
            + encode("second event", id="") + encode(" third event"))
    assert ours == (b": test stream\n\nid: 1\ndata: first event\n\n"
                    b"id: \ndata: second event\n\ndata:  third event\n\n")
    expected = [("message", "first event", "1"), ("message", "second event", ""),
                ("message", " third event", "")]
    assert decoded(standard) == expected
    assert decoded(ours) == expected


def test_standard_example_empty_data_and_a_single_newline():
    standard = b"data\n\ndata\ndata\n\ndata:"
    ours = encode("") + encode("\n")
    assert ours == b"data: \n\ndata: \ndata: \n\n"
    assert decoded(standard) == [("message", "", ""), ("message", "\n", "")]  # the last block is unfinished
    assert decoded(ours) == decoded(standard)


def test_standard_example_space_after_colon_is_optional():
    standard = b"data:test\n\ndata: test\n\n"
    assert encode("test") * 2 == b"data: test\n\ndata: test\n\n"
    assert decoded(standard) == decoded(encode("test") * 2) == [("message", "test", "")] * 2


@pytest.mark.parametrize(("raw", "expected"), [
    (None, None), ("", None), ("abc", None), ("-1", None), ("+1", None), ("01", None),
    ("1.5", None), (" 12", None), ("1e3", None), ("\u0661\u0662", None),  # Arabic-Indic digits
    (str(2**53), None), ("9" * 400, None),
    ("0", 0), ("7", 7), (str(MAX_EVENT_ID), MAX_EVENT_ID), ("1795655123925589", 1795655123925589),
])
def test_last_event_id_parsing_never_fails(raw, expected):
    assert parse_event_id(raw) == expected
