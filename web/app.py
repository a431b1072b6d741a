"""`create_app(settings)`: the Flask app with its own hub, runner and job store."""

from __future__ import annotations

import importlib
import logging
import os

from flask import Flask

from progress import defaults
from progress.flask_adapter import OwnerOfRequest, ProgressExtension, service_of
from progress.flask_adapter.state import mounted
from progress.gunicorn_transport import STREAM_OPENER_KEY
from progress.limits import OwnerLimits
from progress.registry import KindRegistry
from progress.service import InvalidSchedule, ServiceOptions
from progress.sqlite_journal import JobsDbInUse

from .allowed_hosts import allowed_hosts, install_allowed_hosts
from .auth import install_access_control, watch_token_file
from .data_folder import resolve_data_paths
from .kinds_environment import kinds_config, settings_schedules
from .openapi import standalone_part
from .proxy import ForwardedHeaders
from .pages import NOSNIFF
from .request_log import install_request_log
from .settings import Settings, SettingsError, load_settings
from .stream_shortcut import StreamShortcut


def create_app(settings: Settings | None = None, registry: KindRegistry | None = None,
               owner_of_request: OwnerOfRequest | None = None) -> Flask:
    """A new app with its own hub, runner and job store; `settings` default to the environment.

    The JSON API and the streams are `ProgressExtension`'s, mounted at the empty prefix; this
    app adds what a server of its own needs: settings, the page, API tokens and sign-in,
    `/healthz`, `/metrics`, allowed hosts, proxy headers and the request log.

    Everything it keeps on disk goes in its data folder (`DATA_DIR`, by default the app's
    instance folder); one that cannot be created or written raises `SettingsError`.

    `owner_of_request(request)` says which owner a request speaks for (None: no valid
    credentials, 401); without it the server uses API tokens, or runs open with none.
    """
    settings = settings or load_settings(os.environ)
    load_kinds(settings.job_kinds_modules)
    app = Flask(__name__)
    settings = resolve_data_paths(settings, app.instance_path)
    app.config["MAX_CONTENT_LENGTH"] = defaults.MAX_BODY_BYTES
    app.config["SETTINGS"] = settings
    app.json.sort_keys = False  # keep the contract's field order
    app.json.ensure_ascii = False
    install_request_log(app)
    install_allowed_hosts(app, settings)  # before any other check: an unknown Host is refused first
    access = install_access_control(app, settings, owner_of_request)
    try:
        ProgressExtension(app, url_prefix="", owner_of_request=access.owner_of_request, registry=registry,
                          options=service_options(settings), kinds_config=kinds_config(settings),
                          openapi_extra=standalone_part())
    except JobsDbInUse as error:
        raise SettingsError(f"JOBS_DB: {error}") from None
    except InvalidSchedule as error:
        raise SettingsError(str(error)) from None
    watch_token_file(app, settings, access)
    if access.owner_without_context is not None:  # streams open without Flask's request cycle
        shortcut = StreamShortcut(app.wsgi_app, service_of(app), access.owner_without_context,
                                  allowed_hosts(settings), [NOSNIFF], mounted(app).api_root)
        app.wsgi_app = shortcut
        # and, under gunicorn, before gunicorn reads the request (progress/gunicorn_transport/front_door.py)
        app.extensions[STREAM_OPENER_KEY] = ForwardedHeaders(shortcut.open_only, settings.forwarded_allow_ips)
    app.wsgi_app = ForwardedHeaders(app.wsgi_app, settings.forwarded_allow_ips)  # behind a proxy: each client's own address

    from .errors import register_error_handlers
    from .health import health
    from .metrics import install_metrics, metrics
    from .pages import pages

    install_metrics(app)
    for blueprint in (health, metrics, pages):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app


def service_options(settings: Settings) -> ServiceOptions:
    """The service's knobs from the settings."""
    return ServiceOptions(
        concurrency=settings.jobs_concurrency,
        queue_size=settings.jobs_queue_size,
        keep_s=settings.jobs_keep_s,
        retry_ms=settings.sse_retry_ms,
        heartbeat_s=settings.sse_heartbeat_s,
        results_dir=settings.results_dir,
        jobs_db=settings.jobs_db,
        limits=OwnerLimits(streams=settings.limit_streams_per_owner,
                           queued=settings.limit_queued_per_owner,
                           jobs_per_minute=settings.limit_jobs_per_minute,
                           running=running_per_owner(settings)),
        redis=settings.redis_address,
        redis_outage_grace_s=settings.redis_outage_grace_s,
        schedules=settings_schedules(settings),
    )


def running_per_owner(settings: Settings) -> int:
    """`LIMIT_RUNNING_PER_OWNER`, or by default half the slots (at least one)."""
    if settings.limit_running_per_owner is not None:
        return settings.limit_running_per_owner
    return max(1, settings.jobs_concurrency // 2)


def load_kinds(modules: tuple[str, ...]) -> None:
    """Import the shipped kinds and those named by `JOB_KINDS_MODULES`, so `@job_kind` registers them."""
    importlib.import_module("progress.kinds")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise SettingsError(f"JOB_KINDS_MODULES: cannot import {name!r} ({error})") from None


def configure_logging() -> None:
    """One line per record on stderr, for both entry points.

    Every request logs a line, so a record skips what no line shows (the logging HOWTO's
    "Optimization"): the caller's file and line, and the thread, which under gevent is a
    dummy thread made anew for each request's greenlet."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # type: ignore[attr-defined]  # documented there, though its name is private
