"""Streams open without Flask's request cycle in the plain case, and everything else is still
Flask's, with the same checks, answers and log line (issue 14 part 8).

These call the app in the process; every real-server stream test runs over the shortcut too."""

import logging
from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from progress import defaults
from web.app import create_app
from web.settings import Settings
from web.stream_shortcut import StreamShortcut
from web.tokens import read_token_file
from tests.owners import new_tokens, write_token_file


class Answer:
    """One WSGI call: status, headers, the body's first bytes, and whether Flask served it."""

    def __init__(self, app: Any, shortcut: StreamShortcut, path: str, **request: Any) -> None:
        self.flask_called = False
        flask_app = shortcut.app

        def spy(environ: dict, start_response: Callable) -> Any:
            self.flask_called = True
            return flask_app(environ, start_response)

        shortcut.app = spy
        try:
            environ = EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": "127.0.0.1"}, **request).get_environ()
            self.body = app.wsgi_app(environ, self._start)
        finally:
            shortcut.app = flask_app
        self.first = next(iter(self.body), b"")

    def _start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        self.status, self.headers = status, headers

    def close(self) -> None:
        getattr(self.body, "close", lambda: None)()


def shortcut_of(app: Any) -> StreamShortcut:
    shortcut = app.wsgi_app.app  # ForwardedHeaders, then the shortcut, then Flask
    assert isinstance(shortcut, StreamShortcut)
    return shortcut


@pytest.fixture
def app(tmp_path) -> Any:
    return create_app(Settings(jobs_db=":memory:", data_dir=str(tmp_path), limit_streams_per_owner=2))


def flask_answer(app: Any, path: str, **request: Any) -> Answer:
    """The same request served by the Flask route itself, as before the shortcut."""
    shortcut = shortcut_of(app)
    environ = EnvironBuilder(path=path, environ_base={"REMOTE_ADDR": "127.0.0.1"}, **request).get_environ()
    answer = Answer.__new__(Answer)
    answer.flask_called = True
    answer.body = shortcut.app(environ, answer._start)
    answer.first = next(iter(answer.body), b"")
    return answer


@pytest.mark.parametrize("route", ["/api/events", "/api/jobs/{id}/events"])
def test_a_plain_stream_request_skips_flask_and_answers_exactly_as_the_flask_route(app, route):
    job = app.test_client().post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 60}}).get_json()
    path = route.format(id=job["id"])
    ours, theirs = Answer(app, shortcut_of(app), path), flask_answer(app, path)
    try:
        assert not ours.flask_called
        assert (ours.status, ours.headers) == (theirs.status, theirs.headers)
        assert ("X-Content-Type-Options", "nosniff") in ours.headers
        assert ours.first == theirs.first and ours.first.startswith(b"retry: ")
    finally:
        ours.close()
        theirs.close()


def test_a_resume_reads_the_header_first_then_the_query_as_the_flask_route(app):
    job = app.test_client().post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 60}}).get_json()
    first = Answer(app, shortcut_of(app), "/api/events")
    snapshot_id = int(first.first.split(b"id: ")[1].split(b"\n")[0])
    first.close()
    for request in ({"headers": {"Last-Event-ID": str(snapshot_id - 1)}, "query_string": "lastEventId=x"},
                    {"query_string": f"lastEventId={snapshot_id - 1}"}):
        ours, theirs = Answer(app, shortcut_of(app), "/api/events", **request), flask_answer(app, "/api/events", **request)
        try:
            assert not ours.flask_called
            assert ours.first == theirs.first
            assert b"event: state" in ours.first and job["id"].encode() in ours.first  # the missed `queued`
        finally:
            ours.close()
            theirs.close()


@pytest.mark.parametrize("path, asked, status, code", [
    ("/api/events", {"headers": {"Host": "rebind.evil.test"}}, "400", "bad_request"),
    ("/api/jobs/nosuchjob/events", {}, "404", "not_found"),
    ("/api/events", {"method": "POST"}, "405", "method_not_allowed"),
    ("/api/events/", {}, "404", "not_found"),
])
def test_every_refusal_is_left_to_flask_and_answered_in_the_contracts_json(app, path, asked, status, code):
    answer = Answer(app, shortcut_of(app), path, **asked)
    assert answer.flask_called
    assert answer.status.startswith(status) and f'"code":"{code}"'.encode() in answer.first.replace(b" ", b"")


def test_past_the_stream_limit_flask_answers_429_with_retry_after(app):
    held = [Answer(app, shortcut_of(app), "/api/events") for _ in range(2)]
    refused = Answer(app, shortcut_of(app), "/api/events")
    assert refused.flask_called and refused.status.startswith("429")
    assert ("Retry-After", str(defaults.QUEUE_FULL_RETRY_AFTER_S)) in refused.headers
    for answer in held:
        answer.close()


def test_a_stream_opened_on_the_shortcut_logs_the_flask_routes_line(app, caplog):
    caplog.set_level(logging.INFO, logger="web.requests")
    answer = Answer(app, shortcut_of(app), "/api/events")
    answer.close()
    assert not answer.flask_called
    [line] = [record.getMessage() for record in caplog.records if record.name == "web.requests"]
    assert line.startswith("method=GET path=/api/events status=200 duration_ms=") and line.endswith(" owner=127.0.0.1")


@pytest.fixture
def secured(tmp_path) -> tuple[Any, dict[str, str]]:
    tokens = new_tokens("alice")
    token_file = read_token_file(str(write_token_file(tmp_path, tokens)))
    return create_app(Settings(jobs_db=":memory:", data_dir=str(tmp_path), api_tokens_file=token_file)), tokens


def test_a_right_bearer_token_opens_on_the_shortcut_and_wrong_ones_count_once_each(secured):
    app, tokens = secured
    right = Answer(app, shortcut_of(app), "/api/events", headers={"Authorization": f"Bearer {tokens['alice']}"})
    right.close()
    assert not right.flask_called and right.status.startswith("200")
    wrong = {"headers": {"Authorization": "Bearer " + "x" * 43}}
    for _ in range(defaults.FAILED_TOKENS_PER_MINUTE):
        answer = Answer(app, shortcut_of(app), "/api/events", **wrong)
        assert answer.flask_called and answer.status.startswith("401"), answer.status
    assert Answer(app, shortcut_of(app), "/api/events", **wrong).status.startswith("429")
    blocked = Answer(app, shortcut_of(app), "/api/events", headers={"Authorization": f"Bearer {tokens['alice']}"})
    assert blocked.flask_called and blocked.status.startswith("429")  # a blocked address: not even a right token


def test_without_credentials_or_with_a_cookie_the_stream_is_flasks(secured):
    app, _ = secured
    answer = Answer(app, shortcut_of(app), "/api/events")
    assert answer.flask_called and answer.status.startswith("401")
    with_cookie = Answer(app, shortcut_of(app), "/api/events", headers={"Cookie": "session=not-a-session"})
    assert with_cookie.flask_called and with_cookie.status.startswith("401")
