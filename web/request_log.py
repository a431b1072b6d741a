"""One structured log line per request: method, path, status, time, owner. Never a query
string, a header, a cookie or a body, so no token or secret param reaches the log. The path
arrives URL-decoded, so each value is escaped: `%0A` cannot start a fake line (issue 15)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from progress.access import Owner
from progress.flask_adapter.owners import identified_owner
from progress.log_values import log_value

log = logging.getLogger("web.requests")


def _start_clock() -> None:
    g.started = time.perf_counter()


def _log_request(response: Response) -> Response:
    log_request(request.method, request.path, response.status_code, g.get("started", time.perf_counter()),
                identified_owner())
    return response


def log_request(method: str, path: str, status: int, started: float, owner: Owner | None) -> None:
    """The line of one request that began at `started` (`time.perf_counter()`)."""
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("method=%s path=%s status=%d duration_ms=%.1f owner=%s", log_value(method), log_value(path),
             status, elapsed_ms, log_value(owner.name) if owner else "-")


def install_request_log(app: Flask) -> None:
    app.before_request(_start_clock)
    app.after_request(_log_request)
