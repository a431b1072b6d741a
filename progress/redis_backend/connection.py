"""Connecting to Redis (one URL, or the primary Sentinel names), and checking at start that it answers.

Commands share one pool per worker, of at most `RedisAddress.max_connections`: a caller waits
for a free connection (`POOL_WAIT_S` at most), so a burst of stream opens is load that queues,
never an error that ends streams (issue 14). Past the wait the call raises `PoolExhausted`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from queue import Empty, LifoQueue
from typing import Any

from redis import BlockingConnectionPool, Redis, RedisError
from redis.connection import SSLConnection, parse_url
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel, SentinelConnectionPool

from ..errors import StoreBusy
from ..rare_log import RareWarning
from .address import RedisAddress, parse_sentinels

BUSY = RareWarning(logging.getLogger("progress.store"),
                   "all %d pooled Redis connections stayed busy for %g s, so calls were refused with 503 "
                   "(a request waits for one; raise REDIS_MAX_CONNECTIONS if this lasts)")

CONNECT_TIMEOUT_S = 2.0
"""An unreachable host fails fast instead of holding a request."""

COMMAND_TIMEOUT_S = 5.0
"""No command waits longer on a stalled Redis; a request then gets an error, never a hang."""

READER_BLOCK_MS = 5000
"""The reader's XREAD waits this long for events before asking again; its socket waits longer."""

POOL_WAIT_S = 10.0
"""Longest wait for a free pooled connection; past it the call is refused (503 `unavailable`)."""

BUSY_RETRY_AFTER_S = 2
"""`Retry-After` of a call refused for want of a free connection: the queue clears in moments."""


class RedisUnreachable(ConnectionError):
    """Redis did not answer at start; the message says where and why."""


class PoolExhausted(StoreBusy, RedisConnectionError):
    """Every pooled connection stayed busy for `POOL_WAIT_S`. A `RedisError` like any failed call,
    and a `StoreBusy`, so no one takes it for a lost Redis."""


class _WaitingQueue(LifoQueue):
    """The pool's free list: a wait that runs out raises `PoolExhausted`, which redis-py's
    `BlockingConnectionPool` lets through (it would turn `Empty` into a plain ConnectionError)."""

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        try:
            return super().get(block, timeout)
        except Empty:
            BUSY.say(self.maxsize, timeout)
            raise PoolExhausted("The job store is busy right now; try again shortly.",
                                retry_after=BUSY_RETRY_AFTER_S) from None


class _WaitingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool (it asks the sentinels where the primary is on every new connection) with
    the blocking pool's bounded wait; redis-py ships the two only apart."""


@dataclass(frozen=True)
class Connection:
    """The clients of one process: one pool for commands, one connection for the reader."""

    address: RedisAddress
    prefix: str = "progress:"

    def client(self) -> Redis:
        return self._client(COMMAND_TIMEOUT_S, self.address.max_connections)

    def reader_client(self) -> Redis:
        return self._client(READER_BLOCK_MS / 1000 + COMMAND_TIMEOUT_S, 1)

    def key(self, name: str) -> str:
        return self.prefix + name

    def _client(self, socket_timeout: float, max_connections: int) -> Redis:
        options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT_S, "socket_timeout": socket_timeout,
                                   "retry": one_retry(), "max_connections": max_connections,
                                   "timeout": POOL_WAIT_S, "queue_class": _WaitingQueue}
        if not self.address.sentinels:
            return Redis.from_pool(BlockingConnectionPool.from_url(self.address.url, **options))
        sentinel = Sentinel(list(self.address.sentinels), sentinel_kwargs={  # one try each: the next one is asked
            "socket_connect_timeout": CONNECT_TIMEOUT_S, "socket_timeout": COMMAND_TIMEOUT_S,
            "retry": Retry(NoBackoff(), 0)})
        return sentinel.master_for(self.address.master, connection_pool_class=_WaitingSentinelPool,
                                   **options, **_primary_options(self.address.url))


def one_retry() -> Retry:
    """A pooled connection that Redis dropped (it restarted) is tried once more, at once, on a
    new one. Nothing else is retried: an outage shows at once rather than after redis-py's ten
    tries with back-off, and a timed-out commit, which Redis may have applied, is not sent twice."""
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))


def _primary_options(url: str | None) -> dict[str, Any]:
    """User, password, database and TLS of a URL given beside the sentinels; not its host."""
    if not url:
        return {}
    options = parse_url(url)
    kept = {name: options[name] for name in ("username", "password", "db") if name in options}
    if options.get("connection_class") is SSLConnection:
        kept["ssl"] = True
    return kept


def check_reachable(client: Redis, address: RedisAddress) -> None:
    """Raise `RedisUnreachable` if Redis won't answer; redis-py's message names the address."""
    try:
        client.ping()
    except MasterNotFoundError:  # redis-py's message holds a whole client's repr per sentinel
        sentinels = ", ".join(f"{host}:{port}" for host, port in address.sentinels)
        raise RedisUnreachable(f"cannot reach Redis (no sentinel of {sentinels} answered with "
                               f"a primary named {address.master!r})") from None
    except RedisError as error:
        raise RedisUnreachable(f"cannot reach Redis ({error})") from None


def main(argv: list[str]) -> int:
    """`python -m progress.redis_backend.connection [--sentinels H:P,… --master NAME] [URL]`:
    gunicorn's master checks Redis in a child process, so that redis-py (which imports asyncio)
    is never imported before the workers' gevent patching."""
    parser = argparse.ArgumentParser(prog="progress.redis_backend.connection")
    parser.add_argument("--sentinels", default="")
    parser.add_argument("--master", default="")
    parser.add_argument("url", nargs="?", default="")
    given = parser.parse_args(argv[1:])
    address = RedisAddress(given.url or None, parse_sentinels(given.sentinels) if given.sentinels else (),
                           given.master or None)
    try:
        check_reachable(Connection(address).client(), address)
    except RedisUnreachable as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
