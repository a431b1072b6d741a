"""Named default knobs, one constant per knob (rq's `defaults.py`)."""

JOBS_CONCURRENCY = 8
"""Jobs running at once per process: enough to overlap slow I/O, few enough to share a core."""

JOBS_QUEUE_SIZE = 1000
"""Jobs that may wait as `queued`; beyond this a new job is refused with 503."""

JOBS_KEEP_S = 3600.0
"""Seconds a finished job and its result file are kept before they are forgotten (then 404)."""

SSE_RETRY_MS = 2000
"""The `retry:` every stream starts with: how long a browser waits before reconnecting."""

SSE_HEARTBEAT_S = 10.0
"""A silent stream sends a comment this often: below proxy idle timeouts, and a dead client shows within two."""

SSE_HEARTBEAT_MAX_S = 15.0
"""The contract promises no stream is silent longer than this."""

SNAPSHOT_FINISHED_JOBS = 50
"""Finished jobs in the `/api/events` snapshot, besides every unfinished one."""

STATE_HISTORY = 1000
"""`state` events `/api/events` keeps for resume; an id older than these gets a fresh snapshot."""

MAILBOX_MAX_EVENTS = 5000
"""Events one subscriber may have pending; past it the stream ends and the client resumes."""

SLOW_CLIENT_CUTOFF_S = 60.0
"""A client that accepts nothing this long is cut off (the contract's slow-client rule)."""

CANCEL_GRACE_S = 0.5
"""After a cancel, a running job may stop on its own this long before its greenlet is killed."""

SHUTDOWN_GRACE_S = 2.0
"""On SIGTERM, running jobs get this long to finish before they are marked `interrupted`."""

QUEUE_FULL_RETRY_AFTER_S = 5
"""`Retry-After` sent with 503 `queue_full`."""

MAX_BODY_BYTES = 64 * 1024
"""Largest request body accepted (judged by `Content-Length`, unread)."""

LIST_LIMIT_DEFAULT = 100
"""Jobs returned by `GET /api/jobs` without `limit`."""

LIST_LIMIT_MAX = 1000
"""Largest `limit` accepted by `GET /api/jobs`."""
