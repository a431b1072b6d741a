"""Who a request speaks for, and the same-origin rule for requests that change things.

The owner comes from one pluggable function of the request (an embedding app passes
its own, fed by Flask-Login, a session or an API key). The standalone server ships
API tokens: `Authorization: Bearer` for scripts, and for the page a token entered once
at `/signin`, then a session cookie (`web/sessions.py`), since `EventSource` cannot
send headers. Wrong tokens are rate limited per client address (`web/guessing.py`).
Job kinds never see the request.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass

from flask import (Blueprint, Flask, Request, Response, current_app, jsonify, redirect, render_template,
                   request, session)

from progress.access import Owner
from progress.errors import RateLimited
from progress.flask_adapter import ApiError, OwnerOfRequest, current_owner, open_access, request_owner, service_of
from progress.flask_adapter.owners import BEARER_CHALLENGE, identified_owner, refuse_cross_site

from .guessing import GuessingLimit
from .sessions import Sessions, configure_cookies, ended_sessions
from .settings import Settings
from .token_watch import TokenFileWatch
from .tokens import Token

log = logging.getLogger("web.auth")

ADMIN_ONLY = frozenset({"/metrics"})
"""With access control on, these count every owner's jobs, so only admins read them."""

auth = Blueprint("auth", __name__)


class TokenBook:
    """Looks tokens up in constant time, so the answer's timing tells nothing about a secret.
    The token file's watch (`web.token_watch`) replaces them when the file changes."""

    def __init__(self, tokens: tuple[Token, ...]) -> None:
        self.replace(tokens)

    @property
    def tokens(self) -> tuple[Token, ...]:
        return self._tokens

    def replace(self, tokens: tuple[Token, ...]) -> None:
        """From the next lookup on, only these count (no lookup waits: nothing here yields)."""
        self._tokens = tokens
        self._by_name = {token.name: token for token in tokens}

    def token_for(self, secret: str) -> Token | None:
        offered = secret.encode("utf-8", "replace")
        found = None
        for token in self._tokens:  # every token is compared, a match or not
            if hmac.compare_digest(offered, token.secret.encode("ascii")):
                found = token
        return found

    def token_named(self, name: str) -> Token | None:
        """The token a session names, if it still exists (deleting a line revokes its sessions)."""
        return self._by_name.get(name)


def bearer_secret(req: Request) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, or None without one."""
    scheme, _, secret = req.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" and secret.strip() else None


def client_address(req: Request) -> str:
    """Whom wrong tokens are counted against: the address the proxy middleware settled on."""
    return req.remote_addr or "local"


class TokenAccess:
    """Owners from API tokens: a Bearer token, else the page's session cookie."""

    def __init__(self, book: TokenBook, sessions: Sessions, guessing: GuessingLimit) -> None:
        self.book = book
        self.sessions = sessions
        self.guessing = guessing

    def owner_of(self, req: Request) -> Owner | None:
        secret = bearer_secret(req)
        if secret is not None:
            token = self.offered(secret, req)
            return Owner(token.name, token.admin) if token else None
        return self.sessions.owner()

    def bearer_owner(self, req: Request) -> Owner | None:
        """The owner of a right Bearer token from an address not blocked, read without a request
        context and counting nothing; None for anything else (a cookie, a wrong token, a
        blocked address), which `owner_of` then settles and counts (web/stream_shortcut.py)."""
        secret = bearer_secret(req)
        if secret is None or self.guessing.blocked(client_address(req)):
            return None
        token = self.book.token_for(secret)
        return Owner(token.name, token.admin) if token else None

    def offered(self, secret: str, req: Request) -> Token | None:
        """The token `secret` is; a wrong one counts against the client's address, and an
        address past its limit is refused (`RateLimited`) before its secret is looked at."""
        address = client_address(req)
        self.guessing.check(address)
        token = self.book.token_for(secret)
        if token is None:
            self.guessing.failed(address)
        return token


