"""Soak (issue #8): ten minutes of churn and abuse against one worker with API tokens on, then SIGTERM.

    .venv/bin/python -m bench.soak --minutes 10 --out bench/results/soak.json

Three owners run a steady flow of jobs (sleeps of various lengths, greet, a small report)
and cancel some while queued or running; SSE streams on `/api/events` and on job streams
open and drop at random (some resume with `Last-Event-ID`, some read slowly, a few never
read); an admin holds the ledger stream and scrapes `/metrics` (RSS from /proc); a fourth
owner, the abuser, goes past every per-owner limit each round. Then the load stops, every
job ends, long jobs and fresh streams start, and the server gets SIGTERM. The exit status
is 1 when a hard check fails: events lost, a 5xx, a 429 without `Retry-After`, a stream
not told at shutdown, an error in the server's log. Growth and timings are reported.
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
import statistics
import sys
import tempfile

from . import servers
from .report import arguments, print_table, save
from .soak_actors import Soak
from .soak_checks import slope_per_minute
from .soak_plan import ABUSER, ADMIN, OWNERS, SMOKE, Plan
from .sse_client import run

SHUTDOWN_PROMISE_S = 5.0
"""The contract: within 5 s of SIGTERM every stream is told and closed, and the worker exits."""


async def soak_once(server: servers.BenchServer, plan: Plan, tokens: dict[str, str],
                    seed: int) -> tuple[Soak, dict[str, object]]:
    soak = Soak(server, plan, tokens, seed)
    try:
        return soak, await soak.run()
    finally:
        await soak.close()


def token_file(folder: str, tokens: dict[str, str]) -> str:
    path = os.path.join(folder, "tokens")
    with open(path, "w", encoding="utf-8") as file:
        for owner, token in tokens.items():
            file.write(f"{owner} {token}{' admin' if owner == ADMIN else ''}\n")
    return path


def growth(samples: list[dict[str, object]], key: str, warm_s: float) -> tuple[float, float, int]:
    """Slope per minute and late-third minus early-third median of `key` after `warm_s`, and the points used."""
    points = [(float(s["t_s"]), float(s[key])) for s in samples if s["phase"] == "load" and s["t_s"] >= warm_s]
    third = len(points) // 3
    if third < 1:
        return slope_per_minute(points), math.nan, len(points)
    change = statistics.median(v for _, v in points[-third:]) - statistics.median(v for _, v in points[:third])
    return slope_per_minute(points), change, len(points)


def verdicts(soak: Soak, result: dict[str, object], log: str, plan: Plan) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []

    def check(name: str, figure: object, ok: bool | str | None) -> None:
        """`ok`: True or False for a hard check, None for a figure, a word for a timing (never a failure)."""
        verdict = ok if isinstance(ok, str) else "note" if ok is None else "ok" if ok else "FAIL"
        rows.append({"check": name, "figure": figure, "verdict": verdict})

    counts, tally, losses = soak.counts, soak.tally, soak.losses
    check("streams opened (with resumes; slow readers)",
          f"{counts['stream opens']:,} ({counts['resumes']:,} resumed; {counts['slow readers']:,} slow)", None)
    check("jobs by kind", ", ".join(f"{k[5:]} {n:,}" for k, n in sorted(counts.items()) if k.startswith("jobs ")), None)
    check("cancels by the job's state when asked",
          ", ".join(f"{k[11:-5]} {n:,}" for k, n in sorted(counts.items()) if k.startswith("cancels of ")), None)
    check("terminal events lost", f"{losses.lost} of {losses.owed:,} owed to {losses.streams:,} streams",
          losses.lost == 0 and losses.out_of_order == 0)
    check("ledger against the server's list", f"{result['unconfirmed']} disagree, "
          f"{counts['confirmed by the list']:,} agree", result["unconfirmed"] == 0 and bool(result["jobs_all_ended"]))
    limited = ", ".join(f"{owner} {reason} {n:,}" for (owner, reason), n in sorted(tally.limited.items()))
    abuser_hit = {reason for (owner, reason) in tally.limited if owner == ABUSER}
    check("429s by owner and limit", limited or "none", {"streams", "queued", "rate"} <= abuser_hit)
    check("429s without Retry-After", tally.limited_without_retry_after, tally.limited_without_retry_after == 0)
    check("5xx answers", f"{tally.count(500, 599)} {tally.server_errors[:3]}", tally.count(500, 599) == 0)
    errors = [line for line in log.splitlines() if "Traceback" in line or " ERROR " in line or "[ERROR]" in line]
    check("errors in the server log", f"{len(errors)} {errors[:3]}", not errors)
    check("transport errors (client side)", dict(tally.transport_errors) or "none", None)
    check("streams cut off, /api/events ended, by the server under load",
          f"{counts['streams cut off by the server']}, {counts['/api/events streams ended by the server']}", None)
    warm_s = min(plan.keep_s + 30, plan.load_s / 3)
    for key, unit in (("rss_mib", "MiB"), ("greenlets", ""), ("jobs_kept", "")):
        slope, change, used = growth(soak.samples, key, warm_s)
        check(f"{key} after {warm_s:.0f} s: slope/min, late-early", f"{slope:+.3g}{unit}/min, "
              f"{change:+.3g}{unit} ({used} samples)", None)
    check("slowest /metrics scrape", f"{max(float(s['scrape_ms']) for s in soak.samples):.0f} ms", None)
    check("streams open at SIGTERM (job streams)", f"{result['open_at_sigterm']} ({result['job_streams_at_sigterm']})", None)
    check("worker, master exit after SIGTERM", f"{result['worker_exit_s']:.2f} s, {result['master_exit_s']:.2f} s",
          "within 5 s" if result["master_exit_s"] <= SHUTDOWN_PROMISE_S else "over 5 s")
    check("last stream end after SIGTERM", f"{result['last_stream_end_s']:.2f} s", None)
    check("streams not told (interrupted or ': server stopping') / not ended",
          f"{result['streams_not_told']} / {result['streams_not_ended']} {result['untold_examples']}",
          result["streams_not_told"] == 0 and result["streams_not_ended"] == 0)
    check("last act's jobs as their streams saw them", result["last_act_job_states"], None)
    check("frozen readers that found ': server stopping' when they read", f"{result['frozen_told']} of {result['frozen']}", None)
    return rows


def main() -> None:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the load phase")
    parser.add_argument("--seed", type=int, default=8, help="seed of every random choice")
    options = parser.parse_args()
    plan = SMOKE if options.smoke else Plan(load_s=options.minutes * 60)
    servers.prepare_load_generator()
    folder = tempfile.mkdtemp(prefix="soak-tokens-")
    tokens = {owner: secrets.token_urlsafe(24) for owner in (*OWNERS, ADMIN, ABUSER)}
    server = servers.start("ours", {"API_TOKENS_FILE": token_file(folder, tokens), **plan.env()})
    try:
        soak, result = run(lambda: soak_once(server, plan, tokens, options.seed))  # type: ignore[misc]
        log = server.log()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    rows = verdicts(soak, result, log, plan)
    print_table(f"Soak samples, one gevent worker, load {plan.load_s:g} s (phase load, then settled)", soak.samples)
    print_table("Soak checks", rows)
    save(options.out, "soak", soak.samples, checks=rows, shutdown=result, counts=dict(soak.counts),
         lost_examples=soak.losses.examples, plan=plan.__dict__)
    sys.exit(1 if any(row["verdict"] == "FAIL" for row in rows) else 0)


if __name__ == "__main__":
    main()
