"""Connecting to Redis, and checking at start that it answers."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from redis import ConnectionError as RedisConnectionError
from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry

CONNECT_TIMEOUT_S = 2.0
"""An unreachable host fails fast instead of holding a request."""

COMMAND_TIMEOUT_S = 5.0
"""No command waits longer on a stalled Redis; a request then gets an error, never a hang."""

READER_BLOCK_MS = 5000
"""The reader's XREAD waits this long for events before asking again; its socket waits longer."""


class RedisUnreachable(ConnectionError):
    """Redis did not answer at start; the message says where and why."""


@dataclass(frozen=True)
class Connection:
    """The clients of one process: one pool for commands, one connection for the reader."""

    url: str
    prefix: str = "progress:"

    def client(self) -> Redis:
        return Redis.from_url(self.url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                              socket_timeout=COMMAND_TIMEOUT_S, retry=one_retry())

    def reader_client(self) -> Redis:
        return Redis.from_url(self.url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                              socket_timeout=READER_BLOCK_MS / 1000 + COMMAND_TIMEOUT_S, retry=one_retry())

    def key(self, name: str) -> str:
        return self.prefix + name


def one_retry() -> Retry:
    """A pooled connection that Redis dropped (it restarted) is tried once more, at once, on a
    new one. Nothing else is retried: an outage shows at once rather than after redis-py's ten
    tries with back-off, and a timed-out commit, which Redis may have applied, is not sent twice."""
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))


def check_reachable(client: Redis) -> None:
    """Raise `RedisUnreachable` if Redis won't answer; redis-py's message names the address."""
    try:
        client.ping()
    except RedisError as error:
        raise RedisUnreachable(f"cannot reach Redis ({error})") from None


def main(argv: list[str]) -> int:
    """`python -m progress.redis_backend.connection URL`: gunicorn's master checks Redis in a
    child process, so that redis-py (which imports asyncio) is never imported before the
    workers' gevent patching."""
    try:
        check_reachable(Connection(argv[1]).client())
    except RedisUnreachable as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
