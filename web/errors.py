"""The standalone app's own errors: JSON under `/api/` and on `/healthz` (the adapter's
`json_error`, one place for every code), a 404 page in the site's style for people."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import NotFound

from progress.errors import ProgressError
from progress.flask_adapter import json_error
from progress.flask_adapter.state import mounted


def wants_json() -> bool:
    """The API and health check always speak JSON; pages do when a client asks for it."""
    if mounted().is_api_path(request.path) or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def is_not_found(error: Exception) -> bool:
    return isinstance(error, NotFound) or (isinstance(error, ProgressError) and error.code == "not_found")


def handle_error(error: Exception) -> Response:
    if is_not_found(error) and not wants_json():
        return Response(render_template("404.html"), status=404, content_type="text/html; charset=utf-8")
    return json_error(error)


def register_error_handlers(app: Flask) -> None:
    """For the app's own routes and hooks; the API's blueprint answers its own errors."""
    app.register_error_handler(Exception, handle_error)
