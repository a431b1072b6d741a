"""The soak's actors (issue #8): owners running and cancelling jobs, streams that come and go,
slow and frozen readers, the abuser, the sampler; then the settle, the last act and SIGTERM."""

from __future__ import annotations

import asyncio
import math
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from . import servers
from .soak_checks import Ledger, Losses, Tally
from .soak_plan import ABUSER, ADMIN, OWNERS, Plan
from .soak_stream import SoakStream, connect
from .sse_client import wait_until

OPEN_DEADLINE_S = 30.0
MAX_LIVE_STREAMS = 800
"""The churn never holds more streams than this, whatever the random lives add up to."""
CANCEL_SHARE, RESUME_SHARE, SLOW_SHARE, JOB_STREAM_SHARE = 0.15, 0.3, 0.1, 0.4


class Soak:
    """The actors, the streams they hold and everything they saw."""

    def __init__(self, server: servers.BenchServer, plan: Plan, tokens: dict[str, str], seed: int) -> None:
        self.server, self.plan, self.tokens = server, plan, tokens
        self.rng = random.Random(seed)
        self.ledger = Ledger()
        self.tally = Tally()
        self.losses = Losses(admins=frozenset({ADMIN}))
        self.counts: Counter[str] = Counter()
        self.samples: list[dict[str, object]] = []
        self.live: set[SoakStream] = set()
        self.kept: list[SoakStream] = []  # held to the end: the ledger, stayers, the last act's streams
        self.frozen: list[SoakStream] = []
        self.finished: list[SoakStream] = []
        self.stopping = asyncio.Event()
        self.started = time.perf_counter()
        self._tasks: set[asyncio.Task] = set()
        limits = httpx.Limits(max_connections=20, keepalive_expiry=2)  # below the server's 5 s keep-alive
        self.clients = {owner: httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits,
                                                 headers={"Authorization": f"Bearer {token}"})
                        for owner, token in tokens.items()}

    # Requests ---------------------------------------------------------------------------

    async def api(self, owner: str, method: str, path: str, what: str, **kwargs: Any) -> httpx.Response | None:
        try:
            response = await self.clients[owner].request(method, path, **kwargs)
        except httpx.HTTPError as error:
            self.tally.transport_errors[f"{what}: {type(error).__name__}"] += 1
            return None
        self.tally.record(what, owner, response.status_code, "retry-after" in response.headers,
                          response.text if response.status_code >= 400 else "")
        return response

    async def submit(self, owner: str, kind: str, params: dict[str, object]) -> bytes | None:
        response = await self.api(owner, "POST", "/api/jobs", "submit", json={"kind": kind, "params": params})
        if response is None or response.status_code != 202:
            return None
        job_id = response.json()["id"].encode()
        self.ledger.add(job_id, owner, kind)
        self.counts[f"jobs {kind}"] += 1
        return job_id

    async def cancel(self, owner: str, job_id: bytes) -> None:
        record = self.ledger.jobs[job_id]
        record.cancelled_while = "terminal" if record.terminal_id is not None else record.state.decode() or "queued"
        self.counts[f"cancels of {record.cancelled_while} jobs"] += 1
        await self.api(owner, "POST", f"/api/jobs/{job_id.decode()}/cancel", "cancel")

    async def open(self, stream: SoakStream, small_buffer: bool = False) -> int:
        status = await connect(self.server.port, stream, small_buffer, OPEN_DEADLINE_S)
        if not stream.paused:
            self.tally.record("stream", stream.owner, status, stream.retry_after)
        self.counts["stream opens"] += 1
        return status

    def stream_to(self, owner: str, job_id: bytes | None = None, resume_id: int | None = None,
                  in_query: bool = False) -> SoakStream:
        path = "/api/events" if job_id is None else f"/api/jobs/{job_id.decode()}/events"
        if resume_id is not None and in_query:
            path += f"?lastEventId={resume_id}"
        return SoakStream(path, owner, self.tokens[owner], job_id, resume_id)

    # Actors -----------------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def pause(self, seconds: float) -> None:
        """Sleep, or less if the load phase ends meanwhile."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except TimeoutError:
            pass

    async def job_flow(self, owner: str) -> None:
        while not self.stopping.is_set():
            await self.pause(self.rng.expovariate(self.plan.jobs_per_s))
            if self.stopping.is_set() or len(self.ledger.unfinished(owner)) >= self.plan.unfinished_cap:
                continue
            job_id = await self.submit(owner, *self.plan.random_job(self.rng, owner))
            if job_id is not None and self.rng.random() < CANCEL_SHARE:
                self.spawn(self.cancel_later(owner, job_id, self.rng.uniform(0, 4)))

    async def cancel_later(self, owner: str, job_id: bytes, delay: float) -> None:
        await asyncio.sleep(delay)
        await self.cancel(owner, job_id)

    async def churn(self) -> None:
        while not self.stopping.is_set():
            await self.pause(self.rng.expovariate(self.plan.opens_per_s))
            if not self.stopping.is_set() and len(self.live) < MAX_LIVE_STREAMS:
                self.spawn(self.stream_lives(self.rng.choice((*OWNERS, *OWNERS, ADMIN))))

    def random_job_of(self, owner: str) -> bytes | None:
        owners = OWNERS if owner == ADMIN else (owner,)
        unfinished = [job for who in owners for job in self.ledger.unfinished(who)]
        return self.rng.choice(unfinished) if unfinished else None

    async def stream_lives(self, owner: str) -> None:
        """One subscriber: a stream that lives a random while, then drops, and may resume up to twice."""
        job_id = self.random_job_of(owner) if self.rng.random() < JOB_STREAM_SHARE else None
        stream = self.stream_to(owner, job_id)
        for resumes_left in (2, 1, 0):
            await self.one_life(stream)
            if (resumes_left == 0 or self.stopping.is_set() or not stream.last_id or stream.got_terminal
                    or self.rng.random() >= RESUME_SHARE):
                return
            await asyncio.sleep(self.rng.uniform(0.05, 2.0))
            self.counts["resumes"] += 1
            stream = self.stream_to(owner, job_id, stream.last_id, in_query=self.rng.random() < 0.3)

    async def one_life(self, stream: SoakStream) -> None:
        slow = self.rng.random() < SLOW_SHARE
        if await self.open(stream, small_buffer=slow) != 200:
            self.finished.append(stream)
            return
        self.live.add(stream)
        low, high = self.plan.life_s
        life = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        if slow:
            self.counts["slow readers"] += 1
            await wait_until(lambda: not stream.open or self.stopping.is_set(), life * 0.2, step=0.25)
            stream.pause_for(min(15.0, life * 0.6))
            life *= 0.8
        await wait_until(lambda: not stream.open or self.stopping.is_set(), life, step=0.25)
        if stream.open:
            stream.drop(graceful=self.rng.random() < 0.5)
        elif not stream.server_ended:
            self.counts["streams cut off by the server"] += 1
        elif stream.job_id is None:
            self.counts["/api/events streams ended by the server"] += 1
        self.live.discard(stream)
        self.finished.append(stream)

    async def hold(self, owner: str, frozen: bool = False) -> SoakStream:
        """A stream held to the end: a stayer, or a frozen reader that never reads a byte."""
        stream = self.stream_to(owner)
        stream.paused = frozen
        await self.open(stream, small_buffer=frozen)
        (self.frozen if frozen else self.kept).append(stream)
        return stream

    async def abuse(self) -> None:
        """The abuser goes past each per-owner limit once a round: streams, queued jobs, creation rate."""
        while not self.stopping.is_set():
            await self.pause(self.plan.abuse_every_s / 2)
            if self.stopping.is_set():
                return
            streams = [self.stream_to(ABUSER) for _ in range(self.plan.streams_limit + 5)]
            await asyncio.gather(*(self.open(stream) for stream in streams))
            await asyncio.sleep(1)
            for stream in streams:
                stream.drop(graceful=False)
            self.finished += streams
            await self.post_until_limited(("sleep", {"seconds": 30, "steps": 30}), "waiting",
                                          self.plan.queued_limit + 20)
            for job_id in list(self.ledger.unfinished(ABUSER)):
                await self.cancel(ABUSER, job_id)
            await self.post_until_limited(("sleep", {"seconds": 0, "steps": 1}), "minute",
                                          self.plan.jobs_per_minute + 20)
            self.counts["abuse rounds"] += 1
            await self.pause(self.plan.abuse_every_s / 2)

    async def post_until_limited(self, job: tuple[str, dict[str, object]], limit_word: str, most: int) -> None:
        for _ in range(most):
            response = await self.api(ABUSER, "POST", "/api/jobs", "submit", json={"kind": job[0], "params": job[1]})
            if response is not None and response.status_code == 202:
                self.ledger.add(response.json()["id"].encode(), ABUSER, job[0])
            elif response is not None and response.status_code == 429 and limit_word in response.text:
                return

    async def sampler(self) -> None:
        while not self.stopping.is_set():
            await self.sample("load")
            self.judge_finished()
            await self.pause(self.plan.sample_every_s)

    # Figures and checks ------------------------------------------------------------------

    async def sample(self, phase: str) -> None:
        sent = time.perf_counter()
        response = await self.api(ADMIN, "GET", "/metrics?greenlets=1", "metrics")
        scrape_ms = (time.perf_counter() - sent) * 1000
        figures: dict[str, float] = Counter()
        for family in text_string_to_metric_families(response.text if response is not None else ""):
            for sample in family.samples:
                state = sample.labels.get("state")
                figures[f"{sample.name}:{state}" if family.name == "progress_jobs" else sample.name] += sample.value
        self.samples.append({
            "phase": phase, "t_s": round(time.perf_counter() - self.started, 1), "rss_mib": worker_rss_mib(self.server),
            "greenlets": int(figures["progress_greenlets"]), "streams_server": int(figures["progress_streams_open"]),
            "streams_client": len(self.live) + len(self.kept) + len(self.frozen),
            "jobs_running": int(figures["progress_jobs:running"]), "queue": int(figures["progress_queue_depth"]),
            "jobs_kept": int(sum(v for k, v in figures.items() if k.startswith("progress_jobs:"))),
            "published": int(figures["progress_events_published_total"]),
            "coalesced": int(figures["progress_events_coalesced_total"]), "scrape_ms": round(scrape_ms, 1),
        })

    def judge_finished(self) -> None:
        """Judge the streams that ended, once the ledger has seen as far as they did."""
        waiting = []
        for stream in self.finished:
            if stream.last_id <= self.ledger.last_id:
                self.losses.judge(stream, self.ledger)
            else:
                waiting.append(stream)
        self.finished = waiting

    async def run(self) -> dict[str, object]:
        ledger = self.stream_to(ADMIN)
        ledger.also = self.ledger.observe
        if await self.open(ledger) != 200:
            raise RuntimeError(f"the ledger stream was refused:\n{self.server.log()[-2000:]}")
        self.kept.append(ledger)
        for owner in (*OWNERS, ADMIN):
            for _ in range(self.plan.stayers):
                await self.hold(owner)
        for _ in range(self.plan.frozen):
            await self.hold(ADMIN, frozen=True)
        actors = [self.job_flow(owner) for owner in OWNERS] + [self.churn(), self.abuse(), self.sampler()]
        runs = asyncio.gather(*actors)
        await asyncio.sleep(self.plan.load_s)
        self.stopping.set()
        await asyncio.wait_for(runs, 120)
        return await self.settle_and_stop(ledger)

    async def settle_and_stop(self, ledger: SoakStream) -> dict[str, object]:
        """Every job ends, every stayer catches up, then the last act and SIGTERM."""
        await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 60)
        everyone_done = await wait_until(lambda: all(r.terminal_id is not None for r in self.ledger.jobs.values()),
                                         deadline_s=90, step=0.2)
        settled_id = self.ledger.last_id
        await wait_until(lambda: all(s.last_id >= settled_id or not s.open for s in self.kept if s.owner == ADMIN),
                         deadline_s=30, step=0.2)
        await asyncio.sleep(1)  # the owners' stayers see fewer events: give them as long as the admin's
        await self.sample("settled")
        self.judge_finished()
        for stream in self.kept:
            self.losses.judge(stream, self.ledger, settled_id)
        unconfirmed = await self.confirm_recent()
        last_act = await self.last_act()
        await self.sample("before SIGTERM")
        shutdown = await self.terminate(last_act)
        return {"jobs_all_ended": everyone_done, "unconfirmed": unconfirmed, **shutdown}

    async def confirm_recent(self) -> int:
        """The server's own word on the jobs it still keeps agrees with the ledger's terminal states."""
        response = await self.api(ADMIN, "GET", "/api/jobs?limit=1000", "list")
        if response is None or response.status_code != 200:
            return -1
        disagree = 0
        for job in response.json()["jobs"]:
            record = self.ledger.jobs.get(job["id"].encode())
            disagree += record is None or record.state.decode() != job["state"]
        self.counts["confirmed by the list"] += len(response.json()["jobs"]) - disagree
        return disagree

    async def last_act(self) -> list[SoakStream]:
        """Long jobs (more than the slots, so some wait), a stream on each (some resumed), fresh streams."""
        watched: list[SoakStream] = []
        for owner in OWNERS:
            for _ in range(self.plan.last_jobs_per_owner):
                job_id = await self.submit(owner, "sleep", {"seconds": 120, "steps": 120})
                if job_id is not None:
                    watched.append(self.stream_to(owner, job_id))
        await asyncio.gather(*(self.open(stream) for stream in watched))
        for stream in watched[::3]:  # a third leave and come back with their last id
            await wait_until(lambda: stream.last_id > 0, deadline_s=10)
            stream.drop(graceful=True)
            watched.append(self.stream_to(stream.owner, stream.job_id, stream.last_id))
            await self.open(watched[-1])
        fresh = [self.stream_to(self.rng.choice((*OWNERS, ADMIN))) for _ in range(self.plan.final_streams)]
        await asyncio.gather(*(self.open(stream) for stream in fresh))
        await asyncio.sleep(1)
        return [stream for stream in self.kept + watched + fresh if stream.open]

    async def terminate(self, open_streams: list[SoakStream]) -> dict[str, object]:
        """SIGTERM; how long until the worker and the master exit and every stream ended, and what each was told."""
        process, worker = self.server.process, self.server.worker
        sent = time.perf_counter()
        os.killpg(process.pid, signal.SIGTERM)
        ends: dict[str, float] = {}
        deadline = sent + 40
        while time.perf_counter() < deadline and (process.poll() is None or any(s.open for s in open_streams)):
            now = time.perf_counter() - sent
            if worker is not None and "worker" not in ends and not worker.is_running():
                ends["worker"] = now
            if process.poll() is not None:
                ends.setdefault("master", now)
            await asyncio.sleep(0.02)
        if process.poll() is not None:
            ends.setdefault("master", time.perf_counter() - sent)
        for stream in self.frozen:
            stream.resume_reading()
        await wait_until(lambda: not any(s.open for s in self.frozen), deadline_s=5)
        ended = [s.lost_at - sent for s in open_streams if s.lost_at is not None]
        untold = [s for s in open_streams if not (s.stopping or s.got_terminal)]
        states = Counter(self.ledger.jobs[s.job_id].state.decode() for s in open_streams if s.job_id is not None)
        return {
            "open_at_sigterm": len(open_streams), "job_streams_at_sigterm": sum(s.job_id is not None for s in open_streams),
            "worker_exit_s": ends.get("worker", math.nan), "master_exit_s": ends.get("master", math.nan),
            "last_stream_end_s": max(ended, default=math.nan), "streams_not_ended": len(open_streams) - len(ended),
            "streams_not_told": len(untold), "untold_examples": [s.path for s in untold[:5]],
            "last_act_job_states": dict(states),
            "frozen_told": sum(s.stopping for s in self.frozen), "frozen": len(self.frozen),
        }

    async def close(self) -> None:
        for stream in [*self.live, *self.kept, *self.frozen]:
            stream.close()
        for client in self.clients.values():
            await client.aclose()


def worker_rss_mib(server: servers.BenchServer) -> float:
    """VmRSS of the worker, where the streams and jobs live, from /proc."""
    assert server.worker is not None
    for line in Path(f"/proc/{server.worker.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan

