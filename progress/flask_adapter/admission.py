"""What a new job needs the request's owner for, checked before the runner takes it (issue 15).

The runner validates every job it is given, whoever gives it; these checks depend on who
asks. An admin-only kind is unknown to anyone else, and an upload named in the params
(a param with `"format": "upload"`) must be the owner's own: someone else's is as missing
as one that never existed, so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from ..access import Owner
from ..errors import UploadNotFound
from ..kinds.upload_store import belongs_to
from ..service import ProgressService


def admit(service: ProgressService, kind_name: str, params: Any, owner: Owner) -> None:
    """Raise what `owner` may not start: `UnknownKind`, `InvalidParams` or `UploadNotFound`."""
    if service.stopping:
        return  # the runner refuses first (`shutting_down`), in the order docs/api.md gives
    kind, params = service.registry.validate(kind_name, params, owner)
    for name, spec in kind.schema["properties"].items():
        if spec.get("format") == "upload" and name in params and not belongs_to(params[name], owner.name):
            raise UploadNotFound()
