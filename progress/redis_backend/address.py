"""Where the deployment's Redis is: one URL, or the primary that Redis Sentinel names.

Stdlib only: `web.settings` builds it in gunicorn's master, which must not import redis-py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .. import defaults

_SENTINEL = re.compile(r"^(\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.\-]+)):(?P<port>\d{1,5})$")
_MASTER_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True)
class RedisAddress:
    """A URL alone, or sentinels and the name they monitor the primary under (with a URL giving
    only user, password, database and TLS: the sentinels say where the primary is now)."""

    url: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str | None = None
    max_connections: int = defaults.REDIS_MAX_CONNECTIONS

    @property
    def setting(self) -> str:
        """The variable a start-up failure names."""
        return "REDIS_SENTINELS" if self.sentinels else "REDIS_URL"

    def arguments(self) -> list[str]:
        """Command-line form, for the start-up check in a child process (`connection.main`)."""
        sentinels = ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.sentinels)
        return ["--sentinels", sentinels, "--master", self.master or "", self.url or ""]


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` (IPv6 as `[::1]:26379`) into pairs; ValueError says what is wrong."""
    pairs = []
    for item in (part.strip() for part in value.split(",")):
        found = _SENTINEL.match(item)
        if not found or not 1 <= int(found["port"]) <= 65535:
            raise ValueError(f"expected host:port pairs joined by commas, {item!r} is not one")
        pairs.append((found["ipv6"] or found["host"], int(found["port"])))
    return tuple(pairs)


def parse_master_name(value: str) -> str:
    """The name the sentinels know the primary by (`sentinel monitor <name> …`)."""
    name = value.strip()
    if not _MASTER_NAME.match(name):
        raise ValueError("expected the name the sentinels monitor the primary under "
                         "(letters, digits, '.', '-' and '_')")
    return name
