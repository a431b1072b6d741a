"""Host names matched against a list of allowed ones: `fetch`'s targets and the `Host` a
request names (issue 15) follow one rule."""

from __future__ import annotations

from collections.abc import Iterable


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """`*` allows any host, `*.example.com` its subdomains, any other entry that host exactly."""
    host = host.lower().rstrip(".")
    return any(entry == "*" or host == entry or (entry.startswith("*.") and host.endswith(entry[1:]))
               for entry in allowed)
