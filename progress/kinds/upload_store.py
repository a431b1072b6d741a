"""Uploaded files on disk, each named by a random id in its owner's folder; written chunk by
chunk, never held whole.

The web layer (`progress/flask_adapter/upload_routes.py`) feeds a request body to `receive`;
kinds find the file again with `upload_path(id, ctx.job.owner)`, so a job reads only its own owner's uploads
and someone else's id finds nothing (issue 15). A body still arriving lives as
`<id>.part`, so a half-received file is never taken for an upload; it counts toward its
owner's bytes all the same.
"""

from __future__ import annotations

import contextlib
import hashlib
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


class IncompleteUpload(Exception):
    """The body ended before the bytes its `Content-Length` announced: the client stopped sending."""


@dataclass(frozen=True)
class Upload:
    id: str
    size: int

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "size": self.size}


def upload_folder() -> str:
    return config().folder("uploads")


def owner_folder(owner: str) -> str:
    """One owner's uploads, in a folder named by a hash: an owner's name may hold any character."""
    return os.path.join(upload_folder(), hashlib.sha256(owner.encode()).hexdigest()[:32])


def upload_path(upload_id: str, owner: str) -> str:
    """Where `owner`'s upload lies (it may be gone: uploads are removed by `cleanup`)."""
    if not UPLOAD_ID.match(upload_id):
        raise ValueError(f"{upload_id!r} is not an upload id")
    return os.path.join(owner_folder(owner), upload_id)


def belongs_to(upload_id: str, owner: str) -> bool:
    """Whether `owner` has this upload; someone else's is as missing as none."""
    return bool(UPLOAD_ID.match(upload_id)) and os.path.isfile(upload_path(upload_id, owner))


@dataclass(frozen=True)
class Holding:
    """What an owner's uploads take on disk: the measure of `LIMIT_UPLOAD_BYTES_PER_OWNER`."""

    size: int
    oldest: float | None
    """When the oldest was last written (seconds since the epoch); None: no upload."""


def holding(owner: str) -> Holding:
    """`owner`'s uploads, those still arriving included (a file may vanish meanwhile: cleanup)."""
    size, times = 0, []
    with contextlib.suppress(FileNotFoundError), os.scandir(owner_folder(owner)) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                status = entry.stat(follow_symlinks=False)
                size += status.st_size
                times.append(status.st_mtime)
    return Holding(size, min(times, default=None))


def receive(chunks: Iterable[bytes], limit: int, owner: str, expected_size: int | None = None) -> Upload:
    """Write the chunks to a new upload of `owner`; on any error nothing is left behind.

    `expected_size` is the body's `Content-Length` when it had one: a body that ends short
    of it was cut off, and is refused rather than taken for a smaller file (issue 15).
    """
    upload_id = new_job_id()
    os.makedirs(owner_folder(owner), exist_ok=True)
    final = upload_path(upload_id, owner)
    partial = final + PARTIAL_SUFFIX
    size = 0
    try:
        with open(partial, "wb") as file:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"the upload is larger than {limit} bytes")
                file.write(chunk)
        if expected_size is not None and size != expected_size:
            raise IncompleteUpload(f"{size} of {expected_size} bytes arrived")
        if size == 0:
            raise EmptyUpload("the upload has no bytes")
        os.replace(partial, final)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return Upload(upload_id, size)
