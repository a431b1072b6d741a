"""The `Host` a request names must be one the server answers to, in every mode (issue 15).

A web page can reach a server on loopback through a DNS name of its own that it later
points at 127.0.0.1 (DNS rebinding): the browser then sends that name as `Host`, and
treats the server as the page's own origin. Refusing unknown names closes that door, in
open mode above all, where no token stands in the way. `ALLOWED_HOSTS` names them
(`*.example.com` for subdomains, `*` for any); by default `localhost`, `127.0.0.1`,
`[::1]` and the bind address's host. The port is not compared.
"""

from __future__ import annotations

import functools

from flask import Flask, request

from progress import defaults
from progress.flask_adapter import ApiError
from progress.host_names import host_allowed

from .settings import Settings


def allowed_hosts(settings: Settings) -> tuple[str, ...]:
    """`ALLOWED_HOSTS`, or the defaults and the host of `BIND` (not of a Unix socket)."""
    if settings.allowed_hosts:
        return settings.allowed_hosts
    bound = "" if settings.bind.startswith("unix:") else settings.bind.rsplit(":", 1)[0].strip("[]").lower()
    return defaults.ALLOWED_HOSTS + ((bound,) if bound and bound not in defaults.ALLOWED_HOSTS else ())


def host_name(host: str) -> str:
    """The name in a `Host` value, without its port or an IPv6 literal's brackets."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.partition(":")[0]


@functools.lru_cache(maxsize=256)
def answers_to(host: str, allowed: tuple[str, ...]) -> bool:
    """A request's `host` (Werkzeug's: the empty string for a missing or malformed Host) names
    one of the `allowed` names. Remembered: a server hears the same few names again and again."""
    name = host_name(host)
    return bool(name) and host_allowed(name, allowed)


def install_allowed_hosts(app: Flask, settings: Settings) -> None:
    """Before any other check or any route: 400 `bad_request` for a name not allowed."""
    allowed = allowed_hosts(settings)

    def refuse_unknown_hosts() -> None:
        if not answers_to(request.host, allowed):
            raise ApiError("bad_request", "This server does not answer to the host name this request "
                                          "was sent to (ALLOWED_HOSTS).")

    app.before_request(refuse_unknown_hosts)
