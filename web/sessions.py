"""The page's session: a signed cookie bound to the token it was made from, that ends (issue 15).

`/signin` swaps a token for a cookie holding the token's name, a fingerprint of its secret
(an HMAC under SECRET_KEY, so the cookie holds nothing that helps guess the secret) and a
random id. A session counts only while

- its token still exists with that secret: deleting the line or changing the secret ends
  it, as soon as the server sees the file change (`web.token_watch`, within a second or two);
- it is younger than SESSION_MAX_AGE_S (the cookie's signature dates it; it is never
  re-signed, so the age counts from sign-in);
- it was not signed out: `/signout` puts its id on a list of ended sessions, kept until
  the session would have expired anyway, so a copy of the cookie is worth nothing after.
  The list lives in the data folder, or in Redis with REDIS_URL, so every worker and the
  next start honour it.

The cookie is `Secure` when the request came over HTTPS, directly or through a trusted
proxy (`request.is_secure`, which the proxy middleware sets), so a browser never sends it
back over plain HTTP.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from progress.access import Owner
from progress.redis_backend.address import RedisAddress

from .settings import Settings
from .tokens import Token

ENDED_SESSIONS_FILE = "sessions.sqlite3"
"""The list of signed-out sessions, in the data folder (without Redis)."""


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, `Secure` whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


class EndedSessions(Protocol):
    """Ids of sessions signed out, each kept until `until` (seconds since the epoch)."""

    def add(self, session_id: str, until: float) -> None: ...

    def __contains__(self, session_id: str) -> bool: ...


class SqliteEndedSessions:
    """In a small database of the data folder: a restart keeps it; one server per folder."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS ended (id TEXT PRIMARY KEY, until REAL NOT NULL)")

    def add(self, session_id: str, until: float) -> None:
        self._db.execute("DELETE FROM ended WHERE until < ?", (time.time(),))
        self._db.execute("INSERT OR REPLACE INTO ended VALUES (?, ?)", (session_id, until))

    def __contains__(self, session_id: str) -> bool:
        return self._db.execute("SELECT 1 FROM ended WHERE id = ? AND until >= ?",
                                (session_id, time.time())).fetchone() is not None


class RedisEndedSessions:
    """In Redis, one key per session expiring with it: every worker and host sees a sign-out."""

    def __init__(self, address: RedisAddress) -> None:
        from progress.redis_backend.connection import Connection  # redis-py only with Redis

        connection = Connection(address)
        self._client = connection.client()
        self._key = lambda session_id: connection.key(f"ended-session:{session_id}")

    def add(self, session_id: str, until: float) -> None:
        self._client.set(self._key(session_id), 1, pxat=int(until * 1000) + 1)

    def __contains__(self, session_id: str) -> bool:
        return bool(self._client.exists(self._key(session_id)))


def ended_sessions(settings: Settings) -> EndedSessions:
    """Redis with REDIS_URL or REDIS_SENTINELS, else the data folder (resolved by now: `web.data_folder`)."""
    if settings.redis_address is not None:
        return RedisEndedSessions(settings.redis_address)
    return SqliteEndedSessions(os.path.join(str(settings.data_dir), ENDED_SESSIONS_FILE))


def configure_cookies(app: Flask, max_age_s: float) -> None:
    """Signed, `HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS, refused once `max_age_s` old."""
    app.session_interface = SessionCookie()
    app.permanent_session_lifetime = timedelta(seconds=max_age_s)  # the signature's max age
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict")


class Sessions:
    """Begins, reads and ends the page's sessions of one set of API tokens."""

    def __init__(self, token_named: Callable[[str], Token | None], ended: EndedSessions,
                 max_age_s: float) -> None:
        self.token_named = token_named
        self.ended = ended
        self.max_age_s = max_age_s

    def begin(self, token: Token) -> None:
        session.clear()
        session.update(owner=token.name, key=fingerprint(token), id=secrets.token_urlsafe(16))

    def owner(self) -> Owner | None:
        """The owner of this request's session, if it still counts (see the module's docstring)."""
        name, key, session_id = session.get("owner"), session.get("key"), session.get("id")
        if not (isinstance(name, str) and isinstance(key, str) and isinstance(session_id, str)):
            return None
        token = self.token_named(name)
        if token is None or not hmac.compare_digest(key, fingerprint(token)) or session_id in self.ended:
            return None
        return Owner(token.name, token.admin)

    def end(self) -> None:
        """Sign out: this session's id is refused from now on, wherever its cookie turns up."""
        session_id = session.get("id")
        if isinstance(session_id, str):
            self.ended.add(session_id, time.time() + self.max_age_s)


def fingerprint(token: Token) -> str:
    """Changes with the token's secret; tells nothing about it without SECRET_KEY."""
    return hmac.new(current_app.secret_key.encode(), token.secret.encode(), "sha256").hexdigest()[:32]
