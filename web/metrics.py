"""`/metrics`: the running server's figures for Prometheus, with the official `prometheus_client`.

Live figures (open streams, events, jobs, queue depth) are read from the service at
scrape time, so serving them costs nothing between scrapes. Job durations and the event
loop's lag are observed as they happen. The loop monitor starts with the first scrape,
so a server nobody watches pays nothing.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator

import greenlet
from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from progress.flask_adapter import service_of
from progress.access import EVERYONE
from progress.jobs import Job, JobState
from progress.loop_monitor import LoopMonitor
from progress.service import ProgressService

metrics = Blueprint("metrics", __name__)

EXTENSION_KEY = "progress_metrics"

DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, float("inf"))
LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, float("inf"))


class ServiceCollector(Collector):
    """Reads the hub, the job store and the runner at each scrape."""

    def __init__(self, service: ProgressService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        hub, store = self._service.hub, self._service.store
        coalesced, slow = hub.coalescing()
        yield GaugeMetricFamily("progress_streams_open", "Open SSE streams (job streams and /api/events).",
                                value=hub.subscriber_count)
        yield CounterMetricFamily("progress_events_published", "Events published by the hub.",
                                  value=hub.published)
        yield CounterMetricFamily("progress_events_coalesced", "Pending progress events replaced by a "
                                  "newer one because a client read slower than the job reported.",
                                  value=coalesced)
        yield GaugeMetricFamily("progress_streams_coalescing", "Open streams that have had progress "
                                "coalesced: the slow clients.", value=slow)
        yield GaugeMetricFamily("progress_queue_depth", "Queued jobs waiting for a free slot.",
                                value=store.waiting())
        jobs = GaugeMetricFamily("progress_jobs", "Jobs kept by the server, by state and kind.",
                                 labels=["state", "kind"])
        everything = store.newest_first(None, sum(store.counts().values()), EVERYONE)
        kept = Counter((job.state.value, job.kind) for job in everything)
        for kind in (kind.name for kind in self._service.registry):
            for state in JobState:
                jobs.add_metric([state.value, kind], kept[state.value, kind])
        yield jobs


class GreenletCollector(Collector):
    """Live greenlets, counted by walking every object the garbage collector tracks.

    That walk holds the event loop for tens of milliseconds at a few hundred streams and
    more with thousands, so it runs only when a scrape asks for it (`/metrics?greenlets=1`,
    as the soak does), never on a routine scrape.
    """

    def collect(self) -> Iterator[Metric]:
        live = sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet) and not obj.dead)
        yield GaugeMetricFamily("progress_greenlets", "Live greenlets in this worker (jobs, requests, "
                                "streams being written to or served without gunicorn's take-over); under "
                                "steady load it stays flat, or something leaks.", value=live)


class ServiceMetrics:
    """One app's registry: the live collector, the duration histogram and the loop monitor."""

    def __init__(self, service: ProgressService) -> None:
        self.registry = CollectorRegistry()  # no collect() to describe: a worker boots while Redis is away
        self.registry.register(ServiceCollector(service))
        self.durations = Histogram("progress_job_duration_seconds", "Running time of finished jobs, "
                                   "by kind and final state.", ["kind", "state"],
                                   buckets=DURATION_BUCKETS, registry=self.registry)
        self.lag = Histogram("progress_event_loop_lag_seconds", "How late a greenlet that sleeps 50 ms "
                             "wakes: the delay everything on the loop feels.",
                             buckets=LAG_BUCKETS, registry=self.registry)
        self.monitor = LoopMonitor(self.lag.observe)
        self.heap_registry = CollectorRegistry(auto_describe=True)
        self.heap_registry.register(GreenletCollector())
        service.runner.finish_listeners.append(self.job_finished)

    def job_finished(self, job: Job) -> None:
        if job.started_at is not None and job.finished_at is not None:
            self.durations.labels(job.kind, job.state.value).observe(job.finished_at - job.started_at)


def install_metrics(app: Flask) -> None:
    """Start observing `app`'s service; called by `create_app`, so the blueprint only declares its route."""
    app.extensions[EXTENSION_KEY] = ServiceMetrics(service_of(app))


@metrics.get("/metrics")
def scrape() -> Response:
    figures: ServiceMetrics = current_app.extensions[EXTENSION_KEY]
    figures.monitor.start()
    body = generate_latest(figures.registry)
    if request.args.get("greenlets") == "1":
        body += generate_latest(figures.heap_registry)
    return Response(body, content_type=CONTENT_TYPE_LATEST)
