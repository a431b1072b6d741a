"""The exception tree of `progress`; `progress/flask_adapter/errors.py` maps each to a status.

    ProgressError
    ├── UnknownKind            the kind names no registered kind
    ├── InvalidParams          a param is unknown, of the wrong type or out of range
    ├── JobNotFound            no such job (or it was forgotten)
    ├── UploadNotFound         no such upload of this owner (a job param names it)
    ├── NotCancellable         the job is already terminal
    ├── IdempotencyConflict    an Idempotency-Key already used with another body
    ├── BadRequest             a top-level field of a submit is wrong (run_at, delay_s, timeout_s)
    ├── NoResult               the job has not succeeded
    ├── RetryLater             refusals that pass, with a Retry-After
    │   ├── QueueFull          JOBS_QUEUE_SIZE jobs already wait
    │   ├── RateLimited        an owner went past one of its limits
    │   └── StoreBusy          every connection to the job store stayed busy: load, not an outage
    ├── ShuttingDown           the server is stopping
    └── IllegalTransition      a bug: a job asked to leave a terminal state

    BaseException
    ├── Cancelled              raised inside a job when it is cancelled
    └── Interrupted            raised inside a job when the server stops

`Cancelled` and `Interrupted` are `BaseException`s (like rq's shutdown exception)
so that a job's own `except Exception:` cannot swallow them.
"""


class ProgressError(Exception):
    """Base of every error `progress` raises on purpose."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownKind(ProgressError):
    code = "unknown_kind"


class InvalidParams(ProgressError):
    code = "invalid_params"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class JobNotFound(ProgressError):
    """No such job, or one the caller may not see: the same words, so ids leak nothing."""

    code = "not_found"

    def __init__(self, message: str = "No job has this id; finished jobs are kept for a limited time.") -> None:
        super().__init__(message)


class UploadNotFound(ProgressError):
    """No such upload, or someone else's: the same words, as for jobs (issue 15)."""

    code = "not_found"

    def __init__(self, message: str = "No upload has this id; uploads are removed by cleanup after a while.") -> None:
        super().__init__(message)


class NotCancellable(ProgressError):
    code = "not_cancellable"


class IdempotencyConflict(ProgressError):
    code = "idempotency_conflict"


class BadRequest(ProgressError):
    code = "bad_request"


class AllItemsFailed(Exception):
    """A batch kind whose every item failed: the job fails with this one line."""


class AlreadySubmitted(Exception):
    """Not an error: the Idempotency-Key's first job, which a repeated submit answers with."""

    def __init__(self, job: object) -> None:
        super().__init__("already submitted")
        self.job = job


class NoResult(ProgressError):
    code = "no_result"


class RetryLater(ProgressError):
    """A refusal that passes: the answer says after how many seconds to try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueFull(RetryLater):
    code = "queue_full"


class RateLimited(RetryLater):
    code = "rate_limited"


class StoreBusy(RetryLater):
    """The job store answers, but every connection to it stayed busy past the wait. Load, not an
    outage: nothing ends and nothing is settled, this one call is refused (issue 14)."""

    code = "unavailable"


class ShuttingDown(ProgressError):
    code = "shutting_down"


class IllegalTransition(ProgressError):
    """A job may only move forward, and never out of a terminal state."""


class Cancelled(BaseException):
    """Raised in a job's greenlet when someone cancelled it."""


class Interrupted(BaseException):
    """Raised in a job's greenlet when the server stops before the job ends."""
