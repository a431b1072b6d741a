"""The adapter's two kinds of answer: JSON in the contract's field order, and SSE streams.

JSON is encoded here rather than by `jsonify`, which follows the host app's JSON settings
(Flask sorts keys by default), so the answers look the same in any app.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from .. import defaults
from ..gunicorn_transport.chunked import WILL_DETACH, ChunkedSocket
from ..gunicorn_transport.direct import DirectReader
from ..jobs import compact_json
from ..streams import Stream

SSE_CONTENT_TYPE = "text/event-stream"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
"""No caching, no proxy buffering; never compressed (django-eventstream#57)."""


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON, keys in the order given."""
    body = compact_json(value)
    return Response(body + "\n", status=status, headers=headers, content_type="application/json")


def sse_response(stream: Stream) -> Response:
    """A streaming `text/event-stream` response with the contract's headers, for the current request.

    The body is the `Stream` itself, so gunicorn's worker, with the take-over installed
    (progress/gunicorn_transport), can serve it detached.
    """
    prepare_stream(stream, request.environ)
    return Response(stream, status=200, content_type=SSE_CONTENT_TYPE, headers=SSE_HEADERS, direct_passthrough=True)


def sse_headers() -> list[tuple[str, str]]:
    """The headers `sse_response` sends, for a WSGI app that starts the response itself."""
    return [*SSE_HEADERS.items(), ("Content-Type", SSE_CONTENT_TYPE)]  # in the order Flask sends them


def prepare_stream(stream: Stream, environ: dict[str, Any]) -> None:
    """Under gunicorn without the take-over, the client socket gets a send timeout, so a client
    that accepts nothing for `SLOW_CLIENT_CUTOFF_S` is cut off instead of pinning its greenlet,
    and the hub may write to it directly. Both need the request's environ."""
    if environ.get(WILL_DETACH):
        return  # the take-over sends it with no greenlet (progress/gunicorn_transport/takeover.py)
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        sock.settimeout(defaults.SLOW_CLIENT_CUTOFF_S)
    chunked = ChunkedSocket.from_environ(environ)
    if chunked is not None:
        stream.use_writer(DirectReader(chunked))
