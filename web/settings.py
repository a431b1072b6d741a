"""Settings from environment variables into one frozen object. Stdlib only: `gunicorn.conf.py` reads it.

A bad value raises `SettingsError` with a line naming the variable; both entry
points print that line and exit before binding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from progress import defaults  # stdlib only, like this module
from progress.redis_backend.address import RedisAddress, parse_master_name, parse_sentinels  # stdlib only too

from .proxy import TrustedProxies
from .tokens import TokenFile, read_token_file


class SettingsError(ValueError):
    """A setting's value is unusable; the message starts with the variable's name."""


@dataclass(frozen=True)
class Settings:
    """Every default comes from `progress.defaults`; a path left None is resolved when the app is
    built (`web.data_folder`), since the data folder's default is the Flask app's instance folder."""

    bind: str = defaults.BIND
    jobs_concurrency: int = defaults.JOBS_CONCURRENCY
    jobs_queue_size: int = defaults.JOBS_QUEUE_SIZE
    jobs_keep_s: float = defaults.JOBS_KEEP_S
    sse_retry_ms: int = defaults.SSE_RETRY_MS
    sse_heartbeat_s: float = defaults.SSE_HEARTBEAT_S
    redis_url: str | None = None
    """Redis' address; beside REDIS_SENTINELS only its user, password, database and TLS."""
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    """Redis Sentinel's addresses: they name the primary (REDIS_SENTINEL_MASTER) and follow a failover."""
    redis_sentinel_master: str | None = None
    redis_max_connections: int = defaults.REDIS_MAX_CONNECTIONS
    redis_outage_grace_s: float = defaults.REDIS_OUTAGE_GRACE_S
    """How long running jobs ride out a Redis outage before they end `interrupted`."""
    job_kinds_modules: tuple[str, ...] = ()
    data_dir: str | None = None
    """This instance's own folder for everything it keeps on disk; None: the app's instance folder."""
    jobs_db: str | None = None
    """The jobs database; None: `jobs.sqlite3` in the data folder; `:memory:`: nothing on disk."""
    results_dir: str | None = None
    """Where result files are written; None: `results/` in the data folder."""
    # The shipped kinds (docs/kinds.md); read by `progress.kinds.environment`, never by a kind itself.
    kinds_data_dir: str | None = None
    """Where `report` keeps its database, `email` its outbox and uploads their files; None: the data folder."""
    upload_max_bytes: int = defaults.UPLOAD_MAX_BYTES
    """Largest upload accepted by `POST /api/uploads`; a larger one gets 413."""
    upload_read_timeout_s: float = defaults.UPLOAD_READ_TIMEOUT_S
    """Longest wait for each 64 KiB of an upload; slower, it is refused and nothing is kept."""
    smtp_host: str | None = None
    """SMTP server for `email`; None: messages go to the outbox folder as `.eml` files."""
    smtp_port: int = defaults.SMTP_PORT
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_sender: str = defaults.SMTP_SENDER
    fetch_allowed_hosts: tuple[str, ...] = ()
    """Hosts `fetch` may call: names, `*.example.com`, or `*` for any; empty: none."""
    fetch_allow_private: bool = False
    """Let `fetch` reach loopback, private and link-local addresses (tests, intranets)."""
    cleanup_cron: str = defaults.CLEANUP_CRON
    """When the server starts `cleanup` (five-field cron, UTC); empty: never on its own."""
    """Start a `cleanup` job this often; 0: never on its own."""
    cleanup_after_s: float = defaults.CLEANUP_AFTER_S
    """`cleanup` removes finished jobs, result files and uploads older than this."""
    # Access control and limits (README "Who may see and stop a job").
    api_tokens_file: TokenFile | None = None
    """API_TOKENS_FILE and the tokens it held at start; None: the server runs open (everyone
    sees every job). The running server re-reads the file when it changes (`web.token_watch`)."""
    secret_key: str | None = field(default=None, repr=False)
    """Signs the page's session cookie; None: a random key, so sessions end at a restart."""
    allow_open_access: bool = False
    """Serve with no tokens on an address other than loopback."""
    allowed_hosts: tuple[str, ...] = ()
    """`Host` names the server answers to (`*.example.com`, `*`); empty: `defaults.ALLOWED_HOSTS`
    and the bind address's host (`web.allowed_hosts`)."""
    session_max_age_s: float = defaults.SESSION_MAX_AGE_S
    """A page session ends this long after sign-in."""
    limit_streams_per_owner: int = defaults.LIMIT_STREAMS_PER_OWNER
    limit_queued_per_owner: int = defaults.LIMIT_QUEUED_PER_OWNER
    limit_jobs_per_minute: int = defaults.LIMIT_JOBS_PER_MINUTE
    limit_running_per_owner: int | None = None
    """Jobs one owner may run at once; None: half of `jobs_concurrency`, at least 1; 0: no limit."""
    limit_upload_bytes_per_owner: int = defaults.LIMIT_UPLOAD_BYTES_PER_OWNER
    forwarded_allow_ips: TrustedProxies = TrustedProxies.parse(defaults.FORWARDED_ALLOW_IPS)
    """Proxies whose forwarding headers give the client address and scheme (web/proxy.py)."""

    @property
    def redis_address(self) -> RedisAddress | None:
        """Where Redis is, if the deployment uses it (REDIS_URL, or REDIS_SENTINELS)."""
        if not (self.redis_url or self.redis_sentinels):
            return None
        return RedisAddress(self.redis_url, self.redis_sentinels, self.redis_sentinel_master,
                            self.redis_max_connections)


