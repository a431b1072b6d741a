"""The page's session cookie ends: on sign-out, when its token changes, with age; `Secure` over HTTPS (issue 15).

Each check sends the cookie by hand, as a copied cookie would be sent, so what is tested is
the server's verdict, not the cookie jar's.
"""

import secrets
import time

import pytest

from tests.owners import new_tokens, start_secured

SECRET_KEY = secrets.token_urlsafe(32)
MAX_AGE_S = 2


@pytest.fixture(scope="module")
def tokens():
    return new_tokens("alice")


@pytest.fixture(scope="module")
def secured(tmp_path_factory, tokens):
    server = start_secured(tmp_path_factory.mktemp("sessions"), tokens,
                           {"SECRET_KEY": SECRET_KEY, "SESSION_MAX_AGE_S": str(MAX_AGE_S)})
    yield server
    server.stop()


def sign_in(server, token: str, headers: dict[str, str] | None = None):
    response = server.client(follow_redirects=False).post("/signin", data={"token": token}, headers=headers)
    assert response.status_code == 303, response.text
    return response


def with_cookie(server, cookie: str):
    return server.client(follow_redirects=False, headers={"Cookie": f"session={cookie}"})


def session_status(server, cookie: str) -> int:
    return with_cookie(server, cookie).get("/api/session").status_code


def test_a_signed_out_session_is_refused_when_its_cookie_comes_back(secured, tokens):
    cookie = sign_in(secured, tokens["alice"]).cookies["session"]
    assert session_status(secured, cookie) == 200
    assert with_cookie(secured, cookie).post("/signout").status_code == 303
    assert session_status(secured, cookie) == 401


def test_a_session_ends_session_max_age_s_after_sign_in(secured, tokens):
    cookie = sign_in(secured, tokens["alice"]).cookies["session"]
    assert session_status(secured, cookie) == 200
    deadline = time.monotonic() + MAX_AGE_S + 10
    while (status := session_status(secured, cookie)) == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == 401


def test_the_cookie_is_secure_when_the_request_came_over_https(secured, tokens):
    """Through a trusted proxy (the test client is on loopback, trusted by default)."""
    plain = sign_in(secured, tokens["alice"]).headers["Set-Cookie"]
    over_https = sign_in(secured, tokens["alice"], {"X-Forwarded-Proto": "https"}).headers["Set-Cookie"]
    assert "Secure" not in plain.split("; ")
    assert "Secure" in over_https.split("; ") and "HttpOnly" in over_https.split("; ")


def test_a_session_ends_when_its_tokens_secret_changes_or_its_line_goes_and_a_sign_out_outlives_a_restart(
        tmp_path):
    before = new_tokens("alice", "bob", "carol", "dave")
    shared = {"SECRET_KEY": SECRET_KEY, "DATA_DIR": str(tmp_path / "data")}
    first = start_secured(tmp_path / "first", before, shared)
    cookies = {name: sign_in(first, secret).cookies["session"] for name, secret in before.items()}
    assert with_cookie(first, cookies["dave"]).post("/signout").status_code == 303
    first.stop()

    after = {"alice": new_tokens("alice")["alice"], "bob": before["bob"], "dave": before["dave"]}  # carol's line went
    again = start_secured(tmp_path / "again", after, shared)
    try:
        assert {name: session_status(again, cookie) for name, cookie in cookies.items()} == {
            "alice": 401, "bob": 200, "carol": 401, "dave": 401}
    finally:
        again.stop()
