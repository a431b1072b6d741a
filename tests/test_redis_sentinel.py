"""Redis Sentinel (issue 14, part 5): REDIS_SENTINELS and REDIS_SENTINEL_MASTER are checked at
start, and a deployment on them rides out the primary's death: Sentinel promotes the replica,
no accepted job is lost, new submits work, and a stream resumes with what it missed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import GUNICORN, ROOT, Server, StreamReader, free_port, start_job, wait_for_state
from tests.sentinel_fixtures import MASTER, PASSWORD, sentinel_deployment  # noqa: F401 - fixture
from web.settings import SettingsError, load_settings

FAILOVER_DEADLINE_S = 30.0
WORKERS = 2


def test_sentinels_and_the_primarys_name_are_read_with_a_url_for_password_and_database():
    settings = load_settings({"REDIS_SENTINELS": "10.0.0.1:26379, sentinel-b:26380,[::1]:26381",
                              "REDIS_SENTINEL_MASTER": "mymaster", "REDIS_URL": "redis://:pw@ignored/2"})
    address = settings.redis_address
    assert address.sentinels == (("10.0.0.1", 26379), ("sentinel-b", 26380), ("::1", 26381))
    assert (address.master, address.url, address.setting) == ("mymaster", "redis://:pw@ignored/2", "REDIS_SENTINELS")


@pytest.mark.parametrize(("environ", "message"), [
    ({"REDIS_SENTINELS": "a:26379"}, "^REDIS_SENTINEL_MASTER: needed with REDIS_SENTINELS"),
    ({"REDIS_SENTINEL_MASTER": "mymaster"}, "^REDIS_SENTINELS: needed with REDIS_SENTINEL_MASTER"),
    ({"REDIS_SENTINELS": "a:26379,b", "REDIS_SENTINEL_MASTER": "m"}, "^REDIS_SENTINELS: expected host:port pairs"),
    ({"REDIS_SENTINELS": "a:99999", "REDIS_SENTINEL_MASTER": "m"}, "^REDIS_SENTINELS: expected host:port pairs"),
    ({"REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_MASTER": "my master"}, "^REDIS_SENTINEL_MASTER: expected the name"),
    ({"REDIS_SENTINELS": "a:1", "REDIS_SENTINEL_MASTER": "m", "REDIS_URL": "unix:///run/redis.sock"},
     "^REDIS_URL: a unix socket cannot be used with REDIS_SENTINELS"),
    ({"REDIS_MAX_CONNECTIONS": "0"}, "^REDIS_MAX_CONNECTIONS: expected a whole number from 1"),
])
def test_a_bad_sentinel_setting_stops_the_start_naming_the_variable(environ, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ)


def test_sentinels_that_cannot_be_reached_stop_the_start_with_one_line_naming_redis_sentinels():
    environ = {**os.environ, "REDIS_SENTINELS": f"127.0.0.1:{free_port()}", "REDIS_SENTINEL_MASTER": "mymaster",
               "BIND": "127.0.0.1:0"}
    line = (r"^(gunicorn\.conf\.py: )?REDIS_SENTINELS: cannot reach Redis "
            r"\(no sentinel of 127\.0\.0\.1:\d+ answered with a primary named 'mymaster'\)$")
    for command in ([GUNICORN, "-c", "gunicorn.conf.py"], [sys.executable, "-m", "web"]):
        done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and "Traceback" not in done.stderr
        assert re.search(line, done.stderr, re.M), done.stderr


def test_a_failover_loses_no_accepted_job_and_a_stream_resumes_with_what_it_missed(sentinel_deployment,
                                                                                 server_factory):
    """The server stops before Redis does (fixtures end in reverse order)."""
    deployment = sentinel_deployment
    server = server_factory(env={"REDIS_SENTINELS": deployment.setting, "REDIS_SENTINEL_MASTER": MASTER,
                                 "REDIS_URL": f"redis://:{PASSWORD}@primary.invalid/3"},
                            args=("--workers", str(WORKERS)))
    _wait_until_every_worker_serves(server)
    client = server.client()
    finished = start_job(client, "sleep", seconds=0, steps=1)
    wait_for_state(client, finished["id"], {"succeeded"})
    stream = StreamReader(server.client(), "/api/events")
    seen = stream.wait_for(lambda events: bool(events))[-1].id
    waiting = [client.post("/api/jobs", json={"kind": "sleep", "delay_s": 3600}) for _ in range(20)]
    assert all(answer.status_code == 202 for answer in waiting)
    waits = deployment.primary.client().info("commandstats")["cmdstat_wait"]["calls"]
    os.kill(deployment.primary.process.pid, signal.SIGKILL)  # right after the last 202
    assert waits >= len(waiting) and "no replica acknowledged" not in server.log()  # each 202 came after WAIT

    deployment.wait_promoted()
    stream.wait_ended(timeout=FAILOVER_DEADLINE_S)  # the event bus lost Redis: clients resume
    after = _submit_until_accepted(client)
    assert wait_for_state(client, after["id"], {"succeeded"}, timeout=FAILOVER_DEADLINE_S)
    for job in [finished] + [answer.json() for answer in waiting]:
        kept = client.get(f"/api/jobs/{job['id']}")
        assert kept.status_code == 200 and kept.json()["state"] in ("queued", "succeeded"), kept.text
    assert deployment.replica.client(db=3).exists(f"progress:job:{after['id']}")  # REDIS_URL's password and db

    resumed = StreamReader(server.client(), "/api/events",
                           headers={"Last-Event-ID": seen})
    events = resumed.wait_for(lambda got: any(json.loads(e.data).get("state") == "succeeded"
                                              and json.loads(e.data).get("id") == after["id"] for e in got))
    resumed.close()
    assert events[0].event != "snapshot" and all(int(event.id) > int(seen) for event in events)
    assert [json.loads(e.data)["state"] for e in events
            if e.event == "state" and json.loads(e.data)["id"] == after["id"]] == ["queued", "running", "succeeded"]


def _wait_until_every_worker_serves(server: Server) -> None:
    """Each worker has answered a request, so both are up and registered when Redis goes away."""
    deadline = time.monotonic() + FAILOVER_DEADLINE_S
    while len(set(re.findall(r"\[(\d+)\] INFO web\.requests: method=GET path=/healthz ", server.log()))) < WORKERS:
        assert time.monotonic() < deadline, server.log()[-3000:]
        httpx.get(f"{server.url}/healthz", timeout=5)  # a new connection: either worker may take it


def _submit_until_accepted(client: httpx.Client) -> dict:
    """Until the workers reach the new primary, a submit is 503 `unavailable`, never lost or a 500."""
    deadline = time.monotonic() + FAILOVER_DEADLINE_S
    while True:
        answer = client.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0.2, "steps": 2}})
        if answer.status_code == 202:
            return answer.json()
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable", answer.text
        assert time.monotonic() < deadline, "no submit accepted after the failover"
        time.sleep(0.2)
