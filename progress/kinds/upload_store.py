"""Uploaded files on disk, each named by a random id; written chunk by chunk, never held whole.

The web layer (`web/uploads.py`) feeds a request body to `receive`; kinds find the
file again with `upload_path`. A body still arriving lives as `<id>.part`, so a
half-received file is never taken for an upload.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ..jobs import new_job_id
from .environment import config

UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
"""22 characters of URL-safe base64, like a job id: 128 random bits."""

PARTIAL_SUFFIX = ".part"


class UploadTooLarge(Exception):
    """The body went past the size limit while it arrived (a chunked body has no length)."""


class EmptyUpload(Exception):
    """The body had no bytes: nothing to process."""


@dataclass(frozen=True)
class Upload:
    id: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "size": self.size}


def upload_folder() -> str:
    return config().folder("uploads")


def upload_path(upload_id: str) -> str:
    """Where an upload lies (it may be gone: uploads are removed by `cleanup`)."""
    if not UPLOAD_ID.match(upload_id):
        raise ValueError(f"{upload_id!r} is not an upload id")
    return os.path.join(upload_folder(), upload_id)


def receive(chunks: Iterable[bytes], limit: int) -> Upload:
    """Write the chunks to a new upload; on any error nothing is left behind."""
    upload_id = new_job_id()
    final = upload_path(upload_id)
    partial = final + PARTIAL_SUFFIX
    size = 0
    try:
        with open(partial, "wb") as file:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"the upload is larger than {limit} bytes")
                file.write(chunk)
        if size == 0:
            raise EmptyUpload("the upload has no bytes")
        os.replace(partial, final)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return Upload(upload_id, size)