@dataclass(frozen=True)
class AccessControl:
    """How this app finds owners: `open`, `tokens` or `custom` (a function the embedding app gave)."""

    mode: str
    owner_of_request: OwnerOfRequest
    tokens: TokenAccess | None = None
    owner_without_context: OwnerOfRequest | None = None
    """The owner from the request alone, outside Flask's request context, or None when only
    `owner_of_request` can tell (web/stream_shortcut.py); unset: this mode cannot tell at all."""


def _access() -> AccessControl:
    return current_app.extensions["progress_access"]


def identify() -> None:
    """Before every request: refuse cross-site changes (the sign-in form's too) and find the
    owner; the API's own guard then answers 401 under `/api/` without one."""
    refuse_cross_site()
    owner = request_owner()
    if request.path in ADMIN_ONLY and _access().mode != "open" and not (owner and owner.admin):
        raise ApiError("unauthorized", "Only an admin's API token may read this.", headers=BEARER_CHALLENGE)


@auth.get("/api/session")
def who_am_i() -> Response:
    owner = current_owner()
    return jsonify(owner=owner.name, admin=owner.admin, access=_access().mode)


@auth.get("/signin")
def signin_page() -> str:
    return render_template("signin.html", access=_access().mode)


@auth.post("/signin")
def sign_in() -> Response | tuple[str, int, dict[str, str]]:
    """The page's one use of a token: swap it for a session cookie."""
    tokens = _access().tokens
    try:
        token = tokens.offered(request.form.get("token", ""), request) if tokens else None
    except RateLimited as limited:
        return (render_template("signin.html", access=_access().mode, retry_after=limited.retry_after), 429,
                {"Retry-After": str(limited.retry_after)})
    if token is None:
        return render_template("signin.html", access=_access().mode, failed=True), 401, {}
    tokens.sessions.begin(token)
    return redirect("/", 303)


@auth.post("/signout")
def sign_out() -> Response:
    """Ends the session on the server too: its cookie, kept or copied, no longer counts."""
    tokens = _access().tokens
    if tokens:
        tokens.sessions.end()
    session.clear()
    return redirect("/signin", 303)


def install_access_control(app: Flask, settings: Settings, owner_of_request: OwnerOfRequest | None) -> AccessControl:
    """Wire the owner lookup; with no tokens and no function of its own, the server runs open.
    The API's extension is given the same `owner_of_request`."""
    if owner_of_request is not None:
        access = AccessControl("custom", owner_of_request)
    elif settings.api_tokens_file:
        book = TokenBook(settings.api_tokens_file.tokens)
        sessions = Sessions(book.token_named, ended_sessions(settings), settings.session_max_age_s)
        tokens = TokenAccess(book, sessions, GuessingLimit())
        access = AccessControl("tokens", tokens.owner_of, tokens, tokens.bearer_owner)
    else:
        access = AccessControl("open", open_access, owner_without_context=open_access)
        log.warning("access control is off: no API_TOKENS_FILE, so every client sees and controls every job")
    app.extensions["progress_access"] = access
    app.secret_key = settings.secret_key or secrets.token_urlsafe(32)
    configure_cookies(app, settings.session_max_age_s)
    app.before_request(identify)
    app.context_processor(_page_context)
    app.register_blueprint(auth)
    return access


def watch_token_file(app: Flask, settings: Settings, access: AccessControl) -> None:
    """With API tokens, read the file again when it changes; once the service exists, since a
    token that went ends its owner's open streams."""
    if access.tokens is not None and settings.api_tokens_file is not None:
        TokenFileWatch(settings.api_tokens_file.path, access.tokens.book, service_of(app).hub.end_streams_of).start()


def _page_context() -> dict[str, object]:
    """For the page header: who is signed in, and whether signing out means anything."""
    owner = identified_owner()
    return {"access_mode": _access().mode, "signed_in_as": owner.name if owner else None}
