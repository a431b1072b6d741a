"""The standalone server's part of the API document: `/api/session`, `/healthz`, `/metrics` and
its API tokens, in `openapi.json` beside this module. The extension serves the whole document
at `/api/openapi.json` (progress/flask_adapter/openapi.py) with this part merged in."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")


@functools.cache
def standalone_part() -> dict[str, Any]:
    """Read once per process; the extension copies it before merging."""
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
