"""What a Flask developer writes by hand: one `gevent.queue.Queue` per subscriber.

It speaks just enough of our API for the same load generator (`POST /api/jobs` for the
`sleep` and `bench_fanout` kinds, `GET /api/jobs/<id>`, both SSE streams, `/healthz`).
Each event is encoded once and the same bytes are put on every subscriber's queue; each
stream's greenlet takes them off and yields them, one write per event.
"""

from __future__ import annotations

import itertools
import json
import os
import time

import gevent
from flask import Flask, Response, jsonify, request
from gevent.queue import Empty, Queue

app = Flask(__name__)
jobs: dict[str, dict] = {}
queues: dict[str | None, set[Queue]] = {None: set()}  # job id (None: every job) -> subscribers
ids = itertools.count(int(time.time() * 1_000_000))
HEARTBEAT_S = 10.0


def frame(event: str, value: object) -> bytes:
    return f"event: {event}\nid: {next(ids)}\ndata: {json.dumps(value, separators=(',', ':'))}\n\n".encode()


def publish(event: str, job: dict) -> None:
    block = frame(event, job)
    for queue in list(queues[None]) + list(queues.get(job["id"], ())):
        queue.put(block)


def run(job: dict, steps: int, interval: float, wait_s: float = 0.0, stamp: bool = False) -> None:
    """Sleeps to each step's deadline, as our kinds do, so timer drift never adds up."""
    gevent.sleep(wait_s)
    job["state"] = "running"
    publish("state", job)
    started = time.monotonic()
    for done in range(1, steps + 1):
        gevent.sleep(max(started + done * interval - time.monotonic(), 0))
        job["progress"] = {"done": done, "total": steps, "message": f"{time.time():.6f}" if stamp else None}
        publish("progress", job)
    job["state"] = "succeeded"
    publish("state", job)


@app.post("/api/jobs")
def create_job() -> tuple[Response, int]:
    body = request.get_json()
    kind, params = body["kind"], body.get("params", {})
    job = {"id": os.urandom(16).hex(), "kind": kind, "state": "queued",
           "progress": {"done": 0, "total": None, "message": None}, "created_at": time.time()}
    jobs[job["id"]] = job
    publish("state", job)
    if kind == "sleep":
        steps = params.get("steps", 100)
        gevent.spawn(run, job, steps, params.get("seconds", 5) / steps)
    else:  # bench_fanout
        rate = params.get("rate", 50)
        gevent.spawn(run, job, params.get("count", 500), 1 / rate if rate else 0, params.get("wait_s", 2), True)
    return jsonify(job), 202


@app.get("/api/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return jsonify(jobs[job_id])


def stream(key: str | None, first: bytes) -> Response:
    queue: Queue = Queue()
    queues.setdefault(key, set()).add(queue)

    def generate():
        try:
            yield b"retry: 2000\n\n" + first
            while True:
                try:
                    block = queue.get(timeout=HEARTBEAT_S)
                except Empty:
                    yield b": keep-alive\n\n"
                    continue
                yield block
                if key is not None and b'"state":"succeeded"' in block:
                    return
        finally:
            queues[key].discard(queue)

    return Response(generate(), content_type="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@app.get("/api/jobs/<job_id>/events")
def job_events(job_id: str) -> Response:
    return stream(job_id, frame("snapshot", jobs[job_id]))


@app.get("/api/events")
def all_events() -> Response:
    return stream(None, frame("snapshot", {"jobs": list(jobs.values())[-50:]}))


@app.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok", "streams": sum(len(q) for q in queues.values())})