_BIND = re.compile(r"^(unix:.+|(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]*):\d{1,5})$")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _bind(value: str) -> str:
    if not _BIND.match(value) or (not value.startswith("unix:") and int(value.rsplit(":", 1)[1]) > 65535):
        raise ValueError("expected host:port (port up to 65535) or unix:PATH")
    return value


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d+", value.strip()) or not low <= int(value) <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return int(value)
    return parse


def _seconds(low: float, high: float, *, above_low: bool = False) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        fits = (number > low if above_low else number >= low) and number <= high
        if not fits:  # also refuses nan
            bound = "above" if above_low else "from"
            raise ValueError(f"expected a number of seconds {bound} {low:g} up to {high:.15g}")
        return number
    return parse


def _redis_url(value: str) -> str:
    """The shape only (redis-py's URL forms); whether Redis answers is checked as the server starts."""
    url = urlsplit(value.strip())
    try:
        port = url.port
    except ValueError:
        port = -1
    database = url.path.strip("/")
    if url.scheme == "unix" and url.path and port is None:
        return value.strip()
    if url.scheme not in ("redis", "rediss") or not url.hostname or port == -1 or \
            not (database == "" or database.isdigit()) or url.query or url.fragment:
        raise ValueError("expected redis://[user:password@]host[:port][/db], rediss://… or unix:///path")
    return value.strip()


def _modules(value: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    for name in names:
        if not _MODULE.match(name):
            raise ValueError(f"expected importable module names joined by commas, {name!r} is not one")
    return names


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ValueError("expected 1 or 0 (true/false, yes/no, on/off)")
    return lowered in ("1", "true", "yes", "on")


_HOST_PATTERN = re.compile(r"^(\*|(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_.\-]*[A-Za-z0-9_])?|\[[0-9a-fA-F:.]+\])$")


def _hosts(value: str) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in value.split(",") if name.strip())
    for name in names:
        if not _HOST_PATTERN.match(name):
            raise ValueError(f"expected host names, *.domain or * joined by commas, {name!r} is not one")
    return tuple(name.strip("[]") for name in names)  # an IPv6 literal as URLs give it, unbracketed


def _text(value: str) -> str:
    return value.strip()


def _cron(value: str) -> str:
    """Five-field cron, or `off` for never."""
    from progress.schedules import check_cron  # croniter, only when the setting is given

    return "" if value.strip().lower() == "off" else check_cron(value.strip())


_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1):\d+$")


def _secret_key(value: str) -> str:
    if len(value) < 32:
        raise ValueError("expected at least 32 characters")
    return value


def _check_sentinels(settings: Settings) -> None:
    """Sentinels and the primary's name come together; a URL beside them gives only credentials,
    database and TLS, so a unix socket (no host to fail over) cannot be one."""
    if settings.redis_sentinels and not settings.redis_sentinel_master:
        raise SettingsError("REDIS_SENTINEL_MASTER: needed with REDIS_SENTINELS: "
                            "the name the sentinels monitor the primary under")
    if settings.redis_sentinel_master and not settings.redis_sentinels:
        raise SettingsError("REDIS_SENTINELS: needed with REDIS_SENTINEL_MASTER: "
                            "the sentinels' host:port pairs, joined by commas")
    if settings.redis_sentinels and settings.redis_url and settings.redis_url.startswith("unix:"):
        raise SettingsError("REDIS_URL: a unix socket cannot be used with REDIS_SENTINELS, which "
                            "name the primary's host and port; give redis://[user:password@]host/db or leave it unset")


def _check_open_access(settings: Settings) -> None:
    """With no tokens, anyone who reaches the server runs and reads every job: loopback only,
    unless told explicitly."""
    if settings.api_tokens_file or settings.allow_open_access:
        return
    if not (settings.bind.startswith("unix:") or _LOOPBACK.match(settings.bind)):
        raise SettingsError(f"BIND: {settings.bind!r} is not a loopback address and no API_TOKENS_FILE is set, "
                            "so anyone on the network could run and read jobs; set API_TOKENS_FILE, "
                            "or ALLOW_OPEN_ACCESS=1 to serve openly anyway")


