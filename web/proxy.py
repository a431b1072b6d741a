"""Behind a reverse proxy: believe `X-Forwarded-For` and `X-Forwarded-Proto` only from the
proxies `FORWARDED_ALLOW_IPS` names, so the open-mode owner, per-owner limits and the request
log see each client's own address, and nobody else can claim one (docs/deploy.md).

`FORWARDED_ALLOW_IPS` is gunicorn's own setting, read as gunicorn reads it: addresses or
networks joined by commas, `*` for any peer, default `127.0.0.1,::1`; a peer with no IP
address (a Unix socket) is trusted. gunicorn itself uses it only for the scheme; this
middleware gives the client address the same rule, under gunicorn and `python -m web` alike.
Stdlib only: `web.settings` parses the setting with it in gunicorn's master.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")


@dataclass(frozen=True)
class TrustedProxies:
    """The peers whose forwarding headers are believed."""

    networks: tuple[IPNetwork, ...]
    any_peer: bool = False

    @classmethod
    def parse(cls, value: str) -> TrustedProxies:
        """`127.0.0.1,::1`, `10.0.0.0/8` or `*`; raises ValueError on anything gunicorn would refuse."""
        items = [item.strip() for item in value.split(",") if item.strip()]
        try:
            networks = tuple(ipaddress.ip_network(item) for item in items if item != "*")
        except ValueError as error:  # e.g. host bits set, as in 10.0.0.1/8
            raise ValueError(f"expected IP addresses or networks joined by commas, or * ({error})") from None
        return cls(networks, any_peer="*" in items)

    @functools.lru_cache(maxsize=4096)  # noqa: B019  # one instance per app, kept for its life
    def is_proxy(self, address: str) -> bool:
        """An address inside the named networks (never just by `*`: see `client_address`).
        Remembered per address: each request asks it of its peer."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def trusts_peer(self, peer: str) -> bool:
        """gunicorn's rule: `*`, a listed address, or a peer without one (a Unix socket)."""
        return self.any_peer or peer == "" or self.is_proxy(peer)

    def client_address(self, forwarded_for: str) -> str | None:
        """The client in a trusted peer's `X-Forwarded-For`: the nearest hop that is not itself
        a listed proxy, as nginx's `real_ip_recursive` finds it. Hops to its left were written
        by the client and prove nothing. None when that hop is not an IP address."""
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        while len(hops) > 1 and self.is_proxy(hops[-1]):
            hops.pop()
        try:
            return str(ipaddress.ip_address(hops[-1])) if hops else None
        except ValueError:
            return None


class ForwardedHeaders:
    """WSGI middleware: from a trusted peer, `REMOTE_ADDR` and `wsgi.url_scheme` come from its
    forwarding headers; from any other peer those headers are removed, so nothing downstream
    (Flask's `access_route` included) can be misled by them."""

    def __init__(self, app: WSGIApp, trusted: TrustedProxies) -> None:
        self.app = app
        self.trusted = trusted

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.trusted.trusts_peer(environ.get("REMOTE_ADDR", "")):
            self._believe(environ)
        else:
            for header in FORWARDED_HEADERS:
                environ.pop(header, None)
        return self.app(environ, start_response)

    def _believe(self, environ: dict[str, Any]) -> None:
        forwarded_for = environ.get("HTTP_X_FORWARDED_FOR")
        client = self.trusted.client_address(forwarded_for) if forwarded_for else None
        if client is not None:
            environ["REMOTE_ADDR"] = client
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", "").rsplit(",", 1)[-1].strip().lower()
        if scheme in ("http", "https"):
            environ["wsgi.url_scheme"] = scheme
