"""Tokens change without a restart: every worker reads API_TOKENS_FILE again when it changes
(issue 14 part 6). A real gunicorn with two workers sharing Redis; each check is made on new
connections, so it lands on either worker."""

from __future__ import annotations

import ipaddress
import itertools
import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, StreamReader
from tests.owners import new_tokens, start_secured, write_token_file
from tests.redis_fixtures import module_redis_server  # noqa: F401 - a fixture

TOKENS = new_tokens("alice", "bob", "carol")
AT_START = {name: TOKENS[name] for name in ("alice", "bob")}
RELOAD_DEADLINE_S = 10.0
"""A deadline, not a measure: the server looks once a second and it takes one to two (docs/api.md)."""
TRIES = 8
"""Requests per check, each on a new connection: both workers answer some of them."""
CLIENTS = (ipaddress.ip_address("10.0.0.0") + n for n in itertools.count(1))


@pytest.fixture(scope="module")
def secured(tmp_path_factory, module_redis_server):  # noqa: F811 - the fixture imported above
    folder = tmp_path_factory.mktemp("reload")
    server = start_secured(folder, AT_START, {"REDIS_URL": module_redis_server.url}, ("--workers", "2"))
    yield server
    server.stop()


def token_file(server: Server) -> Path:
    return server.log_path.parent / "tokens"


def replace_file(server: Server, tokens: dict[str, str]) -> None:
    """As an editor saves: a new file renamed over the old one."""
    staging = token_file(server).parent / "next"
    staging.mkdir(exist_ok=True)
    os.replace(write_token_file(staging, tokens), token_file(server))


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


def statuses(server: Server, headers: dict[str, str]) -> set[int]:
    """Each request as another client (through the trusted loopback proxy's header), so the
    refusals while waiting for a change never add up to the wrong-token limit of one address."""
    return {httpx.get(f"{server.url}/api/session", timeout=10,
                      headers={**headers, "X-Forwarded-For": str(next(CLIENTS))}).status_code
            for _ in range(TRIES)}


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + RELOAD_DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {RELOAD_DEADLINE_S} s"
        time.sleep(0.1)


def workers_logging(server: Server, pattern: str) -> list[str]:
    """The pid of each log line whose message matches `pattern`, a line each."""
    return re.findall(rf"\[(\d+)\] \w+ web\.token_watch: {pattern}", server.log())


def test_a_deleted_line_ends_its_token_its_session_and_its_open_stream_while_another_works(secured):
    replace_file(secured, AT_START)
    until(lambda: statuses(secured, bearer("bob")) == {200}, "bob's token working")
    signed_in = httpx.post(f"{secured.url}/signin", data={"token": TOKENS["bob"]})
    cookie = {"Cookie": f"session={signed_in.cookies['session']}"}
    with httpx.Client(base_url=secured.url, timeout=httpx.Timeout(10.0, read=30.0)) as client:
        stream = StreamReader(client, "/api/events", bearer("bob"))
        stream.wait_for(lambda events: bool(events))
        assert statuses(secured, cookie) == {200}

        replace_file(secured, {"alice": TOKENS["alice"]})
        until(lambda: statuses(secured, bearer("bob")) == {401}, "bob's token refused by both workers")
        assert statuses(secured, cookie) == {401}
        stream.wait_ended(RELOAD_DEADLINE_S)
        assert stream.error is None  # the server ended it
        assert statuses(secured, bearer("alice")) == {200}
    path = re.escape(str(token_file(secured)))
    until(lambda: len(set(workers_logging(secured, f"API_TOKENS_FILE {path} changed; tokens in use now: 1"))) == 2,
          "both workers reading the file")


def test_a_line_added_works_without_a_restart(secured):
    with open(token_file(secured), "a") as file:  # echo "carol SECRET" >> tokens
        file.write(f"carol {TOKENS['carol']}\n")
    until(lambda: statuses(secured, bearer("carol")) == {200}, "carol's new token working on both workers")


def test_a_file_made_invalid_keeps_the_last_tokens_and_each_worker_logs_it_once(secured):
    token_file(secured).write_text("this is no token file\n")
    problem = f"API_TOKENS_FILE {re.escape(str(token_file(secured)))}: line 1 of the token file is not"
    until(lambda: len(set(workers_logging(secured, problem))) == 2, "both workers logging the broken file")
    time.sleep(2.5)  # more looks at the still broken file
    assert statuses(secured, bearer("alice")) == {200}
    logged = workers_logging(secured, problem)
    assert len(logged) == len(set(logged)) == 2, logged
