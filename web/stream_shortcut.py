"""Opening an SSE stream without Flask's request cycle (issue 14 part 8).

A reconnect storm (a restart, a network blip, a proxy reloading) is thousands of stream
requests at once, and Flask's request cycle (its two contexts, the session, the hooks, the
response object) cost more of the server's CPU per stream opened than everything else
together (docs/performance.md). This WSGI middleware, in front of Flask, serves the two
stream routes itself in the plain case: a GET without a body, to a Host the server answers
to, from an owner known from the request alone (open access, or a Bearer token) who may
open that stream. Anything else goes to Flask unchanged, which checks it all again and
answers it (a refusal in the contract's JSON): this path only ever says yes, with the
same checks, the same response and the same log line as the Flask route. Under gunicorn,
`open_only` is also the front door's `StreamOpener`, which asks it before gunicorn has
even read the request (progress/gunicorn_transport/front_door.py).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Request

from progress.access import Owner
from progress.errors import ProgressError
from progress.flask_adapter import OwnerOfRequest
from progress.flask_adapter.responses import prepare_stream, sse_headers
from progress.flask_adapter.stream_routes import last_event_id
from progress.service import ProgressService
from progress.streams import Stream

from .allowed_hosts import answers_to
from .request_log import log_request

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

STATUS_OK = "200 OK"


class StreamShortcut:
    """Serves `GET <api_root>/events` and `GET <api_root>/jobs/<id>/events` in the plain case;
    hands every other request to `app` (Flask)."""

    def __init__(self, app: WSGIApp, service: ProgressService, owner_of: OwnerOfRequest,
                 allowed_hosts: tuple[str, ...], extra_headers: list[tuple[str, str]], api_root: str = "/api") -> None:
        self.app = app
        self.service = service
        self.owner_of = owner_of
        """The owner from the request alone, or None when only Flask can tell (then Flask does)."""
        self.allowed_hosts = allowed_hosts
        self.headers = sse_headers() + extra_headers
        self.route = re.compile(rf"{re.escape(api_root)}/(?:events|jobs/([^/]+)/events)")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        answer = self.open_only(environ, start_response)
        return self.app(environ, start_response) if answer is None else answer

    def open_only(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Stream | None:
        """The stream of a plain stream request, its response started; None, with nothing
        started, for any other request (a `StreamOpener` of progress.gunicorn_transport)."""
        started = time.perf_counter()
        request = Request(environ)  # werkzeug's parsing, as Flask's own request object would read it
        opened = self._open(request)
        if opened is None:
            return None
        stream, owner = opened
        prepare_stream(stream, environ)
        start_response(STATUS_OK, self.headers)
        log_request(request.method, request.path, 200, started, owner)
        return stream

    def _open(self, request: Request) -> tuple[Stream, Owner] | None:
        """The stream and its owner, or None for anything Flask should answer."""
        if request.method != "GET" or request.content_length or "Transfer-Encoding" in request.headers:
            return None
        route = self.route.fullmatch(request.path)
        if route is None or not answers_to(request.host, self.allowed_hosts):
            return None
        owner = self.owner_of(request)
        if owner is None:
            return None
        streams = self.service.streams
        try:
            if route[1] is None:
                return streams.all_stream(last_event_id(request), owner), owner
            stream = streams.job_stream(route[1], last_event_id(request), owner)
        except (ProgressError, *self.service.outage_errors):
            return None  # 404, 429 or 503: Flask asks again and answers in the contract's JSON
        return (stream, owner) if stream is not None else None
