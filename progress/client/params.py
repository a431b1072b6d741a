"""`name=value` words from the command line, typed by the kind's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_params(words: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    """`["seconds=2", "user=Ada"]` → `{"seconds": 2, "user": "Ada"}`; raises ValueError on a word without `=`.

    A value that does not fit its type is sent as typed, so the server's message names the param.
    """
    properties = schema.get("properties", {})
    params = {}
    for word in words:
        name, equals, raw = word.partition("=")
        if not equals or not name:
            raise ValueError(f"expected name=value, got {word!r}")
        params[name] = typed_value(raw, properties.get(name, {}))
    return params


def files_to_upload(params: dict[str, Any], schema: dict[str, Any]) -> dict[str, Path]:
    """Params marked `"format": "upload"` given as `@path` (curl's way): the local files to
    upload first, by param; the server expects each one's upload id instead."""
    properties = schema.get("properties", {})
    return {name: Path(value[1:]) for name, value in params.items()
            if properties.get(name, {}).get("format") == "upload"
            and isinstance(value, str) and value.startswith("@")}


def typed_value(raw: str, spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if kind == "string":
        return raw
    if kind == "boolean":
        return _BOOLEANS.get(raw.lower(), raw)
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if kind in ("number", "integer") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return raw
    return value
