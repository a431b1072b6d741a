"""`build`: the service's parts on Redis, and the result folder every worker shares."""

from __future__ import annotations

import hashlib
import os
import tempfile
from typing import TYPE_CHECKING

from redis import RedisError

from ..registry import KindRegistry
from ..results import ResultStore
from .bus import RedisHub
from .connection import Connection, Outage, check_reachable
from .monitor import Monitor
from .runner import RedisJobRunner
from .streams import RedisStreams

if TYPE_CHECKING:
    from ..service import ServiceOptions

OUTAGE_ERRORS: tuple[type[Exception], ...] = (RedisError,)
"""What a request may meet while Redis is down; the web layer answers it without a traceback."""


class SharedResultStore(ResultStore):
    """Result files in a folder every worker reads (RESULTS_DIR; a shared mount across hosts).

    Files go with their jobs at retention; one worker stopping removes none, since the
    other workers still serve them.
    """

    def remove_all(self) -> None:
        """Kept: the folder belongs to the deployment, not to this worker."""


def shared_results_dir(url: str) -> str:
    """Without RESULTS_DIR, workers of one host meet in a folder named after the Redis URL."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"progress-results-{digest}")


def build(url: str, registry: KindRegistry, options: ServiceOptions) -> tuple[RedisHub, SharedResultStore,
                                                                      RedisJobRunner, RedisStreams]:
    """The service's parts on Redis; raises `RedisUnreachable` if Redis won't answer."""
    connection = Connection(url)
    client = connection.client()
    check_reachable(client)
    outage = Outage()
    hub = RedisHub(connection, outage)
    results = SharedResultStore(options.results_dir or shared_results_dir(url))
    runner = RedisJobRunner(registry, hub, results, client, connection, outage,
                            concurrency=options.concurrency, queue_size=options.queue_size,
                            keep_s=options.keep_s, limits=options.limits)
    streams = RedisStreams(runner, hub, runner.scripts, connection, outage, retry_ms=options.retry_ms,
                           heartbeat_s=options.heartbeat_s, streams_per_owner=options.limits.streams)
    monitor = Monitor(runner)
    hub.start()
    monitor.start()
    runner.start()
    runner.on_shutdown = monitor.stop
    return hub, results, runner, streams
