"""How hard the soak pushes (issue #8): owners, rates, stream lives and the per-owner limits.

Normal owners stay well below every limit (their streams, their unfinished jobs, their
creation rate); only the abuser goes past them, so every 429 has a cause the summary names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

OWNERS = ("alice", "bob", "carol")
ADMIN = "ops"
ABUSER = "mallory"


@dataclass(frozen=True)
class Plan:
    load_s: float
    sample_every_s: float = 10.0
    jobs_per_s: float = 0.6
    """Per normal owner; with the mix below about six of the eight slots are busy, so queues come and go."""
    unfinished_cap: int = 20
    """A normal owner waits rather than have more unfinished jobs: under the queued limit."""
    opens_per_s: float = 12.0
    life_s: tuple[float, float] = (0.2, 90.0)
    """A churning stream lives a log-uniform while in this range (mean about 15 s)."""
    stayers: int = 5
    """`/api/events` streams per owner (and the admin) held from start to SIGTERM."""
    frozen: int = 4
    final_streams: int = 100
    last_jobs_per_owner: int = 4
    abuse_every_s: float = 60.0
    streams_limit: int = 150
    queued_limit: int = 30
    jobs_per_minute: int = 120
    keep_s: float = 120.0
    """Finished jobs are forgotten after this, so kept jobs level off and RSS can show a leak."""
    sleeps: tuple[float, ...] = (0, 0.1, 0.5, 1, 2, 4, 8, 15)
    report_rows: int = 20_000

    def env(self) -> dict[str, str]:
        return {"LIMIT_STREAMS_PER_OWNER": str(self.streams_limit), "LIMIT_QUEUED_PER_OWNER": str(self.queued_limit),
                "LIMIT_JOBS_PER_MINUTE": str(self.jobs_per_minute), "JOBS_KEEP_S": str(self.keep_s)}

    def random_job(self, rng: random.Random, owner: str) -> tuple[str, dict[str, object]]:
        """Mostly sleeps of various lengths and step counts, some greets, now and then a small report."""
        draw = rng.random()
        if draw < 0.05:
            return "report", {"rows": rng.randint(1000, self.report_rows), "by": rng.choice(("month", "region"))}
        if draw < 0.25:
            return "greet", {"user": owner}
        return "sleep", {"seconds": rng.choice(self.sleeps), "steps": rng.choice((1, 5, 20, 100))}


SMOKE = Plan(load_s=5, sample_every_s=1, jobs_per_s=2, unfinished_cap=4, opens_per_s=15, life_s=(0.1, 3),
             stayers=2, frozen=1, final_streams=10, last_jobs_per_owner=3, abuse_every_s=4, streams_limit=20,
             queued_limit=5, jobs_per_minute=40, keep_s=60, sleeps=(0, 0.1, 0.3, 0.8), report_rows=1000)
"""A few seconds at tiny sizes, only to prove the script still runs (tests/test_bench_smoke.py)."""
