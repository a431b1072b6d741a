"""The JSON API's jobs: kinds, schedules, jobs, cancel and results. Views read the request and
hand plain values on."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, request, send_file
from werkzeug.datastructures import MultiDict

from .. import defaults
from ..errors import JobNotFound, NoResult
from ..jobs import JobState
from .admission import admit
from .errors import ApiError
from .owners import current_owner
from .responses import json_response
from .state import mounted, service_of
from .submit_options import FIELDS, idempotency_key, submit_options

jobs = Blueprint("jobs", __name__)

_STATES = ", ".join(state.value for state in JobState)


@jobs.before_request
def refuse_large_bodies() -> None:
    """413 judged by `Content-Length`, before a byte of the body is read; a body without one
    is cut at the same size, whatever the host app's `MAX_CONTENT_LENGTH`."""
    if (request.content_length or 0) > defaults.MAX_BODY_BYTES:
        raise ApiError("body_too_large", "The request body is larger than 64 KiB.")
    request.max_content_length = defaults.MAX_BODY_BYTES


@jobs.get("/kinds")
def list_kinds() -> Response:
    return json_response({"kinds": [kind.to_dict() for kind in service_of().registry.visible(current_owner())]})


@jobs.get("/schedules")
def list_schedules() -> Response:
    """The schedules of the kinds this owner may see (an admin-only kind's are an admin's business)."""
    now, service, viewer = time.time(), service_of(), current_owner()
    return json_response({"schedules": [schedule.to_dict(now) for schedule in service.scheduler.schedules
                                        if service.registry.get(schedule.kind).visible_to(viewer)]})


@jobs.post("/jobs")
def create_job() -> Response:
    body = _json_object_body()
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise ApiError("bad_request", f"The field {unknown[0][:60]!r} is not allowed; send kind, params "
                                      "and optionally run_at or delay_s, and timeout_s.")
    kind = body.get("kind")
    if not isinstance(kind, str):
        raise ApiError("bad_request", "The field kind is required and must be a string.")
    options = submit_options(body)
    owner = current_owner()
    admit(service_of(), kind, body.get("params", {}), owner)
    idempotency = idempotency_key(request.headers.get("Idempotency-Key"), owner.name, body)
    job = service_of().runner.submit(kind, body.get("params", {}), owner, run_at=options.run_at,
                                     timeout_s=options.timeout_s, idempotency=idempotency)
    return json_response(job.to_dict(), 202, {"Location": f"{mounted().api_root}/jobs/{job.id}"})


@jobs.get("/jobs")
def list_jobs() -> Response:
    states, limit = _list_query(request.args)
    return json_response({"jobs": [job.to_dict() for job in service_of().runner.list(states, limit, current_owner())]})


@jobs.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    return json_response(service_of().runner.get(job_id, current_owner()).to_dict())


@jobs.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Response:
    return json_response(service_of().runner.cancel(job_id, current_owner()).to_dict(), 202)


@jobs.get("/jobs/<job_id>/result")
def get_result(job_id: str) -> Response:
    job = service_of().runner.get(job_id, current_owner())
    if job.state is not JobState.SUCCEEDED or job.result is None:
        raise NoResult(f"The job is {job.state.value}; only a succeeded job has a result.")
    try:
        response = send_file(job.result.path, mimetype=job.result.content_type,
                             conditional=False, etag=False)
    except FileNotFoundError:  # forgotten by retention between the two lines above
        raise JobNotFound() from None
    response.content_type = job.result.content_type  # as written: `mimetype=` would add a second charset
    response.headers["Content-Disposition"] = f'attachment; filename="{job.result_filename()}"'
    return response


def _json_object_body() -> dict[str, Any]:
    if request.mimetype != "application/json" or request.mimetype_params.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise ApiError("unsupported_media_type",
                       "The body must be JSON, sent with Content-Type: application/json.")
    data = request.get_data(cache=False)  # a body without Content-Length is cut at the limit...
    if len(data) >= defaults.MAX_BODY_BYTES and request.environ["wsgi.input"].read(1):
        raise ApiError("body_too_large", "The request body is larger than 64 KiB.")  # ...so look past it
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ApiError("invalid_json", "The body is not valid UTF-8 JSON.") from None
    if not isinstance(body, dict):
        raise ApiError("invalid_json", "The body must be a JSON object.")
    return body


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _list_query(args: MultiDict[str, str]) -> tuple[list[JobState] | None, int]:
    """`limit`: ASCII digits 1..1000; `state`: states joined by commas. Anything else is 400."""
    for name in ("limit", "state"):
        if len(args.getlist(name)) > 1:
            raise ApiError("bad_request", f"The query parameter {name} may be given only once.")
    limit = defaults.LIST_LIMIT_DEFAULT
    if "limit" in args:
        raw = args["limit"]
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= defaults.LIST_LIMIT_MAX):
            raise ApiError("bad_request", f"The query parameter limit must be a whole number from 1 to {defaults.LIST_LIMIT_MAX}.")
        limit = int(raw)
    states = None
    if "state" in args:
        try:
            states = [JobState(part) for part in args["state"].split(",")]
        except ValueError:
            raise ApiError("bad_request", f"The query parameter state must be one or more of {_STATES}, joined by commas.") from None
    return states, limit
