"""Who a request speaks for, asked of the app's `owner_of_request` once per request.

The embedding app maps its own login (Flask-Login, a session, an API key) to an `Owner`;
the standalone server maps its API tokens and page sessions (web/auth.py). Job kinds
never see the request. Requests from another site may not change anything.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Request, g, request

from ..access import Owner
from ..errors import JobNotFound
from .errors import ApiError
from .state import mounted

OWNER_KEY = "progress_owner"
"""Where `g` keeps this request's owner once asked."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
"""Sent with every 401 (RFC 6750)."""


def open_access(req: Request) -> Owner:
    """No login at all: each client address is an owner who sees and controls every job."""
    return Owner(req.remote_addr or "local", admin=True)


def request_owner() -> Owner | None:
    """The owner of this request (None: no valid credentials); `owner_of_request` is asked
    once, so a wrong token counts once against its address however often this is called."""
    if OWNER_KEY not in g:
        setattr(g, OWNER_KEY, mounted().owner_of_request(request))
    return g.get(OWNER_KEY)


def identified_owner() -> Owner | None:
    """The owner if this request was identified already, without asking (for a request log)."""
    return g.get(OWNER_KEY)


def current_owner() -> Owner:
    """The owner of this request; the API has already answered 401 when there is none."""
    owner = identified_owner()
    if owner is None:
        raise JobNotFound()
    return owner


def is_cross_site(req: Request) -> bool:
    """A browser request sent by another site (`Sec-Fetch-Site`, else `Origin`); scripts send neither."""
    fetch_site = req.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = req.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc != req.host


def refuse_cross_site() -> None:
    """400 for a request that would change something and comes from another site (CSRF)."""
    if request.method not in SAFE_METHODS and is_cross_site(request):
        raise ApiError("bad_request", "Requests from another site may not change anything here.")
