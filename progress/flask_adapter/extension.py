"""`ProgressExtension`: the product inside a Flask app, the standalone one or another.

`ProgressExtension(app, url_prefix="/progress", owner_of_request=...)` keeps a
`ProgressService` in `app.extensions` and serves the whole JSON API and both streams under
`<url_prefix>/api`, with the contract's JSON errors there whatever the app's own error pages
are, and its static files under `<url_prefix>/static` (issue 16).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, request
from werkzeug.routing import RequestRedirect

from ..kinds import environment
from ..registry import KindRegistry
from ..service import ProgressService, ServiceOptions
from .errors import ApiError, json_error
from .jobs_routes import jobs
from .openapi import openapi
from .owners import BEARER_CHALLENGE, open_access, refuse_cross_site, request_owner
from .state import EXTENSION_KEY, Mounted, OwnerOfRequest, mounted
from .stream_routes import streams
from .upload_routes import install_upload_rate, uploads

log = logging.getLogger("progress.flask_adapter")

STATIC_FOLDER = Path(__file__).resolve().parent.parent / "static"
"""`progress/static/`: the files a host's own templates use (the `<job-progress>` element)."""

STATIC_PREFIX_OF_THE_ROOT = "/progress"
"""Under the empty prefix `/static/` is the app's own, so the extension's files are at `/progress/static/`."""

api = Blueprint("progress_api", __name__)
for _routes in (jobs, streams, uploads, openapi):
    api.register_blueprint(_routes)
api.register_error_handler(Exception, json_error)  # HTTPExceptions included: JSON, never the app's pages

assets = Blueprint("progress_assets", __name__, static_folder=STATIC_FOLDER, static_url_path="/static")


class ProgressExtension:
    """`ProgressExtension(app, ...)` or `ProgressExtension(...).init_app(app)`.

    `owner_of_request(request)` maps the app's login to an `Owner` (None: 401); without it
    every client is its own admin owner, as the standalone server's open mode. `kinds_config`
    is for the shipped kinds (the uploads' folder and limits, e-mail, fetch); by default their
    files go to the app's instance folder. `openapi_extra` adds the app's own routes to the
    API document.
    """

    def __init__(self, app: Flask | None = None, *, url_prefix: str = "/progress",
                 owner_of_request: OwnerOfRequest | None = None, registry: KindRegistry | None = None,
                 options: ServiceOptions | None = None, kinds_config: environment.KindsConfig | None = None,
                 openapi_extra: Mapping[str, Any] | None = None) -> None:
        if url_prefix and not url_prefix.startswith("/"):
            raise ValueError(f"url_prefix: expected '' or a path such as '/progress', got {url_prefix!r}")
        self.url_prefix = url_prefix.rstrip("/")
        self.owner_of_request = owner_of_request
        self.registry = registry
        self.options = options or ServiceOptions()
        self.kinds_config = kinds_config
        self.openapi_extra = openapi_extra or {}
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Start the service and mount its routes; the service's errors (a Redis that does not
        answer, a database in use) are raised here, before the app serves anything."""
        if self.owner_of_request is None:
            log.warning("ProgressExtension without owner_of_request: every client sees and controls every job")
        service = ProgressService(self.registry, dataclasses.replace(self.options, url_prefix=self.url_prefix))
        app.extensions[EXTENSION_KEY] = Mounted(service, self.url_prefix, self.owner_of_request or open_access,
                                                self.openapi_extra)
        environment.install(self.kinds_config or environment.KindsConfig(data_dir=app.instance_path),
                            service.runner)
        install_upload_rate(app, self.options.limits.jobs_per_minute)
        app.before_request(guard_api)
        app.register_blueprint(api, url_prefix=mounted(app).api_root)
        app.register_blueprint(assets, url_prefix=self.url_prefix or STATIC_PREFIX_OF_THE_ROOT)


def guard_api() -> Response | None:
    """Before any request under `<prefix>/api`, whether a route matches or not: refuse cross-site
    changes, 401 without an owner, and the JSON 404 or 405 of a path or method no route has.
    It answers itself, so the app's own error handlers never turn these into its pages."""
    if not mounted().is_api_path(request.path):
        return None
    try:
        refuse_cross_site()
        if request_owner() is None:
            raise ApiError("unauthorized", "This request has no valid credentials: sign in, or send "
                                           "'Authorization: Bearer <token>'.", BEARER_CHALLENGE)
        if request.routing_exception is not None and not isinstance(request.routing_exception, RequestRedirect):
            raise request.routing_exception
    except Exception as error:  # each becomes its JSON answer (a bug in owner_of_request: a logged 500)
        return json_error(error)
    return None
