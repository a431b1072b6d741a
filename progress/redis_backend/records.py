"""An event as the Redis stream and history lists carry it (one entry string)."""

from __future__ import annotations

from ..events import Event
from ..jobs import Job
from ..sse import encode_event


def entry_rest(event_type: str, job: Job, data: str) -> str:
    """An event entry without its id, which the commit script puts in front."""
    return "\n".join((event_type, "1" if job.terminal else "0", job.id, job.owner, data))


def event_of(raw: str | bytes) -> Event:
    """An entry read back from Redis, encoded once per worker for every local subscriber."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    event_id, event_type, terminal, job_id, owner, data = text.split("\n", 5)
    number = int(event_id)
    return Event(number, event_type, job_id, encode_event(event_type, number, data), terminal == "1", owner)
