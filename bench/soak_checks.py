"""The soak's bookkeeping and verdicts (issue #8): the truth about every job, every answer
counted, the terminal events each stream owed and missed, and how flat a series is.

"Lost" is judged without clocks: a stream gets a job's events in id order and `state`
events are never coalesced, so a stream that received some event with id X must have
received every terminal `state` it may see with an id between its start and X. Streams
that stay to the end are also held to every terminal event published before the settle.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .soak_stream import SoakStream
from .sse_client import JOB_ID, STATE, TERMINAL

EXAMPLES = 10
"""Described failures kept per check; the rest are only counted."""


@dataclass(slots=True)
class JobRecord:
    owner: str = ""
    kind: str = ""
    state: bytes = b""
    terminal_id: int | None = None
    cancelled_while: str = ""
    """The state the ledger knew when the soak asked to cancel: queued, running, or terminal."""


class Ledger:
    """Every job's owner (from the submitter) and state and terminal id (from an admin's
    `/api/events` stream held from start to end): the truth the other streams are held to."""

    def __init__(self) -> None:
        self.jobs: dict[bytes, JobRecord] = {}
        self.last_id = 0
        self._terminal_ids: list[int] = []
        self._terminal_jobs: list[bytes] = []
        self._unfinished: dict[str, set[bytes]] = defaultdict(set)

    def add(self, job_id: bytes, owner: str, kind: str) -> None:
        record = self.jobs.setdefault(job_id, JobRecord())
        record.owner, record.kind = owner, kind
        if record.terminal_id is None:
            self._unfinished[owner].add(job_id)

    def observe(self, stream: SoakStream, kind: bytes, event_id: int, data: bytes, now: float) -> None:
        self.last_id = max(self.last_id, event_id)
        if kind != b"state":
            return
        job_id, state = JOB_ID.search(data)[1], STATE.search(data)[1]
        record = self.jobs.setdefault(job_id, JobRecord())
        record.state = state
        if state in TERMINAL and record.terminal_id is None:
            record.terminal_id = event_id
            self._terminal_ids.append(event_id)
            self._terminal_jobs.append(job_id)
            self._unfinished[record.owner].discard(job_id)

    def unfinished(self, owner: str) -> set[bytes]:
        return self._unfinished[owner]

    def terminal_between(self, low: int, high: int) -> list[bytes]:
        """Jobs whose terminal event id is in (low, high]."""
        start = bisect.bisect_right(self._terminal_ids, low)
        return self._terminal_jobs[start:bisect.bisect_right(self._terminal_ids, high)]


@dataclass
class Losses:
    """Terminal events a stream owed and did not get."""

    admins: frozenset[str]
    streams: int = 0
    owed: int = 0
    lost: int = 0
    out_of_order: int = 0
    examples: list[str] = field(default_factory=list)

    def judge(self, stream: SoakStream, ledger: Ledger, settled_id: int | None = None) -> None:
        """Hold one stream to what it owed; `settled_id` for a stream still open after the settle."""
        if stream.status != 200 or stream.first_id is None:
            return
        self.streams += 1
        self.out_of_order += stream.out_of_order
        high = max(stream.last_id, settled_id or 0)
        if stream.job_id is None:
            owed = [job for job in ledger.terminal_between(stream.first_id, high)
                    if stream.owner in self.admins or ledger.jobs[job].owner == stream.owner]
        else:
            terminal_id = ledger.jobs[stream.job_id].terminal_id
            stayed = settled_id is not None or (stream.server_ended and not stream.dropped)
            owed = [stream.job_id] if terminal_id is not None and terminal_id > stream.first_id and (
                terminal_id <= high or stayed) else []
        self.owed += len(owed)
        for job in owed:
            if job not in stream.terminals:
                self.lost += 1
                if len(self.examples) < EXAMPLES:
                    self.examples.append(f"{stream.owner} {stream.path} missed the end of job {job.decode()} "
                                         f"(id {ledger.jobs[job].terminal_id}, stream ids {stream.first_id}..{high})")


@dataclass
class Tally:
    """Every answer the soak got, by what was asked and its status."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    limited: Counter[tuple[str, str]] = field(default_factory=Counter)
    limited_without_retry_after: int = 0
    server_errors: list[str] = field(default_factory=list)
    transport_errors: Counter[str] = field(default_factory=Counter)

    def record(self, what: str, owner: str, status: int, retry_after: bool, body: str = "") -> None:
        self.statuses[what, status] += 1
        if status == 429:
            self.limited[owner, _limit_named(what, body)] += 1
            self.limited_without_retry_after += not retry_after
        if status >= 500 and len(self.server_errors) < EXAMPLES:
            self.server_errors.append(f"{what} by {owner}: {status} {body[:200]}")

    def count(self, status_from: int, status_to: int) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status_from <= status <= status_to)


def _limit_named(what: str, body: str) -> str:
    if what == "stream":
        return "streams"
    return "queued" if "waiting" in body else "rate" if "minute" in body else "other"


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute; NaN for fewer than two."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return float("nan")
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 60
