"""One place that turns every failure into the contract's JSON error (or a 404 page for people)."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from progress.errors import ProgressError, RetryLater
from progress.log_values import log_value

log = logging.getLogger("web.errors")

STATUS_OF = {
    "invalid_json": 400,
    "bad_request": 400,
    "unknown_kind": 400,
    "invalid_params": 400,
    "unauthorized": 401,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_cancellable": 409,
    "no_result": 409,
    "idempotency_conflict": 409,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "internal": 500,
    "queue_full": 503,
    "shutting_down": 503,
    "unavailable": 503,
}
"""The contract's codes and their statuses; no other codes are used."""

OUTAGE_RETRY_AFTER_S = 5
"""`Retry-After` sent with 503 `unavailable`: a Redis that restarts or fails over is back within seconds."""

CODE_OF_STATUS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                  413: "body_too_large", 415: "unsupported_media_type"}

MESSAGE_OF_STATUS = {
    400: "The request is malformed.",
    404: "There is nothing at this path.",
    405: "This method is not allowed here.",
    413: "The request body is larger than 64 KiB.",
    415: "The body must be JSON, sent with Content-Type: application/json.",
    500: "Something went wrong on the server; it has been logged.",
}


class ApiError(Exception):
    """An error found by the web layer itself (bad query, bad body)."""

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = STATUS_OF[code]
    response.headers.update(headers or {})
    return response


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def wants_json() -> bool:
    """The API and health check always speak JSON; pages do when a client asks for it."""
    if is_api_path(request.path) or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def handle_progress_error(error: ProgressError) -> Response:
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RetryLater) else {}
    if not wants_json() and error.code == "not_found":
        return _not_found_page()
    return error_response(error.code, error.message, headers)


def handle_api_error(error: ApiError) -> Response:
    return error_response(error.code, error.message, error.headers)


def handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    if status == 404 and not wants_json():
        return _not_found_page()
    code = CODE_OF_STATUS.get(status, "internal")
    message = MESSAGE_OF_STATUS.get(status, MESSAGE_OF_STATUS[500])
    headers = {}
    if status == 405:
        allowed = [h for h in error.get_headers() if h[0] == "Allow"]
        headers = dict(allowed)
        message = f"Use {headers.get('Allow', 'another method')} on this path."
    if code == "internal":
        log.error("HTTP %s turned into 500 on %s %s", status, request.method, log_value(request.path))
    return error_response(code, message, headers)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, log_value(request.path))
    return error_response("internal", MESSAGE_OF_STATUS[500])


def _not_found_page() -> Response:
    return Response(render_template("404.html"), status=404, content_type="text/html; charset=utf-8")


def register_outage_handler(app: Flask, errors: tuple[type[Exception], ...]) -> None:
    """A backend outage (Redis down) is not a bug: 503 `unavailable` with `Retry-After`, and one
    log line without a traceback, not a traceback per request while it lasts."""

    def handle_outage(error: Exception) -> Response:
        log.warning("job store unreachable on %s %s: %s", request.method, log_value(request.path), error)
        return error_response("unavailable", "The job store cannot be reached right now; try again shortly.",
                              {"Retry-After": str(OUTAGE_RETRY_AFTER_S)})

    for error_class in errors:
        app.register_error_handler(error_class, handle_outage)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ProgressError, handle_progress_error)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
