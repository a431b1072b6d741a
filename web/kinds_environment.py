"""The shipped kinds' settings and the `cleanup` schedule, from the standalone app's settings.

Kinds run in greenlets with no request, so they cannot read the app's settings: they
get plain values and the runner through `progress.kinds.environment`, which
`ProgressExtension(kinds_config=...)` installs when `create_app` builds the app, rather
than when a blueprint is registered, so blueprints only declare routes.
"""

from __future__ import annotations

from progress.kinds import environment
from progress.schedules import Schedule

from .settings import Settings


def kinds_config(settings: Settings) -> environment.KindsConfig:
    """The shipped kinds' part of settings whose paths are resolved (`web.data_folder`)."""
    if settings.kinds_data_dir is None:
        raise ValueError("kinds_data_dir is unresolved: pass the settings through resolve_data_paths first")
    smtp = None
    if settings.smtp_host:
        smtp = environment.SmtpConfig(settings.smtp_host, settings.smtp_port, settings.smtp_starttls,
                                      settings.smtp_username, settings.smtp_password)
    return environment.KindsConfig(
        data_dir=settings.kinds_data_dir,
        upload_max_bytes=settings.upload_max_bytes,
        upload_bytes_per_owner=settings.limit_upload_bytes_per_owner,
        upload_read_timeout_s=settings.upload_read_timeout_s,
        smtp=smtp,
        sender=settings.smtp_sender,
        fetch_allowed_hosts=settings.fetch_allowed_hosts,
        fetch_allow_private=settings.fetch_allow_private,
        cleanup_after_s=settings.cleanup_after_s,
    )


def settings_schedules(settings: Settings) -> tuple[Schedule, ...]:
    """`cleanup` at `CLEANUP_CRON` (none when it is empty)."""
    return (Schedule("cleanup", "cleanup", settings.cleanup_cron),) if settings.cleanup_cron else ()
