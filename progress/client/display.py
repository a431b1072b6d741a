"""Live terminal bars with rich: one for a followed job, one per unfinished job when watching all."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID,
                           TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn)

from .outcome import TERMINAL_STATES

STYLE_OF_STATE = {"succeeded": "green", "failed": "red", "cancelled": "yellow", "interrupted": "dark_orange"}


def new_progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[message]}", markup=False),
        console=console,
    )


def describe(job: dict[str, Any]) -> str:
    """Kind, id and state; the attempt once a job was retried, and when a delayed one starts."""
    line = f"{escape(job['kind'])} [dim]{job['id'][:8]}[/] {job['state']}"
    if job.get("retry_errors"):
        line += f" [dark_orange]attempt {job['attempt']} of {job['max_attempts']}[/]"
    if job["state"] == "queued" and job.get("run_at"):
        line += f" [dim]starts {escape(job['run_at'])}[/]"
    return line


def show_job(progress: Progress, task: TaskID, job: dict[str, Any]) -> None:
    """Move a task's bar to the job's progress; an unknown total shows a pulsing bar."""
    state = job["progress"]
    progress.update(task, description=describe(job), completed=state["done"], total=state["total"],
                    message=state["message"] or "")


def summary(job: dict[str, Any]) -> str:
    """One line for the end of a job, with its error when it has one."""
    style = STYLE_OF_STATE.get(job["state"], "default")
    line = f"[{style}]{escape(job['kind'])} job {job['id']} {job['state']}[/]"
    if job.get("error"):
        line += f": {escape(job['error'])}"
    for number, error in enumerate(job.get("retry_errors", ()), 1):
        line += f"\n  [dim]attempt {number} failed: {escape(error)}[/]"
    if job.get("result"):
        line += f" (result: {escape(job['result']['url'])})"
    return line


class Board:
    """Every unfinished job as a bar; a finished one leaves a summary line above the bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    @property
    def idle(self) -> bool:
        return not self.tasks

    def replace(self, jobs: list[dict[str, Any]]) -> None:
        for job_id in list(self.tasks):
            self.progress.remove_task(self.tasks.pop(job_id))
        for job in reversed(jobs):  # the snapshot is newest first; bars read oldest first
            if job["state"] not in TERMINAL_STATES:
                self.put(job)

    def put(self, job: dict[str, Any]) -> None:
        task = self.tasks.get(job["id"])
        if job["state"] in TERMINAL_STATES:
            if task is not None:
                self.progress.remove_task(self.tasks.pop(job["id"]))
                self.progress.console.print(summary(job))
            return
        if task is None:
            task = self.tasks[job["id"]] = self.progress.add_task(describe(job), total=None, message="")
        show_job(self.progress, task, job)
