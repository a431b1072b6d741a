"""`POST /api/uploads`: a file streamed to disk for a kind to process (see docs/kinds.md).

The limit and the folder come from the kinds' settings, which `create_app` installs
(`web/kinds_environment.py`).
"""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from progress.kinds import environment
from progress.kinds.upload_store import EmptyUpload, UploadTooLarge, receive

from .errors import ApiError

uploads = Blueprint("uploads", __name__, url_prefix="/api")

READ_BYTES = 64 * 1024
"""Bytes read from the socket and written to disk at a time: memory per upload stays this small."""


@uploads.post("/uploads")
def create_upload() -> tuple[Response, int]:
    """The body is the file itself (e.g. `curl --data-binary @big.csv`), read in small chunks."""
    limit = environment.config().upload_max_bytes
    too_large = ApiError("body_too_large", f"The upload is larger than the limit of {limit} bytes.")
    if request.mimetype.startswith("multipart/"):
        raise ApiError("unsupported_media_type",
                       "Send the file itself as the body, not a multipart form.")
    if (request.content_length or 0) > limit:
        raise too_large  # judged by Content-Length, unread
    # This route's own limit instead of the API's 64 KiB. One byte more: Werkzeug's stream
    # raises on a read past its maximum even when the body ends exactly there; `receive`
    # refuses the byte beyond the limit itself.
    request.max_content_length = limit + 1
    try:
        upload = receive(iter(partial(request.stream.read, READ_BYTES), b""), limit)
    except (RequestEntityTooLarge, UploadTooLarge):
        raise too_large from None
    except ClientDisconnected:
        raise ApiError("bad_request", "The upload ended before the whole body arrived.") from None
    except EmptyUpload:
        raise ApiError("bad_request", "The body is empty: send the file itself as the body.") from None
    return jsonify(upload.to_dict()), 201
