"""What one app's extension keeps in `app.extensions` (never on `self`: Flask's extension guide)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Request, current_app

from ..access import Owner
from ..service import ProgressService

EXTENSION_KEY = "progress"

OwnerOfRequest = Callable[[Request], "Owner | None"]
"""Returns the owner a request speaks for, or None when it has no valid credentials (401)."""


@dataclass(frozen=True)
class Mounted:
    """The service of one app and where its routes are."""

    service: ProgressService
    url_prefix: str
    """`""` or a path such as `/progress`; the API is under `<url_prefix>/api`."""
    owner_of_request: OwnerOfRequest
    openapi_extra: Mapping[str, Any] = field(default_factory=dict)
    """The app's own part of the API document (routes it serves beside the extension's)."""

    @property
    def api_root(self) -> str:
        return f"{self.url_prefix}/api"

    def is_api_path(self, path: str) -> bool:
        """Under `<url_prefix>/api`, where every answer is JSON, routed or not."""
        return path == self.api_root or path.startswith(self.api_root + "/")


def mounted(app: Flask | None = None) -> Mounted:
    """The extension's state in `app`, or in the app handling the current request."""
    return (app or current_app).extensions[EXTENSION_KEY]


def service_of(app: Flask | None = None) -> ProgressService:
    """The service of `app`, or of the app handling the current request."""
    return mounted(app).service
