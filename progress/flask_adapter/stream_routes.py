"""The two Server-Sent Events streams. Errors are JSON until the first byte is sent."""

from __future__ import annotations

from flask import Blueprint, Request, Response, request

from .owners import current_owner
from .responses import sse_response
from .state import service_of

streams = Blueprint("streams", __name__)


def last_event_id(req: Request) -> str | None:
    """The header wins over `?lastEventId=`, for clients that cannot set headers. (Read from the
    environ first: most opens have neither, and werkzeug's lookups raise a KeyError for that.)"""
    header = req.environ.get("HTTP_LAST_EVENT_ID")
    if header is not None or not req.environ.get("QUERY_STRING"):
        return header
    return req.args.get("lastEventId")


@streams.get("/jobs/<job_id>/events")
def job_events(job_id: str) -> Response:
    stream = service_of().streams.job_stream(job_id, last_event_id(request), current_owner())
    if stream is None:
        return Response(status=204)  # the client saw the end: 204 stops EventSource for good
    return sse_response(stream)


@streams.get("/events")
def all_events() -> Response:
    stream = service_of().streams.all_stream(last_event_id(request), current_owner())
    return sse_response(stream)
