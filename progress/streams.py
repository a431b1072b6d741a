"""Opening SSE streams: snapshot or resume, then live events (the contract's Resuming table)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from . import defaults
from .hub import Event, Hub
from .runner import JobRunner, job_json
from .sse import encode_event, encode_retry, event_stream, parse_event_id


class StreamService:
    """Builds the byte iterators of `/api/jobs/<id>/events` and `/api/events`.

    Reading history and subscribing happen with no greenlet switch between them,
    so no event can fall in the gap (mercure#178).
    """

    def __init__(self, runner: JobRunner, hub: Hub, *, retry_ms: int = defaults.SSE_RETRY_MS,
                 heartbeat_s: float = defaults.SSE_HEARTBEAT_S) -> None:
        self.runner = runner
        self.hub = hub
        self.heartbeat_s = heartbeat_s
        self._retry = encode_retry(retry_ms)

    def job_stream(self, job_id: str, last_event_id: str | None) -> Iterator[bytes] | None:
        """One job's stream, or None for 204 when the client already saw its end.

        Raises `JobNotFound` before anything is sent, so the answer can be a JSON 404.
        """
        job = self.runner.get(job_id)
        since = parse_event_id(last_event_id)
        missed = self.hub.missed(since, job_id)
        if missed is None:
            first = self._retry + encode_event("snapshot", self.hub.last_id, job_json(job))
            ended = job.terminal
        else:
            terminal_id = self.hub.terminal_id(job_id)
            if terminal_id is not None and since is not None and since >= terminal_id:
                return None
            first = self._retry + _frames(missed)
            ended = any(event.terminal for event in missed)
        if ended:
            return iter((first,))
        return event_stream(self.hub.subscribe(job_id), first, self.heartbeat_s)

    def all_stream(self, last_event_id: str | None) -> Iterator[bytes]:
        """Every job's stream: a snapshot (or what was missed), then live; never ends by itself."""
        missed = self.hub.missed(parse_event_id(last_event_id))
        if missed is None:
            jobs = self.runner.store.snapshot(defaults.SNAPSHOT_FINISHED_JOBS)
            payload = json.dumps({"jobs": [job.to_dict() for job in jobs]},
                                 separators=(",", ":"), ensure_ascii=False)
            first = self._retry + encode_event("snapshot", self.hub.last_id, payload)
        else:
            first = self._retry + _frames(missed)
        return event_stream(self.hub.subscribe(), first, self.heartbeat_s)


def _frames(events: list[Event]) -> bytes:
    return b"".join(event.frame for event in events)
