"""`fetch`: call a list of URLs with a concurrency limit, timeouts and retries, progress per call.

Network I/O stays on the loop (gunicorn's gevent worker makes sockets cooperative),
one greenlet per URL, at most `concurrency` calling at once. The job's own greenlet
collects the calls as they end, reports each, and looks for cancel while it waits.
Only hosts on FETCH_ALLOWED_HOSTS are called, and only public addresses unless
FETCH_ALLOW_PRIVATE is set (see `guarded_http`).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import httpcore
from gevent.lock import BoundedSemaphore
from gevent.pool import Group
from gevent.queue import Empty, Queue

from ..context import JobContext
from ..registry import job_kind
from . import guarded_http
from .environment import config

RETRY_STATUSES = {429, 500, 502, 503, 504}
"""Answers that say "try again later"; any other status is the answer."""

RETRY_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.RemoteProtocolError)
"""Failures a second try may not meet: timeouts, refused or dropped connections, cut-off answers."""

BACKOFF_S = 0.25
"""Wait before the first retry; each later one waits twice as long."""

CANCEL_POLL_S = 0.2
"""How often the job looks for cancel while every call is still busy."""


class CallTimedOut(Exception):
    """A call took longer than `timeout_s` in all, however slowly its bytes kept coming."""


@job_kind(
    "fetch",
    title="Fetch URLs",
    description="GETs each URL (hosts on FETCH_ALLOWED_HOSTS only) with a concurrency limit, a "
                "timeout per call and retries with back-off; the result lists status, time and size.",
    params={
        "urls": {"type": "array", "minItems": 1, "maxItems": 1000,
                 "items": {"type": "string", "maxLength": 2000, "pattern": "^https?://"}},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": 50, "default": 4},
        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 120, "default": 10},
        "retries": {"type": "integer", "minimum": 0, "maximum": 5, "default": 2},
    },
    total=lambda params: len(params["urls"]),
)
def fetch(ctx: JobContext, urls: list[str], concurrency: int, timeout_s: float, retries: int) -> dict:
    settings = config()
    http = httpcore.ConnectionPool(network_backend=guarded_http.GuardedBackend(settings.fetch_allow_private),
                                   max_connections=concurrency)
    slots = BoundedSemaphore(concurrency)
    ended: Queue = Queue()
    calls = Group()
    index_of = {}
    for index, url in enumerate(urls):
        call = calls.spawn(_call, slots, http, url, settings.fetch_allowed_hosts, timeout_s, retries)
        call.rawlink(ended.put)
        index_of[call] = index
    results: list[dict[str, Any]] = [{}] * len(urls)
    failed = 0
    try:
        for done in range(1, len(urls) + 1):
            call = _next_ended(ctx, ended)
            result = results[index_of[call]] = call.get()  # a bug in a call fails the job, never hangs it
            failed += result["error"] is not None
            ctx.report(done, message=f"{done - failed} answered, {failed} failed")
    finally:
        calls.kill()
        http.close()
    first_error = next((f"{result['url']}: {result['error']}" for result in results if result["error"]), None)
    ctx.tally_items(failed, len(urls), first_error)
    retried = [result["url"] for result in results if result["attempts"] > 1]
    return {"results": results, "failed": failed, "retried": retried}


def _next_ended(ctx: JobContext, ended: Queue) -> gevent.Greenlet:
    while True:
        try:
            return ended.get(timeout=CANCEL_POLL_S)
        except Empty:
            ctx.check_cancelled()


def _call(slots: BoundedSemaphore, http: httpcore.ConnectionPool, url: str,
          allowed_hosts: tuple[str, ...], timeout_s: float, retries: int) -> dict[str, Any]:
    """One URL, tried up to `retries` more times with back-off; never raises for a failed call."""
    with slots:
        started = time.monotonic()
        outcome: dict[str, Any] = {"url": url, "status": None, "bytes": 0, "error": None}
        for attempt in range(1, retries + 2):
            outcome["attempts"] = attempt
            try:
                with gevent.Timeout(timeout_s, CallTimedOut(f"no full answer within {timeout_s:g} s")):
                    fetched = guarded_http.get(http, url, allowed_hosts, timeout_s)
            except guarded_http.NotAllowed as error:
                outcome["error"] = f"not allowed: {error}"
                break
            except (*RETRY_ERRORS, CallTimedOut) as error:
                outcome["error"] = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            else:
                outcome.update(status=fetched.status, bytes=fetched.size, error=None)
                if fetched.url != url:
                    outcome["final_url"] = fetched.url
                if fetched.status not in RETRY_STATUSES:
                    break
            if attempt <= retries:
                gevent.sleep(BACKOFF_S * 2 ** (attempt - 1))
        outcome["ms"] = round((time.monotonic() - started) * 1000, 1)
        return outcome
