"""The command line: `start`, `follow`, `watch`, `cancel`, `result` and `kinds`."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from .api import ProgressClient, ServerRefused, Unreachable
from .display import Board, new_progress, show_job, summary
from .outcome import EXIT_OF_STATE, TERMINAL_STATES, ExitCode
from .params import files_to_upload, parse_params

DEFAULT_URL = "http://127.0.0.1:8000"

DASHED_JOB_ID = re.compile(r"^-[A-Za-z0-9_-]{21}$")
"""A job id is 22 characters of URL-safe base64, so one in 32 starts with a dash."""

EPILOG = """exit status: 0 succeeded, 1 failed, 2 bad command line, 3 cancelled,
4 interrupted (the server stopped), 5 refused by the server, 6 server unreachable,
130 stopped with Ctrl-C (the job goes on)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m progress.client", epilog=EPILOG,
                                     description="Start and follow background jobs on a progress server.")
    parser.add_argument("--url", default=os.environ.get("PROGRESS_URL", DEFAULT_URL),
                        help=f"the server (default: $PROGRESS_URL or {DEFAULT_URL})")
    parser.add_argument("--give-up", type=float, default=60.0, metavar="SECONDS",
                        help="stop retrying after this long without a connection (default 60)")
    commands = parser.add_subparsers(dest="command", required=True)

    start = commands.add_parser("start", help="start a job and follow it to its end")
    start.add_argument("kind")
    start.add_argument("params", nargs="*", metavar="NAME=VALUE",
                       help="params, typed by the kind's schema; a list param takes one NAME=VALUE per item "
                            "(recipients=ann@example.com recipients=bob@example.com) or a JSON list "
                            """(urls='["https://example.com"]')""")
    start.add_argument("--detach", action="store_true", help="print the job id and exit at once")
    start.add_argument("-o", "--output", metavar="PATH", help="save the result here (a folder, a file, or -)")

    follow = commands.add_parser("follow", help="follow one job to its end")
    follow.add_argument("job_id")
    follow.add_argument("-o", "--output", metavar="PATH", help="save the result here (a folder, a file, or -)")

    watch = commands.add_parser("watch", help="show every job live")
    watch.add_argument("--until-idle", action="store_true", help="exit once no job is queued or running")

    cancel = commands.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job_id")

    result = commands.add_parser("result", help="download a succeeded job's result")
    result.add_argument("job_id")
    result.add_argument("-o", "--output", metavar="PATH", default=".", help="a folder, a file, or - (default .)")

    commands.add_parser("kinds", help="list the job kinds and their params")
    return parser


def shield_job_ids(argv: list[str]) -> list[str]:
    """argparse takes a word starting with `-` for an option: move such job ids after `--`."""
    if "--" in argv or not any(DASHED_JOB_ID.match(word) for word in argv):
        return argv
    return [word for word in argv if not DASHED_JOB_ID.match(word)] + \
        ["--", *(word for word in argv if DASHED_JOB_ID.match(word))]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(shield_job_ids(sys.argv[1:] if argv is None else argv))
    console = Console(stderr=True, highlight=False)
    client = ProgressClient(args.url, give_up_s=args.give_up)
    try:
        return COMMANDS[args.command](client, args, console)
    except ServerRefused as error:
        console.print(f"[red]The server refused ({error.code}):[/] {escape(error.message)}")
        return ExitCode.REFUSED
    except Unreachable as error:
        console.print(f"[red]{escape(str(error))}[/]")
        return ExitCode.UNREACHABLE
    except KeyboardInterrupt:
        console.print("Stopped watching; the jobs go on.")
        return ExitCode.STOPPED
    finally:
        client.close()


