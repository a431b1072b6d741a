"""HTTP GETs that cannot be turned against the server's own network (for `fetch`).

Two guards: the URL's host (and every redirect's) must be on the allow-list, and the
address actually connected to must be public unless private ones are allowed. The
second check happens inside httpcore's connect, on the address we resolved ourselves,
so a name that resolves differently a moment later (DNS rebinding) gains nothing;
TLS still checks the certificate against the host name.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore

from ..host_names import host_allowed

MAX_REDIRECTS = 5
MAX_BODY_BYTES = 10 * 1024 * 1024
"""Bytes read of a response: enough to time a download, never enough to fill memory."""

REDIRECT_STATUSES = {301, 302, 303, 307, 308}
USER_AGENT = b"flask-progress-fetch/1"


class NotAllowed(Exception):
    """The URL, a redirect or an address is off limits; retrying cannot help."""


@dataclass(frozen=True)
class Fetched:
    status: int
    size: int
    url: str
    """The last URL, after redirects."""


IPV4_IN_LAST_32_BITS = tuple(ipaddress.IPv6Network(prefix) for prefix in (
    "::ffff:0:0/96",    # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "64:ff9b::/96",     # NAT64, the well-known prefix
    "::/96",            # IPv4-compatible (deprecated)
))
"""IPv6 forms that stand for the IPv4 address in their last 32 bits: judged as that address."""

LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): where the IPv4 address sits in it is a local choice, so it is
never taken for a public address."""


def address_allowed(ip: str, allow_private: bool) -> bool:
    """Public unicast addresses only, unless private ones (loopback, LAN, link-local) are allowed.

    An IPv6 address wrapping an IPv4 one is judged by the IPv4 address too, so `::127.0.0.1`,
    `64:ff9b::7f00:1` or `2002:7f00:1::1` cannot reach loopback (issue 15).
    """
    address = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in prefix for prefix in IPV4_IN_LAST_32_BITS):
            address = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
        elif address in LOCAL_NAT64 and not allow_private:
            return False
        elif not all(address_allowed(str(end), allow_private) for end in tunnel_ends(address)):
            return False
    if address.is_multicast:
        return False
    return allow_private or address.is_global


def tunnel_ends(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses a 6to4 (2002::/16) or Teredo (2001::/32, server and client) address leads to."""
    if address.sixtofour is not None:
        return (address.sixtofour,)
    return address.teredo or ()


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to an address that passed `address_allowed`."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error.strerror}") from None
        addresses = [sockaddr[0] for *_, sockaddr in found]
        for ip in addresses:
            if address_allowed(ip, self.allow_private):
                return super().connect_tcp(ip, port, timeout, local_address, socket_options)
        raise NotAllowed(f"{host} resolves to {addresses[0]}, a private or reserved address")


def get(pool: httpcore.ConnectionPool, url: str, allowed_hosts: Iterable[str], timeout_s: float) -> Fetched:
    """GET `url`, following redirects that stay on allowed hosts; reads at most `MAX_BODY_BYTES`."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotAllowed(f"{url[:100]} is not an http or https URL")
        if not host_allowed(parts.hostname, allowed_hosts):
            raise NotAllowed(f"{parts.hostname} is not on FETCH_ALLOWED_HOSTS")
        timeouts = {"connect": timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
        with pool.stream("GET", url, headers=[(b"User-Agent", USER_AGENT)],
                         extensions={"timeout": timeouts}) as response:
            location = next((value for name, value in response.headers if name.lower() == b"location"), None)
            if response.status in REDIRECT_STATUSES and location:
                url = urljoin(url, location.decode("latin-1"))
                continue
            return Fetched(response.status, _drain(response.iter_stream()), url)
    raise NotAllowed(f"more than {MAX_REDIRECTS} redirects")


def _drain(chunks: Iterable[bytes]) -> int:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return min(size, MAX_BODY_BYTES)
