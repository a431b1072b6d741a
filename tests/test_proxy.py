"""Whose X-Forwarded-For and X-Forwarded-Proto are believed: FORWARDED_ALLOW_IPS, as gunicorn reads it (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import StreamReader, start_job
from web.proxy import ForwardedHeaders, TrustedProxies
from web.settings import SettingsError, load_settings


def seen_by_the_app(allowed: str, environ: dict[str, Any]) -> dict[str, Any]:
    """The environ the app behind the middleware gets."""
    seen: dict[str, Any] = {}

    def app(env: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(env)
        return []

    ForwardedHeaders(app, TrustedProxies.parse(allowed))({"wsgi.url_scheme": "http", **environ}, lambda *args: None)
    return seen


def test_a_trusted_proxy_gives_the_client_address_and_the_scheme() -> None:
    seen = seen_by_the_app("127.0.0.1,::1", {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7",
                                              "HTTP_X_FORWARDED_PROTO": "https"})
    assert seen["REMOTE_ADDR"] == "203.0.113.7" and seen["wsgi.url_scheme"] == "https"


def test_from_anyone_else_the_headers_are_ignored_and_removed() -> None:
    seen = seen_by_the_app("127.0.0.1,::1", {"REMOTE_ADDR": "198.51.100.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7",
                                              "HTTP_X_FORWARDED_PROTO": "https"})
    assert seen["REMOTE_ADDR"] == "198.51.100.2" and seen["wsgi.url_scheme"] == "http"
    assert "HTTP_X_FORWARDED_FOR" not in seen and "HTTP_X_FORWARDED_PROTO" not in seen


@pytest.mark.parametrize(("allowed", "peer", "forwarded_for", "client"), [
    ("127.0.0.1", "127.0.0.1", "198.51.100.9, 203.0.113.7", "203.0.113.7"),  # the left one is the client's own claim
    ("127.0.0.1,10.0.0.0/8", "127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # through two listed proxies
    ("127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"),  # a client on the proxy's own host
    ("*", "192.0.2.1", "198.51.100.9, 203.0.113.7", "203.0.113.7"),  # `*` trusts the peer, not every hop it names
    ("::1", "::1", "2001:DB8::1", "2001:db8::1"),
    ("127.0.0.1", "127.0.0.1", "unknown", "127.0.0.1"),  # not an address: the peer stays the client
    ("127.0.0.1", "127.0.0.1", "", "127.0.0.1"),
])
def test_the_client_is_the_nearest_hop_that_is_not_a_listed_proxy(allowed: str, peer: str, forwarded_for: str,
                                                                   client: str) -> None:
    seen = seen_by_the_app(allowed, {"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": forwarded_for})
    assert seen["REMOTE_ADDR"] == client


def test_a_peer_without_an_ip_address_is_trusted_as_gunicorn_does_for_a_unix_socket() -> None:
    seen = seen_by_the_app("10.0.0.1", {"REMOTE_ADDR": "", "HTTP_X_FORWARDED_FOR": "203.0.113.7"})
    assert seen["REMOTE_ADDR"] == "203.0.113.7"


@pytest.mark.parametrize("value", ["nope", "10.0.0.1/8", "127.0.0.1, 300.1.1.1"])
def test_a_value_gunicorn_would_refuse_stops_the_start_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="^FORWARDED_ALLOW_IPS: expected IP addresses or networks"):
        load_settings({"FORWARDED_ALLOW_IPS": value})


def test_the_default_is_gunicorns_own() -> None:
    assert load_settings({}).forwarded_allow_ips == TrustedProxies.parse("127.0.0.1,::1")


def test_on_gunicorn_a_forwarded_client_from_loopback_is_its_own_owner_for_limits_and_the_log(server_factory) -> None:
    server = server_factory({"LIMIT_STREAMS_PER_OWNER": "1"})
    ann = server.client(headers={"X-Forwarded-For": "203.0.113.7"})
    bob = server.client(headers={"X-Forwarded-For": "203.0.113.8"})
    assert ann.get("/api/session").json()["owner"] == "203.0.113.7"
    start_job(ann, "sleep", seconds=0.1, steps=1)

    streams = [StreamReader(ann, "/api/events"), StreamReader(bob, "/api/events")]
    try:
        for reader in streams:
            reader.wait_connected()
            assert reader.status == 200
        assert server.client(headers={"X-Forwarded-For": "203.0.113.7"}).get("/api/events").status_code == 429
    finally:
        for reader in streams:
            reader.close()
    assert "path=/api/jobs status=202" in server.log() and "owner=203.0.113.7" in server.log()


def test_on_gunicorn_with_forwarded_allow_ips_naming_another_proxy_the_header_is_ignored(server_factory) -> None:
    server = server_factory({"FORWARDED_ALLOW_IPS": "10.9.8.7"})
    client = server.client(headers={"X-Forwarded-For": "203.0.113.7"})
    assert client.get("/api/session").json()["owner"] == "127.0.0.1"
