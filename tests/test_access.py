"""Owners: each sees and touches only their own jobs; admins see all; the page signs in once (issue #8)."""

import secrets

import httpx
import pytest

from tests.conftest import start_job, wait_for_state

TOKENS = {name: secrets.token_urlsafe(24) for name in ("alice", "bob", "root")}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    from tests.conftest import start_server
    folder = tmp_path_factory.mktemp("secured")
    token_file = folder / "tokens"
    token_file.write_text("# name secret [admin]\n" + "".join(
        f"{name} {secret}{' admin' if name == 'root' else ''}\n" for name, secret in TOKENS.items()))
    server = start_server(folder, env={"API_TOKENS_FILE": str(token_file)})
    yield server
    server.stop()


def client_of(server, name: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[name]}"} if name else {}
    return server.client(headers=headers)


@pytest.fixture(scope="module")
def alices_job(secured):
    alice = client_of(secured, "alice")
    job = start_job(alice, "greet", user="Alice")
    return wait_for_state(alice, job["id"], {"succeeded"})


def test_no_token_or_a_wrong_one_is_401_with_the_bearer_challenge(secured):
    for headers in ({}, {"Authorization": "Bearer not-a-token-at-all-xxxxxxxx"}, {"Authorization": "Basic x"}):
        response = secured.client(headers=headers).get("/api/jobs")
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["", "/cancel", "/result", "/events"])
def test_another_owners_job_is_as_missing_as_no_job(secured, alices_job, path):
    bob = client_of(secured, "bob")
    method = "POST" if path == "/cancel" else "GET"
    theirs = bob.request(method, f"/api/jobs/{alices_job['id']}{path}")
    missing = bob.request(method, f"/api/jobs/{'x' * 22}{path}")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()


def test_lists_and_snapshots_hold_only_the_owners_jobs_and_an_admin_sees_all(secured, alices_job, open_stream):
    bob = client_of(secured, "bob")
    bobs_job = start_job(bob, "sleep", seconds=0, steps=1)
    assert alices_job["id"] not in [job["id"] for job in bob.get("/api/jobs").json()["jobs"]]
    root_ids = [job["id"] for job in client_of(secured, "root").get("/api/jobs").json()["jobs"]]
    assert {alices_job["id"], bobs_job["id"]} <= set(root_ids)
    stream = open_stream("/api/events", headers={"Authorization": f"Bearer {TOKENS['bob']}"}, on=secured)
    snapshot = stream.wait_for(lambda events: events)[0]
    assert [job["id"] for job in snapshot.json()["jobs"]] == [bobs_job["id"]]


def test_live_events_and_resume_never_carry_another_owners_job(secured, open_stream):
    alice, bob = client_of(secured, "alice"), client_of(secured, "bob")
    bob_headers = {"Authorization": f"Bearer {TOKENS['bob']}"}
    bobs_stream = open_stream("/api/events", headers=bob_headers, on=secured)
    first = bobs_stream.wait_for(lambda events: events)[0]
    alices = start_job(alice, "sleep", seconds=0.2, steps=2)
    alices_stream = open_stream(f"/api/jobs/{alices['id']}/events",
                                headers={"Authorization": f"Bearer {TOKENS['alice']}"}, on=secured)
    alices_stream.wait_ended()
    marker = start_job(bob, "sleep", seconds=0, steps=1)  # bob's own event arrives after alice's
    bobs_stream.wait_for(lambda events: any(e.event == "state" and e.json()["id"] == marker["id"] for e in events))
    assert all(e.json()["id"] != alices["id"] for e in bobs_stream.events[1:])
    resumed = open_stream("/api/events", headers={**bob_headers, "Last-Event-ID": first.id}, on=secured)
    resumed.wait_for(lambda events: any(e.json().get("id") == marker["id"] for e in events if e.event == "state"))
    assert alices["id"] not in {e.json().get("id") for e in resumed.events}
    alice_ids = [e.id for e in alices_stream.events]
    replay = open_stream("/api/events", headers={**bob_headers, "Last-Event-ID": alice_ids[0]}, on=secured)
    replay.wait_for(lambda events: any(e.json().get("id") == marker["id"] for e in events if e.event == "state"))
    assert alices["id"] not in {e.json().get("id") for e in replay.events}


def test_the_page_signs_in_once_and_streams_with_a_signed_session_cookie(secured):
    browser = secured.client(follow_redirects=False)
    assert browser.get("/").headers["Location"] == "/signin"
    assert browser.post("/signin", data={"token": "wrong-token-wrong-token"}).status_code == 401
    signed_in = browser.post("/signin", data={"token": TOKENS["alice"]})
    assert signed_in.status_code == 303
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKENS["alice"] not in cookie
    assert browser.get("/").status_code == 200
    assert browser.get("/api/session").json() == {"owner": "alice", "admin": False, "access": "tokens"}
    with browser.stream("GET", "/api/events") as stream:
        assert stream.status_code == 200
    browser.post("/signout")
    assert browser.get("/api/jobs").status_code == 401


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.example"},
])
def test_a_cross_site_request_changes_nothing(secured, headers):
    alice = client_of(secured, "alice")
    before = len(alice.get("/api/jobs").json()["jobs"])
    refused = alice.post("/api/jobs", json={"kind": "greet"}, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_request"
    assert len(alice.get("/api/jobs").json()["jobs"]) == before


def test_a_same_origin_browser_request_is_accepted(secured):
    alice = client_of(secured, "alice")
    accepted = alice.post("/api/jobs", json={"kind": "sleep", "params": {"seconds": 0}},
                          headers={"Origin": secured.url, "Sec-Fetch-Site": "same-origin"})
    assert accepted.status_code == 202


def test_no_token_ever_reaches_a_response_or_the_log(secured, alices_job):
    alice = client_of(secured, "alice")
    bodies = [alice.get(path).text for path in ("/api/jobs", f"/api/jobs/{alices_job['id']}", "/api/session")]
    log = secured.log()
    assert "path=/api/jobs status=200" in log and "owner=alice" in log  # one line per request
    for secret in TOKENS.values():
        assert secret not in log
        assert all(secret not in body for body in bodies)


def test_the_signed_in_page_names_its_owner_and_signs_out(secured):
    browser = secured.client(follow_redirects=False)
    browser.post("/signin", data={"token": TOKENS["bob"]}, headers={"Origin": secured.url})
    page = browser.get("/").text
    assert 'action="/signout"' in page and ">bob<" in page
    signin = browser.get("/signin").text
    assert 'type="password"' in signin and TOKENS["bob"] not in signin


def test_metrics_are_for_admins_when_access_control_is_on(secured):
    assert client_of(secured, None).get("/metrics").status_code == 401
    assert client_of(secured, "alice").get("/metrics").status_code == 401
    assert client_of(secured, "root").get("/metrics").status_code == 200
