"""Result files on disk: one file per succeeded job, removed with the job."""

from __future__ import annotations

import os
import shutil
import tempfile

import gevent

from .jobs import ResultFile

INLINE_WRITE_MAX_BYTES = 64 * 1024
"""Results up to this size are written on the loop: a small write to the page cache takes
microseconds, while a trip through the threadpool waits for a thread and the GIL (200 jobs
ending together queued 200 trips and ended about 170 ms later, docs/performance.md)."""


class ResultStore:
    """A folder of result files named by job id; disk use is bounded by job retention."""

    def __init__(self, directory: str | None = None, url_prefix: str = "") -> None:
        self.directory = directory or tempfile.mkdtemp(prefix="progress-results-")
        self.url_prefix = url_prefix
        """Where the API is served: each result's URL is made under it."""
        os.makedirs(self.directory, exist_ok=True)

    def _path(self, job_id: str) -> str:
        return os.path.join(self.directory, job_id)

    def write(self, job_id: str, data: bytes, content_type: str, extension: str) -> ResultFile:
        """Store bytes; a large result is written in gevent's threadpool so it never stalls the loop."""
        path = self._path(job_id)
        if len(data) <= INLINE_WRITE_MAX_BYTES:
            _write_file(path, data)
        else:
            gevent.get_hub().threadpool.apply(_write_file, (path, data))
        return ResultFile(path, content_type, extension, len(data), self.url_prefix)

    def adopt(self, job_id: str, source: str, content_type: str, extension: str) -> ResultFile:
        """Move a file the job produced into the store (a copy when it is on another disk)."""
        path = self._path(job_id)
        gevent.get_hub().threadpool.apply(shutil.move, (source, path))
        return ResultFile(path, content_type, extension, os.path.getsize(path), self.url_prefix)

    def remove(self, result: ResultFile) -> None:
        try:
            os.remove(result.path)
        except FileNotFoundError:
            pass

    def remove_all(self) -> None:
        """At shutdown: an in-memory server forgets its jobs, so their files go too."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _write_file(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
