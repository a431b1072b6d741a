"""One owner can't starve everyone: owners take turns for free slots, and no owner runs more
than LIMIT_RUNNING_PER_OWNER jobs at once (issue #15), on the SQLite and Redis stores."""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, start_job, wait_for_state
from tests.redis_fixtures import redis_server  # noqa: F401 - a fixture

TOKENS = {name: secrets.token_urlsafe(32) for name in ("ann", "bob")}


@pytest.fixture(params=["sqlite", "redis"])
def two_slots(request, server_factory, tmp_path: Path):
    """A server with two slots and two owners; `env` on the request adds settings."""

    def start(env: dict[str, str]) -> tuple[httpx.Client, httpx.Client, Server]:
        tokens = tmp_path / "tokens"
        tokens.write_text("".join(f"{name} {secret}\n" for name, secret in TOKENS.items()))
        extra = {"API_TOKENS_FILE": str(tokens), "JOBS_CONCURRENCY": "2", **env}
        if request.param == "redis":
            extra["REDIS_URL"] = request.getfixturevalue("redis_server").url
        server = server_factory(extra)
        ann, bob = (server.client(headers={"Authorization": f"Bearer {TOKENS[name]}"}) for name in ("ann", "bob"))
        return ann, bob, server

    return start


def test_no_owner_runs_more_than_their_share_and_another_owner_starts_at_once(two_slots):
    ann, bob, _ = two_slots({"LIMIT_RUNNING_PER_OWNER": ""})  # unset: the default share, half of two slots
    anns = [start_job(ann, "report_and_wait") for _ in range(3)]
    wait_for_state(ann, anns[0]["id"], {"running"})
    bobs = start_job(bob, "report_and_wait")
    assert wait_for_state(bob, bobs["id"], {"running"})["state"] == "running"
    assert [ann.get(f"/api/jobs/{job['id']}").json()["state"] for job in anns] == ["running", "queued", "queued"]
    for client, job in [(ann, job) for job in anns] + [(bob, bobs)]:
        client.post(f"/api/jobs/{job['id']}/cancel")


def test_when_a_slot_frees_the_owner_running_fewer_jobs_takes_it(two_slots):
    ann, bob, _ = two_slots({"LIMIT_RUNNING_PER_OWNER": "0"})  # no share: only turns
    first, second = start_job(ann, "report_and_wait"), start_job(ann, "report_and_wait")
    wait_for_state(ann, second["id"], {"running"})
    anns_third = start_job(ann, "report_and_wait")
    bobs = start_job(bob, "report_and_wait")  # newer than ann's third, and still first in turn
    ann.post(f"/api/jobs/{first['id']}/cancel")
    assert wait_for_state(bob, bobs["id"], {"running"})["state"] == "running"
    assert ann.get(f"/api/jobs/{anns_third['id']}").json()["state"] == "queued"
    for client, job in ((ann, second), (ann, anns_third), (bob, bobs)):
        client.post(f"/api/jobs/{job['id']}/cancel")
