"""A request whose `Host` the server does not answer to is refused before anything happens,
in every mode: a DNS-rebinding page cannot start or read jobs (issue 15)."""

import pytest

from tests.owners import client_as, new_tokens, start_secured
from web.allowed_hosts import allowed_hosts
from web.settings import load_settings


def assert_refused(response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("method, path", [("POST", "/api/jobs"), ("GET", "/api/jobs"), ("GET", "/api/events"),
                                          ("GET", "/"), ("GET", "/no/such/page"), ("GET", "/healthz")])
def test_a_rebinding_host_is_refused_before_routing_and_changes_nothing(server, client, method, path):
    port = server.url.rsplit(":", 1)[1]
    rebound = f"rebind.evil.test:{port}"
    before = client.get("/api/jobs").json()["jobs"]
    response = client.request(method, path, json={"kind": "sleep", "params": {"seconds": 0}} if method == "POST" else None,
                              headers={"Host": rebound, "Origin": f"http://{rebound}"})
    assert_refused(response)
    assert client.get("/api/jobs").json()["jobs"] == before


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST:1", "127.0.0.1:9", "localhost."])
def test_loopback_names_are_answered_whatever_the_port(client, host):
    assert client.get("/api/kinds", headers={"Host": host}).status_code == 200


def test_allowed_hosts_names_hosts_and_subdomains_and_replaces_the_defaults_with_tokens_on_too(tmp_path):
    tokens = new_tokens("alice")
    server = start_secured(tmp_path, tokens, {"ALLOWED_HOSTS": "127.0.0.1, progress.example.org, *.example.com"})
    try:
        alice = client_as(server, tokens, "alice")
        for host in ("progress.example.org", "api.example.com:8443", "a.b.example.com"):
            assert alice.get("/api/session", headers={"Host": host}).status_code == 200, host
        for host in ("example.com", "localhost", "progress.example.org.evil.test", "evil-example.com"):
            assert_refused(alice.get("/api/session", headers={"Host": host}))
    finally:
        server.stop()


@pytest.mark.parametrize("bind, added", [("127.0.0.1:8000", ()), ("[::1]:8000", ()), ("Example.org:80", ("example.org",)),
                                         ("0.0.0.0:8000", ("0.0.0.0",)), ("unix:/run/p.sock", ())])
def test_by_default_the_loopback_names_and_the_bind_addresss_host_are_allowed(bind, added):
    settings = load_settings({"BIND": bind, "ALLOW_OPEN_ACCESS": "1"})
    assert allowed_hosts(settings) == ("localhost", "127.0.0.1", "::1", *added)
