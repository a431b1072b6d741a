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

REDIS_OUTAGE_GRACE_S = 30.0
"""With Redis, running jobs go on this long while it cannot be reached, their changes held in the
worker and written once it answers; past it they end `interrupted`."""

QUEUE_FULL_RETRY_AFTER_S = 5
"""`Retry-After` sent with 503 `queue_full`."""

MAX_BODY_BYTES = 64 * 1024
"""Largest request body accepted (judged by `Content-Length`, unread)."""

LIST_LIMIT_DEFAULT = 100
"""Jobs returned by `GET /api/jobs` without `limit`."""

LIST_LIMIT_MAX = 1000
"""Largest `limit` accepted by `GET /api/jobs`."""

# --- The server's settings (web/settings.py), and the shipped kinds' (progress/kinds/environment.py)

BIND = "127.0.0.1:8000"
"""Listen address: loopback, so a server with no API tokens is not open to the network."""

JOBS_DB_FILE = "jobs.sqlite3"
"""The jobs database inside the data folder (DATA_DIR); JOBS_DB names another path."""

RESULTS_FOLDER = "results"
"""Result files' folder inside the data folder; RESULTS_DIR names another."""

LIMIT_STREAMS_PER_OWNER = 100
"""Open streams per owner on a server: a few tabs and scripts each, not a flood (0: no limit)."""

LIMIT_QUEUED_PER_OWNER = 100
"""Queued jobs per owner on a server, so one owner cannot fill the whole queue."""

LIMIT_JOBS_PER_MINUTE = 120
"""New jobs per owner per minute on a server, in bursts up to that many."""

LIMIT_UPLOAD_BYTES_PER_OWNER = 10 * 1024 ** 3
"""Bytes one owner's uploads may hold on disk until `cleanup` removes them (0: no limit)."""

FAILED_TOKENS_PER_MINUTE = 10
"""Wrong API tokens (Bearer or `/signin`) a client address may send per minute, in bursts up
to that many; a real token is 32 characters or more, so this only slows a guesser down."""

TOKEN_FILE_CHECK_S = 1.0
"""How often each worker looks (one `stat`) whether API_TOKENS_FILE changed: a deleted token
stops working within about this long, and no request ever waits on the file."""

SESSION_MAX_AGE_S = 43200.0
"""A page session (cookie) ends this long after sign-in, whatever happens meanwhile."""

ALLOWED_HOSTS = ("localhost", "127.0.0.1", "::1")
"""`Host` names the server answers to, besides its bind address's host: a page on another name
(a DNS-rebinding one) is refused. IPv6 literals without their brackets."""

UPLOAD_MAX_BYTES = 1024 ** 3
"""Largest upload to `POST /api/uploads`: streamed to disk, so the limit is about disk, not memory."""

UPLOAD_READ_TIMEOUT_S = 30.0
"""Longest wait for each 64 KiB of an upload's body: a client trickling bytes is cut off."""

SMTP_PORT = 25
"""The `email` kind's SMTP port when SMTP_HOST is set."""

SMTP_SENDER = "flask-progress@localhost"
"""The `From:` of every message `email` sends."""

CLEANUP_CRON = "17 * * * *"
"""When the server starts a `cleanup` job: five-field cron, UTC (hourly, at 17 past)."""

CLEANUP_AFTER_S = 86400.0
"""What `cleanup` considers old: finished jobs, uploads and orphan result files older than this."""

IDEMPOTENCY_KEEP_S = 24 * 3600.0
"""How long an `Idempotency-Key` answers with the job it first created."""

MAX_DELAY_S = 30 * 24 * 3600
"""The latest a job may be asked to start (`delay_s`, `run_at`): thirty days ahead."""
REDIS_MAX_CONNECTIONS = 50
"""Redis connections one worker's requests and jobs share (REDIS_MAX_CONNECTIONS). Past it a call
waits for a free one: a burst of stream opens is load, never an outage."""

FORWARDED_ALLOW_IPS = "127.0.0.1,::1"
"""Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: gunicorn's own default, so a
proxy on the same host works as it comes and a client elsewhere cannot claim another address."""
