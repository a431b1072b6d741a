"""`POST /api/uploads`: a file streamed to disk for a kind to process (see docs/kinds.md).

Registering this blueprint also hands the shipped kinds their settings and the job
runner (`progress.kinds.environment`) and starts the `cleanup` schedule: kinds run
without a request, so they get plain values once, at app creation.
"""

from __future__ import annotations

from functools import partial

from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from progress.flask_adapter import service_of
from progress.kinds import cleanup, environment
from progress.kinds.upload_store import EmptyUpload, UploadTooLarge, receive

from .errors import ApiError
from .settings import Settings

uploads = Blueprint("uploads", __name__, url_prefix="/api")

READ_BYTES = 64 * 1024
"""Bytes read from the socket and written to disk at a time: memory per upload stays this small."""


def kinds_config(settings: Settings) -> environment.KindsConfig:
    """The shipped kinds' part of the settings, as a frozen framework-free object."""
    smtp = None
    if settings.smtp_host:
        smtp = environment.SmtpConfig(settings.smtp_host, settings.smtp_port, settings.smtp_starttls,
                                      settings.smtp_username, settings.smtp_password)
    data_dir = {"data_dir": settings.kinds_data_dir} if settings.kinds_data_dir else {}
    return environment.KindsConfig(
        **data_dir,
        upload_max_bytes=settings.upload_max_bytes,
        smtp=smtp,
        sender=settings.smtp_sender,
        fetch_allowed_hosts=settings.fetch_allowed_hosts,
        fetch_allow_private=settings.fetch_allow_private,
        cleanup_after_s=settings.cleanup_after_s,
    )


@uploads.record_once
def install_kinds_environment(state: BlueprintSetupState) -> None:
    settings: Settings = state.app.config["SETTINGS"]
    runner = service_of(state.app).runner
    environment.install(kinds_config(settings), runner)
    if settings.cleanup_every_s > 0:
        cleanup.schedule(runner, settings.cleanup_every_s)


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
