"""`cleanup`: forget old finished jobs and remove old uploads and orphan result files.

Runs as a job, so it shows progress like any other; the server also starts one at
`CLEANUP_CRON` (a schedule, progress/schedules.py). It never touches an unfinished job:
the runner forgets finished jobs only, an upload an unfinished job names is kept,
and a result file is removed only when no kept job owns it.
"""

from __future__ import annotations

import os
import time

from ..context import JobContext
from ..errors import JobNotFound
from ..registry import job_kind
from ..runner import JobRunner
from .environment import config, job_runner
from .upload_store import upload_folder

REMOVE_CHUNK = 200
"""Files removed per step, between progress reports and cancel checks."""


@job_kind(
    "cleanup",
    title="Clean up",
    description="Forgets finished jobs and removes uploads and result files older than the "
                "retention time (CLEANUP_AFTER_S, or older_than_s); never touches a running job.",
    params={
        "older_than_s": {"type": ["number", "null"], "minimum": 0, "maximum": 365 * 24 * 3600,
                         "default": None,
                         "description": "Age in seconds beyond which things go; null: CLEANUP_AFTER_S."},
    },
)
def cleanup(ctx: JobContext, older_than_s: float | None) -> dict:
    runner = job_runner()
    age = config().cleanup_after_s if older_than_s is None else older_than_s
    cutoff = time.time() - age
    upload_files = ctx.run_blocking(_files_older_than, upload_folder(), cutoff)
    result_files = ctx.run_blocking(_files_older_than, runner.results.directory, cutoff)
    total = 1 + len(upload_files) + len(result_files)
    jobs = runner.forget_finished(age)
    ctx.report(1, total=total, message=f"{jobs} finished jobs forgotten")
    removed = {"jobs": jobs, "uploads": 0, "results": 0}
    done = 1
    for what, paths, keep in (("uploads", upload_files, _uploads_in_use),
                              ("results", result_files, _results_kept)):
        for start in range(0, len(paths), REMOVE_CHUNK):
            chunk = paths[start:start + REMOVE_CHUNK]
            kept = keep(runner, chunk)  # asked again per chunk: a job may have started meanwhile
            removed[what] += ctx.run_blocking(_remove, [path for path in chunk if path not in kept])
            done += len(chunk)
            ctx.report(done, message=f"{removed['uploads']} uploads and {removed['results']} "
                                     "result files removed")
    return {**removed, "older_than_s": age}


def _uploads_in_use(runner: JobRunner, paths: list[str]) -> set[str]:
    """Uploads an unfinished job names in its params; one still arriving is new, so never old."""
    named = {value for job in runner.store.unfinished() for value in job.params.values()
             if isinstance(value, str)}
    return {path for path in paths if os.path.basename(path) in named}


def _results_kept(runner: JobRunner, paths: list[str]) -> set[str]:
    """Result files of jobs still kept: the runner removes those itself when it forgets them."""
    kept = set()
    for path in paths:
        try:
            runner.get(os.path.basename(path))
        except JobNotFound:
            continue
        kept.add(path)
    return kept


def _files_older_than(folder: str, cutoff: float) -> list[str]:
    """Files in `folder` last changed before `cutoff` (seconds since the epoch)."""
    with os.scandir(folder) as entries:
        return [entry.path for entry in entries
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff]


def _remove(paths: list[str]) -> int:
    removed = 0
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            continue  # gone meanwhile, e.g. forgotten with its job
        removed += 1
    return removed
