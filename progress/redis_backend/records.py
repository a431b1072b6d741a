"""An event as the Redis stream and history lists carry it (one entry string)."""

from __future__ import annotations

from dataclasses import dataclass

from ..events import Event
from ..jobs import Job
from ..sse import encode_event


def entry_rest(event_type: str, job: Job, data: str) -> str:
    """An event entry without its id, which the commit script puts in front."""
    return "\n".join((event_type, "1" if job.terminal else "0", job.id, job.owner, data))


@dataclass(frozen=True, slots=True)
class Entry:
    """An event entry read back from Redis."""

    id: int
    type: str
    terminal: bool
    job_id: str
    owner: str
    data: str

    @classmethod
    def parse(cls, raw: str | bytes) -> Entry:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        event_id, event_type, terminal, job_id, owner, data = text.split("\n", 5)
        return cls(int(event_id), event_type, terminal == "1", job_id, owner, data)

    def event(self) -> Event:
        """Encoded once per worker, for every local subscriber."""
        return Event(self.id, self.type, self.job_id, encode_event(self.type, self.id, self.data),
                     self.terminal, self.owner)


def event_of(raw: str | bytes) -> Event:
    return Entry.parse(raw).event()
