"""`ProgressService`: the hub, the jobs, the runner and the streams of one process, wired together."""

from __future__ import annotations

from dataclasses import dataclass

from . import defaults
from .hub import Hub
from .jobs import JobState
from .limits import OwnerLimits
from .memory_store import MemoryStore
from .registry import KindRegistry, default_registry
from .results import ResultStore
from .errors import ProgressError
from .runner import JobRunner
from .schedules import Schedule, Scheduler
from .redis_backend.address import RedisAddress
from .store import JobStore, QueueLimits
from .streams import StreamService


@dataclass(frozen=True)
class ServiceOptions:
    """Every knob of the service, defaulting to `progress.defaults`."""

    concurrency: int = defaults.JOBS_CONCURRENCY
    queue_size: int = defaults.JOBS_QUEUE_SIZE
    keep_s: float = defaults.JOBS_KEEP_S
    retry_ms: int = defaults.SSE_RETRY_MS
    heartbeat_s: float = defaults.SSE_HEARTBEAT_S
    results_dir: str | None = None
    """Where result files live; None: a temporary folder removed at exit (in-memory use)."""
    jobs_db: str = ":memory:"
    """Where jobs and their events are kept: an SQLite file, or `:memory:` for this process only."""
    limits: OwnerLimits = OwnerLimits()
    redis: RedisAddress | None = None
    """Keep jobs, queue and events in Redis, shared by several workers (`progress.redis_backend`)."""
    redis_outage_grace_s: float = defaults.REDIS_OUTAGE_GRACE_S
    """How long running jobs go on while Redis cannot be reached, before they end `interrupted`."""
    schedules: tuple[Schedule, ...] = ()
    """Periodic schedules besides those declared with the kinds (e.g. `cleanup`'s, from settings)."""
    url_prefix: str = ""
    """Where the web adapter serves the API: result URLs are made under it."""


class InvalidSchedule(ValueError):
    """A schedule names no kind or params its kind refuses; the message names the schedule."""


class ProgressService:
    """What a web adapter needs: submit and cancel jobs, open streams, report health, shut down."""

    def __init__(self, registry: KindRegistry | None = None,
                 options: ServiceOptions | None = None) -> None:
        options = options or ServiceOptions()
        self.registry = registry or default_registry
        self.hub = Hub()
        self.store = open_store(options)
        self.outage_errors = self.store.outage_errors
        """What the store raises when it can't be reached (nothing, for a local store)."""
        self.results = ResultStore(options.results_dir, options.url_prefix)
        self.runner = JobRunner(self.registry, self.hub, self.results, self.store,
                                concurrency=options.concurrency, keep_s=options.keep_s,
                                limits=options.limits)
        self.streams = StreamService(self.store, self.hub, retry_ms=options.retry_ms,
                                     heartbeat_s=options.heartbeat_s,
                                     streams_per_owner=options.limits.streams)
        self.scheduler = Scheduler(self._checked((*self.registry.schedules, *options.schedules)),
                                   self.runner, self.store)
        self.runner.start()
        self.scheduler.start()

    def _checked(self, schedules: tuple[Schedule, ...]) -> tuple[Schedule, ...]:
        """Every schedule's kind and params, checked at start rather than at its first run."""
        for schedule in schedules:
            try:
                self.registry.validate(schedule.kind, schedule.params)
            except ProgressError as error:
                raise InvalidSchedule(f"schedule {schedule.name}: {error.message}") from None
        return schedules

    @property
    def stopping(self) -> bool:
        return not self.runner.accepting

    def health(self) -> dict[str, object]:
        """The contract's `/healthz` body."""
        counts = self.store.counts()
        return {"status": "ok",
                "jobs": {"queued": counts[JobState.QUEUED], "running": counts[JobState.RUNNING]},
                "streams": self.streams.open_count()}

    def shutdown(self, grace: float = defaults.SHUTDOWN_GRACE_S) -> None:
        """SIGTERM: refuse new jobs, interrupt what is left after `grace`, end every stream."""
        self.scheduler.stop()
        self.runner.shutdown(grace)
        if not self.store.durable:  # the jobs are gone, so their files go too
            self.results.remove_all()


def open_store(options: ServiceOptions) -> JobStore:
    """Redis with `redis`; else memory, journaled to the SQLite file `jobs_db` unless `:memory:`."""
    limits = QueueLimits(options.concurrency, options.queue_size, options.limits.queued,
                         options.limits.running)
    if options.redis:
        from .redis_backend.store import connect
        return connect(options.redis, limits, options.redis_outage_grace_s)
    if options.jobs_db == ":memory:":
        return MemoryStore(limits)
    from .sqlite_journal import SqliteJournal
    return MemoryStore(limits, SqliteJournal(options.jobs_db))
