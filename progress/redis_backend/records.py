"""A job as Redis keeps it (one JSON record) and an event as the stream carries it (one entry)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..hub import Event
from ..jobs import Job, JobState, Progress, ResultFile
from ..sse import encode_event


def record_of(job: Job) -> str:
    """Everything needed to rebuild the job in any worker; times stay exact floats."""
    result = job.result
    return json.dumps({
        "id": job.id, "owner": job.owner, "kind": job.kind, "params": job.params,
        "state": job.state.value, "done": job.progress.done, "total": job.progress.total,
        "message": job.progress.message, "created": job.created_at, "started": job.started_at,
        "finished": job.finished_at, "error": job.error,
        "result": [result.path, result.content_type, result.extension, result.size] if result else None,
    }, separators=(",", ":"), ensure_ascii=False)


def job_of(record: str | bytes) -> Job:
    """The job a record describes, as the rest of the code knows jobs."""
    fields = json.loads(record)
    job = Job.__new__(Job)
    job.id, job.owner, job.kind, job.params = fields["id"], fields["owner"], fields["kind"], fields["params"]
    job.sequence = 0  # order comes from Redis' `created` set
    job.state = JobState(fields["state"])
    job.progress = Progress(fields["done"], fields["total"], fields["message"])
    job.created_at, job.started_at, job.finished_at = fields["created"], fields["started"], fields["finished"]
    job.error = fields["error"]
    job.result = ResultFile(*fields["result"]) if fields["result"] else None
    return job


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
