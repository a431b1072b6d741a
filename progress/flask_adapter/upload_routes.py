"""`POST /api/uploads`: a file streamed to disk for a kind to process (see docs/kinds.md).

The limits and the folder come from the kinds' settings, which the extension installs
(`ProgressExtension(kinds_config=...)`; the standalone app's come from `web/kinds_environment.py`). An upload belongs to the owner who sent it, and each owner's
uploads are held to a byte quota and to the job-creation rate, so no one fills the disk
for everyone (issue 15).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import IO

import gevent
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from ..errors import RateLimited
from ..kinds import environment
from ..kinds.upload_store import EmptyUpload, IncompleteUpload, UploadTooLarge, holding, receive
from ..limits import CreationRate
from .errors import ApiError
from .owners import current_owner
from .responses import json_response
from .state import service_of

uploads = Blueprint("uploads", __name__)

READ_BYTES = 64 * 1024
"""Bytes read from the socket and written to disk at a time: memory per upload stays this small."""

UPLOAD_RATE = "progress_upload_rate"
"""Where `app.extensions` keeps the owners' upload rate."""


class BodyTooSlow(Exception):
    """A piece of the body did not arrive within the read timeout: a trickling client."""


def install_upload_rate(app: Flask, per_minute: int) -> None:
    """New uploads per owner per minute: the job-creation rate, counted apart (whole deployment with Redis)."""
    app.extensions[UPLOAD_RATE] = service_of(app).store.creation_rate(per_minute)


@uploads.post("/uploads")
def create_upload() -> Response:
    """The body is the file itself (e.g. `curl --data-binary @big.csv`), read in small chunks."""
    settings = environment.config()
    owner = current_owner().name
    limit = settings.upload_max_bytes
    too_large = ApiError("body_too_large", f"The upload is larger than the limit of {limit} bytes.")
    if request.mimetype.startswith("multipart/"):
        raise ApiError("unsupported_media_type",
                       "Send the file itself as the body, not a multipart form.")
    if (request.content_length or 0) > limit:
        raise too_large  # judged by Content-Length, unread
    upload_rate: CreationRate = current_app.extensions[UPLOAD_RATE]
    upload_rate.take(f"upload/{owner}")
    room = room_left(owner, settings)
    if (request.content_length or 0) > room:
        raise over_quota(owner, settings)
    accepted = min(limit, room)
    # This route's own limit instead of the API's 64 KiB. One byte more: Werkzeug's stream
    # raises on a read past its maximum even when the body ends exactly there; `receive`
    # refuses the byte beyond the limit itself.
    request.max_content_length = accepted + 1
    try:
        upload = receive(body_chunks(request.stream, settings.upload_read_timeout_s),
                         accepted, owner, request.content_length)
    except (RequestEntityTooLarge, UploadTooLarge):
        raise (too_large if accepted == limit else over_quota(owner, settings)) from None
    except (ClientDisconnected, IncompleteUpload):
        raise ApiError("bad_request", "The upload ended before the whole body arrived.") from None
    except BodyTooSlow:
        raise ApiError("bad_request", "The upload arrived too slowly: each 64 KiB must arrive within "
                                      f"{settings.upload_read_timeout_s:g} s.") from None
    except EmptyUpload:
        raise ApiError("bad_request", "The body is empty: send the file itself as the body.") from None
    return json_response(upload.to_dict(), 201)


def room_left(owner: str, settings: environment.KindsConfig) -> float:
    """Bytes `owner` may still upload under `LIMIT_UPLOAD_BYTES_PER_OWNER` (0: no quota); none is 429."""
    quota = settings.upload_bytes_per_owner
    if quota == 0:
        return math.inf
    room = quota - holding(owner).size
    if room <= 0:
        raise over_quota(owner, settings)
    return room


def over_quota(owner: str, settings: environment.KindsConfig) -> RateLimited:
    """The quota's 429; `Retry-After` says when `cleanup` may first remove the owner's oldest upload."""
    held, now = holding(owner), time.time()
    frees_in_s = (now if held.oldest is None else held.oldest) + settings.cleanup_after_s - now
    return RateLimited(f"Your uploads hold {held.size} bytes; at most {settings.upload_bytes_per_owner} "
                       "are kept per owner.", max(1, math.ceil(frees_in_s)))


def body_chunks(stream: IO[bytes], timeout_s: float) -> Iterator[bytes]:
    """The body `READ_BYTES` at a time; each read that takes longer than `timeout_s` ends the
    upload, so a body trickling in a byte at a time cannot hold a connection and a file forever."""
    while True:
        with gevent.Timeout(timeout_s, BodyTooSlow):
            chunk = stream.read(READ_BYTES)
        if not chunk:
            return
        yield chunk
