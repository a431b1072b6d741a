"""The only module of `progress` that imports Flask: the extension and the SSE response."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app

from . import defaults
from .gunicorn_transport.chunked import ChunkedSocket
from .gunicorn_transport.direct import DirectReader
from .registry import KindRegistry
from .service import ProgressService, ServiceOptions
from .streams import Stream

EXTENSION_KEY = "progress"

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""No caching, no proxy buffering; never compressed (django-eventstream#57)."""


class ProgressExtension:
    """`ProgressExtension(app)` or `init_app(app)`: keeps a `ProgressService` in `app.extensions`."""

    def __init__(self, app: Flask | None = None, *, registry: KindRegistry | None = None,
                 options: ServiceOptions | None = None) -> None:
        self.registry = registry
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.extensions[EXTENSION_KEY] = ProgressService(self.registry, self.options)


def service_of(app: Flask | None = None) -> ProgressService:
    """The service of `app`, or of the app handling the current request."""
    return (app or current_app).extensions[EXTENSION_KEY]


def sse_response(stream: Stream, environ: dict[str, Any] | None = None) -> Response:
    """A streaming `text/event-stream` response with the contract's headers.

    The body is the `Stream` itself, so gunicorn's worker, with the take-over installed
    (progress/gunicorn_transport), can serve it detached. Otherwise, under gunicorn the
    client socket gets a send timeout, so a client that accepts nothing for
    `SLOW_CLIENT_CUTOFF_S` is cut off instead of pinning its greenlet, and the hub may write
    to it directly.
    """
    environ = environ or {}
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(defaults.SLOW_CLIENT_CUTOFF_S)
    chunked = ChunkedSocket.from_environ(environ)
    if chunked is not None:
        stream.use_writer(DirectReader(chunked))
    return Response(stream, status=200, content_type="text/event-stream",
                    headers=SSE_HEADERS, direct_passthrough=True)
