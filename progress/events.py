"""Events as every store keeps them, and what resume reads of them (the contract's Resuming table)."""

from __future__ import annotations

from dataclasses import dataclass

from .access import Owner
from .jobs import Job, job_json
from .sse import encode_event


@dataclass(slots=True, frozen=True)
class Event:
    """One published event, encoded once for every subscriber."""

    id: int
    type: str
    job_id: str
    frame: bytes
    terminal: bool
    owner: str

    @classmethod
    def of(cls, event_id: int, event_type: str, job: Job, data: str | None = None) -> Event:
        """The event a change of `job` makes, as it is now (`data`: its JSON, if made already)."""
        data = job_json(job) if data is None else data
        return cls(event_id, event_type, job.id, encode_event(event_type, event_id, data),
                   job.terminal, job.owner)


def frames(events: list[Event]) -> bytes:
    return b"".join(event.frame for event in events)


@dataclass(frozen=True, slots=True)
class JobView:
    """One job at one moment: the newest id issued anywhere, the job and what resume needs of it."""

    last_id: int
    held_from: int
    """Ids below this may have been dropped: a resume from there gets a snapshot."""
    job: Job | None
    states: list[Event]
    progress: Event | None

    @property
    def terminal_id(self) -> int | None:
        """The id of the event that ended the job, if it ended."""
        return self.states[-1].id if self.states and self.states[-1].terminal else None

    def missed(self, since: int | None) -> list[Event] | None:
        """The events after `since` in id order, or None when a fresh snapshot is due."""
        if since is None or since > self.last_id or since < self.held_from - 1 or self.job is None \
                or not self.states:
            return None
        events = [event for event in self.states if event.id > since]
        if self.progress is not None and self.progress.id > since:
            events.append(self.progress)
        return sorted(events, key=lambda event: event.id)


@dataclass(frozen=True, slots=True)
class AllView:
    """`/api/events` at one moment: the events after a resume id, or else a snapshot's jobs."""

    last_id: int
    missed: list[Event] | None
    """None when a fresh snapshot is due; then `jobs` holds it."""
    jobs: list[Job]


def visible(events: list[Event], viewer: Owner) -> list[Event]:
    return [event for event in events if viewer.may_see(event.owner)]
