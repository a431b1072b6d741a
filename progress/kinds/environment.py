"""What the shipped kinds need from the server they run in, installed once at app creation.

A kind runs in a greenlet with no request and no Flask, so it cannot read the app's
settings. The web layer (`web/uploads.py`, when its blueprint is registered) builds
a frozen `KindsConfig` from its settings and calls `install()`; kinds call
`config()`. Only `cleanup` needs the job runner, which comes the same way.
One server process has one app, so one installed environment is enough.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field

from ..runner import JobRunner


@dataclass(frozen=True)
class SmtpConfig:
    """An SMTP server for `email`; absent, messages go to the outbox folder."""

    host: str
    port: int = 25
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class KindsConfig:
    """The shipped kinds' settings, as plain values (see docs/kinds.md for each)."""

    data_dir: str = field(default_factory=lambda: os.path.join(tempfile.gettempdir(), "flask-progress"))
    upload_max_bytes: int = 1024 ** 3
    smtp: SmtpConfig | None = None
    sender: str = "flask-progress@localhost"
    fetch_allowed_hosts: tuple[str, ...] = ()
    fetch_allow_private: bool = False
    cleanup_after_s: float = 86400.0

    def folder(self, name: str) -> str:
        """A subfolder of `data_dir`, created on first use."""
        path = os.path.join(self.data_dir, name)
        os.makedirs(path, exist_ok=True)
        return path


class _Installed:
    """The one environment of this process."""

    config = KindsConfig()
    runner: JobRunner | None = None


def install(kinds_config: KindsConfig, runner: JobRunner | None = None) -> None:
    """Called by the web layer when it builds the app; the last call wins."""
    _Installed.config = kinds_config
    _Installed.runner = runner


def config() -> KindsConfig:
    """The installed settings, or the defaults when no app installed any."""
    return _Installed.config


def job_runner() -> JobRunner:
    """The runner of the server's app; only maintenance kinds need it."""
    if _Installed.runner is None:
        raise RuntimeError("no job runner installed: create the app with web.create_app first")
    return _Installed.runner
