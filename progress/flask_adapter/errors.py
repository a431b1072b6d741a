"""Every failure under the API as the contract's JSON error, in one place.

`json_error` answers for any exception: the adapter's blueprint uses it as its error
handler, its guard for requests that reach no route, and the standalone app for its own
JSON answers, so an error looks the same wherever it happens and whatever the host
app's own error pages are (issue 16).
"""

from __future__ import annotations

import logging

from flask import Response, request
from werkzeug.exceptions import HTTPException

from ..errors import ProgressError, RetryLater
from ..log_values import log_value
from .responses import json_response
from .state import mounted

log = logging.getLogger("progress.flask_adapter")

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
    """An error found by the web layer itself (bad query, bad body, no credentials)."""

    def __init__(self, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, STATUS_OF[code], headers)


def json_error(error: Exception) -> Response:
    """The contract's answer to `error`: its own code, the code of an HTTP status, 503 while
    the job store is away, else a logged bug as 500 `internal`."""
    if isinstance(error, ApiError):
        return error_response(error.code, error.message, error.headers)
    if isinstance(error, ProgressError):
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RetryLater) else {}
        return error_response(error.code, error.message, headers)
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, mounted().service.outage_errors):
        # Not a bug: one log line per outage without a traceback, not one per request while it lasts.
        mounted().service.store.outage.failed(error, f"answering {request.method} {log_value(request.path)}")
        return error_response("unavailable", "The job store cannot be reached right now; try again shortly.",
                              {"Retry-After": str(OUTAGE_RETRY_AFTER_S)})
    log.error("unhandled error on %s %s", request.method, log_value(request.path), exc_info=error)
    return error_response("internal", MESSAGE_OF_STATUS[500])


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = CODE_OF_STATUS.get(status, "internal")
    message = MESSAGE_OF_STATUS.get(status, MESSAGE_OF_STATUS[500])
    headers = {}
    if status == 405:
        headers = {name: value for name, value in error.get_headers() if name == "Allow"}
        message = f"Use {headers.get('Allow', 'another method')} on this path."
    if code == "internal":
        log.error("HTTP %s turned into 500 on %s %s", status, request.method, log_value(request.path))
    return error_response(code, message, headers)
