"""`cleanup`: forget old finished jobs and remove old uploads, orphan result files, `report`'s
data sets and `email`'s outbox files.

Runs as a job, so it shows progress like any other; the server also starts one at
`CLEANUP_CRON` (a schedule, progress/schedules.py). It never touches an unfinished job:
the runner forgets finished jobs only, an upload an unfinished job names is kept,
a result file is removed only when no kept job owns it, and a data set or outbox file
an unfinished job reads or writes stays. It acts on every owner's data, so only admins
may start it (issue 15).
"""

from __future__ import annotations

import os
import time

from ..context import JobContext
from ..errors import JobNotFound
from ..registry import job_kind
from ..runner import JobRunner
from .environment import config, job_runner
from .report import data_set_file
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
    admin_only=True,  # it removes every owner's old jobs and files
)
def cleanup(ctx: JobContext, older_than_s: float | None) -> dict:
    runner = job_runner()
    settings = config()
    age = settings.cleanup_after_s if older_than_s is None else older_than_s
    cutoff = time.time() - age
    old = {
        "uploads": (ctx.run_blocking(_uploads_older_than, cutoff), _uploads_in_use),
        "results": (ctx.run_blocking(_files_older_than, runner.results.directory, cutoff), _results_kept),
        "report_data": (ctx.run_blocking(_files_older_than, settings.folder("report"), cutoff), _data_sets_in_use),
        "outbox": (ctx.run_blocking(_files_older_than, settings.folder("outbox"), cutoff), _outbox_in_use),
    }
    total = 1 + sum(len(paths) for paths, _ in old.values())
    jobs = runner.forget_finished(age)
    ctx.report(1, total=total, message=f"{jobs} finished jobs forgotten")
    removed = {"jobs": jobs, **{what: 0 for what in old}}
    done = 1
    for what, (paths, keep) in old.items():
        for start in range(0, len(paths), REMOVE_CHUNK):
            chunk = paths[start:start + REMOVE_CHUNK]
            kept = keep(runner, chunk)  # asked again per chunk: a job may have started meanwhile
            removed[what] += ctx.run_blocking(_remove, [path for path in chunk if path not in kept])
            done += len(chunk)
            ctx.report(done, message=f"{sum(removed[name] for name in old)} old files removed")
    return {**removed, "older_than_s": age}


def _uploads_in_use(runner: JobRunner, paths: list[str]) -> set[str]:
    """Uploads an unfinished job names in its params; one still arriving is new, so never old."""
    named = {value for job in runner.store.unfinished() for value in job.params.values()
             if isinstance(value, str)}
    return {path for path in paths if os.path.basename(path) in named}


def _data_sets_in_use(runner: JobRunner, paths: list[str]) -> set[str]:
    """`report` data sets an unfinished report job reads or is making (their files share its name)."""
    names = {data_set_file(job.params["rows"]) for job in runner.store.unfinished() if job.kind == "report"}
    return {path for path in paths if any(os.path.basename(path).startswith(name) for name in names)}


def _outbox_in_use(runner: JobRunner, paths: list[str]) -> set[str]:
    """Messages an unfinished `email` job wrote: `<job id>-<n>.eml` (`mailers.OutboxMailer`)."""
    unfinished = {job.id for job in runner.store.unfinished()}
    return {path for path in paths if os.path.basename(path).rpartition("-")[0] in unfinished}


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


def _uploads_older_than(cutoff: float) -> list[str]:
    """Uploads last changed before `cutoff`, in every owner's folder (and any from before uploads had owners)."""
    folder = upload_folder()
    with os.scandir(folder) as entries:
        owners = [entry.path for entry in entries if entry.is_dir(follow_symlinks=False)]
    return [path for place in (folder, *owners) for path in _files_older_than(place, cutoff)]


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
