"""What a new job needs the request's owner for, checked before the runner takes it (issue 15).

The runner validates every job it is given, whoever gives it; this check depends on who
asks: an admin-only kind is unknown to anyone else, in the very words of a kind that does
not exist.
"""

from __future__ import annotations

from typing import Any

from progress.access import Owner
from progress.service import ProgressService


def admit(service: ProgressService, kind_name: str, params: Any, owner: Owner) -> None:
    """Raise what `owner` may not start: `UnknownKind` or `InvalidParams`."""
    if service.stopping:
        return  # the runner refuses first (`shutting_down`), in the order docs/api.md gives
    service.registry.validate(kind_name, params, owner)
