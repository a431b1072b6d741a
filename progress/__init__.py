"""Background jobs with live progress over Server-Sent Events, for gevent servers.

Nothing runs at import. Register kinds with `@job_kind`; `progress.kinds` holds the
ones every build has. Only `progress.flask_adapter` imports Flask.
"""

from .context import JobContext
from .errors import (Cancelled, Interrupted, InvalidParams, JobNotFound, NoResult,
                     NotCancellable, ProgressError, QueueFull, ShuttingDown, UnknownKind)
from .hub import Hub, Subscription
from .jobs import Job, JobState, Progress, ResultFile
from .registry import JobKind, KindRegistry, default_registry, job_kind
from .results import ResultStore
from .runner import JobRunner
from .streams import StreamService

__all__ = [
    "Cancelled", "Hub", "Interrupted", "InvalidParams", "Job", "JobContext", "JobKind",
    "JobNotFound", "JobRunner", "JobState", "KindRegistry", "NoResult", "NotCancellable",
    "Progress", "ProgressError", "QueueFull", "ResultFile", "ResultStore", "ShuttingDown",
    "StreamService", "Subscription", "UnknownKind", "default_registry", "job_kind",
]
