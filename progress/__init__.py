"""Background jobs with live progress over Server-Sent Events, for gevent servers.

Register kinds with `@job_kind`; `progress.kinds` holds the ones every build has.
Only `progress.flask_adapter` (a package) imports Flask. Names are imported on first use
(PEP 562), so `python -m progress.client` never loads gevent or jsonschema.
"""

from importlib import import_module
from typing import Any

_HOMES = {
    "JobContext": "context",
    "Owner": "access", "EVERYONE": "access",
    "Cancelled": "errors", "Interrupted": "errors", "InvalidParams": "errors", "JobNotFound": "errors",
    "NoResult": "errors", "NotCancellable": "errors", "ProgressError": "errors", "QueueFull": "errors",
    "RateLimited": "errors", "ShuttingDown": "errors", "UnknownKind": "errors",
    "Hub": "hub", "Subscription": "hub",
    "Job": "jobs", "JobState": "jobs", "Progress": "jobs", "ResultFile": "jobs",
    "JobKind": "registry", "KindRegistry": "registry", "default_registry": "registry", "job_kind": "registry",
    "ResultStore": "results",
    "JobRunner": "runner",
    "ProgressService": "service", "ServiceOptions": "service",
    "StreamService": "streams",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'progress' has no attribute {name!r}")