_PARSERS: dict[str, tuple[str, Callable[[str], object]]] = {
    "BIND": ("bind", _bind),
    "JOBS_CONCURRENCY": ("jobs_concurrency", _integer(1, 1000)),
    "JOBS_QUEUE_SIZE": ("jobs_queue_size", _integer(0, 1_000_000)),
    "JOBS_KEEP_S": ("jobs_keep_s", _seconds(0, 365 * 24 * 3600)),
    "SSE_RETRY_MS": ("sse_retry_ms", _integer(0, 3_600_000)),
    "SSE_HEARTBEAT_S": ("sse_heartbeat_s", _seconds(0, defaults.SSE_HEARTBEAT_MAX_S, above_low=True)),
    "REDIS_URL": ("redis_url", _redis_url),
    "REDIS_OUTAGE_GRACE_S": ("redis_outage_grace_s", _seconds(0, 24 * 3600)),
    "REDIS_SENTINELS": ("redis_sentinels", parse_sentinels),
    "REDIS_SENTINEL_MASTER": ("redis_sentinel_master", parse_master_name),
    "REDIS_MAX_CONNECTIONS": ("redis_max_connections", _integer(1, 10_000)),
    "JOB_KINDS_MODULES": ("job_kinds_modules", _modules),
    "DATA_DIR": ("data_dir", str),
    "JOBS_DB": ("jobs_db", str),
    "RESULTS_DIR": ("results_dir", str),
    "KINDS_DATA_DIR": ("kinds_data_dir", str),
    "UPLOAD_MAX_BYTES": ("upload_max_bytes", _integer(1, 1 << 40)),
    "UPLOAD_READ_TIMEOUT_S": ("upload_read_timeout_s", _seconds(0, 3600, above_low=True)),
    "SMTP_HOST": ("smtp_host", _text),
    "SMTP_PORT": ("smtp_port", _integer(1, 65535)),
    "SMTP_STARTTLS": ("smtp_starttls", _flag),
    "SMTP_USERNAME": ("smtp_username", _text),
    "SMTP_PASSWORD": ("smtp_password", str),
    "SMTP_SENDER": ("smtp_sender", _text),
    "FETCH_ALLOWED_HOSTS": ("fetch_allowed_hosts", _hosts),
    "FETCH_ALLOW_PRIVATE": ("fetch_allow_private", _flag),
    "CLEANUP_CRON": ("cleanup_cron", _cron),
    "CLEANUP_AFTER_S": ("cleanup_after_s", _seconds(0, 365 * 24 * 3600)),
    "API_TOKENS_FILE": ("api_tokens_file", read_token_file),
    "SECRET_KEY": ("secret_key", _secret_key),
    "ALLOW_OPEN_ACCESS": ("allow_open_access", _flag),
    "ALLOWED_HOSTS": ("allowed_hosts", _hosts),
    "SESSION_MAX_AGE_S": ("session_max_age_s", _seconds(0, 365 * 24 * 3600, above_low=True)),
    "LIMIT_STREAMS_PER_OWNER": ("limit_streams_per_owner", _integer(0, 1_000_000)),
    "LIMIT_QUEUED_PER_OWNER": ("limit_queued_per_owner", _integer(0, 1_000_000)),
    "LIMIT_JOBS_PER_MINUTE": ("limit_jobs_per_minute", _integer(0, 1_000_000)),
    "LIMIT_RUNNING_PER_OWNER": ("limit_running_per_owner", _integer(0, 1000)),
    "LIMIT_UPLOAD_BYTES_PER_OWNER": ("limit_upload_bytes_per_owner", _integer(0, 1 << 50)),
    "FORWARDED_ALLOW_IPS": ("forwarded_allow_ips", TrustedProxies.parse),
}

def _shown(variable: str, raw: str) -> str:
    """The bad value as an error may quote it: never a secret key or a password in a URL."""
    if variable == "SECRET_KEY":
        return "(hidden)"
    return repr(re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", raw))


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read every known variable; unset or empty ones keep their defaults."""
    values = {}
    for variable, (attribute, parse) in _PARSERS.items():
        raw = environ.get(variable, "")
        if raw == "":
            continue
        try:
            values[attribute] = parse(raw)
        except ValueError as error:
            raise SettingsError(f"{variable}: {error}, got {_shown(variable, raw)}") from None
    settings = Settings(**values)
    _check_sentinels(settings)
    _check_open_access(settings)
    return settings