def start(client: ProgressClient, args: argparse.Namespace, console: Console) -> int:
    kinds = {kind["name"]: kind for kind in client.kinds()}
    schema = kinds.get(args.kind, {}).get("params", {})  # an unknown kind: the server says so
    try:
        params = parse_params(args.params, schema)
    except ValueError as error:
        console.print(f"[red]{escape(str(error))}[/]")
        return ExitCode.USAGE
    files = files_to_upload(params, schema)
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        console.print(f"[red]No such file: {escape(', '.join(missing))}[/]")
        return ExitCode.USAGE
    for name, path in files.items():
        params[name] = upload(client, path, schema["properties"][name], console)["id"]
    job = client.start(args.kind, params)
    if args.detach:
        print(job["id"])
        return ExitCode.SUCCEEDED
    console.print(f"Started {escape(job['kind'])} job {job['id']}")
    return follow_job(client, job, args.output, console)


def upload(client: ProgressClient, path: Path, spec: dict[str, Any], console: Console) -> dict[str, Any]:
    """A local file sent for an upload param, with a bar in bytes."""
    with new_progress(console) as progress:
        task = progress.add_task(f"uploading {escape(path.name)}", total=path.stat().st_size, message="")
        sent = client.upload(path, spec.get("contentMediaType", "application/octet-stream"),
                             lambda size: progress.advance(task, size))
    console.print(f"Uploaded {escape(path.name)} ({sent['size']} bytes)")
    return sent


def follow(client: ProgressClient, args: argparse.Namespace, console: Console) -> int:
    return follow_job(client, client.job(args.job_id), args.output, console)


def follow_job(client: ProgressClient, job: dict[str, Any], output: str | None, console: Console) -> int:
    """A live bar from the job's stream until its terminal state; the exit status says which."""
    with new_progress(console) as progress:
        task = progress.add_task("", total=None, message="")
        show_job(progress, task, job)

        def reconnecting(reason: str) -> None:
            progress.update(task, message=f"reconnecting: {reason}")

        for event in client.events(f"/api/jobs/{job['id']}/events", on_reconnect=reconnecting):
            job = json.loads(event.data)
            show_job(progress, task, job)
            if job["state"] in TERMINAL_STATES:
                break
    if job["state"] not in TERMINAL_STATES:  # the server said 204: we had seen the end
        job = client.job(job["id"])
    console.print(summary(job))
    if output and job["state"] == "succeeded":
        saved = client.download(job["id"], sys.stdout.buffer if output == "-" else Path(output))
        console.print(f"Result saved to {escape(saved)}")
    return EXIT_OF_STATE.get(job["state"], ExitCode.FAILED)


def watch(client: ProgressClient, args: argparse.Namespace, console: Console) -> int:
    with new_progress(console) as progress:
        board = Board(progress)
        for event in client.events("/api/events"):
            data = json.loads(event.data)
            if event.event == "snapshot":
                board.replace(data["jobs"])
            else:
                board.put(data)
            if args.until_idle and board.idle:
                break
    return ExitCode.SUCCEEDED


def cancel(client: ProgressClient, args: argparse.Namespace, console: Console) -> int:
    job = client.cancel(args.job_id)
    console.print(f"Cancelling {escape(job['kind'])} job {job['id']} (it is {job['state']})")
    return ExitCode.SUCCEEDED


def result(client: ProgressClient, args: argparse.Namespace, console: Console) -> int:
    saved = client.download(args.job_id, sys.stdout.buffer if args.output == "-" else Path(args.output))
    console.print(f"Result saved to {escape(saved)}")
    return ExitCode.SUCCEEDED


def kinds(client: ProgressClient, args: argparse.Namespace, console: Console) -> int:
    for kind in client.kinds():
        params = ", ".join(f"{name}: {spec.get('type', 'any')}" + (f" = {json.dumps(spec['default'])}" if "default" in spec else "")
                           for name, spec in kind["params"].get("properties", {}).items())
        print(f"{kind['name']}({params})  {kind['description']}")
    return ExitCode.SUCCEEDED


COMMANDS = {"start": start, "follow": follow, "watch": watch, "cancel": cancel, "result": result, "kinds": kinds}
