"""`JobContext`: a job's only handle on the world: report, cancel, result, off-loop work."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
from gevent.event import Event as Signal

from .errors import AllItemsFailed, Cancelled
from .jobs import Job, ResultFile
from .results import ResultStore
from .wakeup import Wakeup

T = TypeVar("T")

_SAME = object()
"""`report()`'s default total: keep the one already known."""


class JobContext:
    """Passed as the first argument to every kind's function; lives in the job's greenlet."""

    def __init__(self, job: Job, on_progress: Callable[[Job], None], results: ResultStore,
                 cancel_requested: Signal) -> None:
        self.job = job
        self.log = logging.getLogger(f"progress.jobs.{job.kind}")
        self.result: ResultFile | None = None
        self.failed_items: tuple[int, int] | None = None
        """A batch's (failed, of), when some of its items failed (`tally_items`)."""
        self._on_progress = on_progress
        self._results = results
        self._cancel_requested = cancel_requested
        self._cancel_wakeup = Wakeup()
        cancel_requested.rawlink(lambda _: self._cancel_wakeup.set())

    @property
    def job_id(self) -> str:
        return self.job.id

    # Progress -----------------------------------------------------------------

    def report(self, done: int, total: Any = _SAME, message: str | None = None) -> None:
        """Publish progress: `done` of `total` (None: unknown). Raises `Cancelled` if cancelled.

        `done` never goes back: a smaller value keeps the larger one already reported.
        """
        self.check_cancelled()
        new_total = self.job.progress.total if total is _SAME else total
        if self.job.update_progress(done, new_total, message):
            self._on_progress(self.job)

    def tally_items(self, failed: int, of: int, first_error: str | None = None) -> None:
        """A batch kind's honest outcome: every item failed ends the job `failed`; some failed
        ends it `succeeded` with `failed_items` on the job, which the page shows as a warning."""
        if of and failed == of:
            detail = f"; the first: {first_error}" if first_error else ""
            raise AllItemsFailed(f"All {of} items failed{detail}")
        self.failed_items = (failed, of) if failed else None

    # Cancellation -------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancel_requested.is_set()

    def check_cancelled(self) -> None:
        """Raise `Cancelled` if someone cancelled the job; call it between chunks of work."""
        if self._cancel_requested.is_set():
            raise Cancelled()

    def sleep(self, seconds: float) -> None:
        """Wait without blocking the loop; wakes at once and raises `Cancelled` on cancel.

        It waits on a `Wakeup` the cancel signal sets, not on the signal itself: a timed
        wait on gevent's `Event` costs about 10 µs, and 200 jobs of 100 steps a second
        sleep 20,000 times a second (docs/performance.md). A `Wakeup` has one reader, so
        a second greenlet of the same job sleeping at the same time waits on the signal.
        """
        seconds = max(seconds, 0)
        if self._cancel_wakeup.waited_on:
            cancelled = self._cancel_requested.wait(seconds)
        else:
            cancelled = self._cancel_wakeup.wait(seconds)
        if cancelled:
            raise Cancelled()

    # Off the event loop -------------------------------------------------------

    def run_blocking(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking I/O or CPU-heavy code in gevent's threadpool and wait for it.

        The loop keeps serving streams meanwhile. On cancel this returns at once
        (raising `Cancelled`); the thread can't be stopped and its value is dropped.
        The function must not touch the job, the context or the hub: it returns a
        value and the job reports.
        """
        outcome = gevent.get_hub().threadpool.spawn(function, *args, **kwargs)
        gevent.wait([outcome, self._cancel_requested], count=1)
        if self._cancel_requested.is_set():
            raise Cancelled()
        return outcome.get()

    # Results ------------------------------------------------------------------

    def write_bytes(self, data: bytes, content_type: str = "application/octet-stream",
                    extension: str = "bin") -> None:
        """The job's result, served at `/api/jobs/<id>/result` once it succeeds."""
        self.result = self._results.write(self.job.id, data, content_type, extension)

    def write_text(self, text: str, content_type: str = "text/plain; charset=utf-8",
                   extension: str = "txt") -> None:
        self.write_bytes(text.encode("utf-8"), content_type, extension)

    def write_json(self, value: Any) -> None:
        self.write_bytes(json.dumps(value, ensure_ascii=False).encode("utf-8"),
                         "application/json", "json")

    def write_file(self, path: str, content_type: str, extension: str | None = None) -> None:
        """Take a file the job made (e.g. in `run_blocking`) as its result; it is moved."""
        extension = extension or os.path.splitext(path)[1].lstrip(".") or "bin"
        self.result = self._results.adopt(self.job.id, path, content_type, extension)
