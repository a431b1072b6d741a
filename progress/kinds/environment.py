"""What the shipped kinds need from the server they run in, installed once at app creation.

A kind runs in a greenlet with no request and no Flask, so it cannot read the app's
settings. The web adapter (`ProgressExtension(kinds_config=...)`, fed by
`web/kinds_environment.py` in the standalone app) calls `install()` with a frozen
`KindsConfig`; kinds call `config()`. Only `cleanup` needs the job runner, which comes the same way.
One server process has one app, so one installed environment is enough.
There is no default data folder: a shared one would mix two servers' files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from .. import defaults
from ..runner import JobRunner


@dataclass(frozen=True)
class SmtpConfig:
    """An SMTP server for `email`; absent, messages go to the outbox folder."""

    host: str
    port: int = defaults.SMTP_PORT
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class KindsConfig:
    """The shipped kinds' settings, as plain values (see docs/kinds.md for each)."""

    data_dir: str
    """This server's own folder for the kinds' files; never one shared with another server."""
    upload_max_bytes: int = defaults.UPLOAD_MAX_BYTES
    upload_bytes_per_owner: int = defaults.LIMIT_UPLOAD_BYTES_PER_OWNER
    upload_read_timeout_s: float = defaults.UPLOAD_READ_TIMEOUT_S
    smtp: SmtpConfig | None = None
    sender: str = defaults.SMTP_SENDER
    fetch_allowed_hosts: tuple[str, ...] = ()
    fetch_allow_private: bool = False
    cleanup_after_s: float = defaults.CLEANUP_AFTER_S

    def folder(self, name: str) -> str:
        """A subfolder of `data_dir`, created on first use."""
        path = os.path.join(self.data_dir, name)
        os.makedirs(path, exist_ok=True)
        return path


class _Installed:
    """The one environment of this process."""

    config: KindsConfig | None = None
    runner: JobRunner | None = None


def install(kinds_config: KindsConfig, runner: JobRunner | None = None) -> None:
    """Called by the web layer when it builds the app; the last call wins."""
    _Installed.config = kinds_config
    _Installed.runner = runner


def config() -> KindsConfig:
    """The installed settings; a kind run before any were installed fails saying so."""
    if _Installed.config is None:
        raise RuntimeError("no kinds settings installed: set up ProgressExtension on the app, "
                           "or call progress.kinds.environment.install(KindsConfig(data_dir=...))")
    return _Installed.config


def job_runner() -> JobRunner:
    """The runner of the server's app; only maintenance kinds need it."""
    if _Installed.runner is None:
        raise RuntimeError("no job runner installed: set up ProgressExtension on the app first")
    return _Installed.runner
