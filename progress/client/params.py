"""`name=value` words from the command line, typed by the kind's JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_params(words: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    """`["seconds=2", "to=a@x", "to=b@y"]` → `{"seconds": 2, "to": ["a@x", "b@y"]}` when `to` is a list.

    A list param (`"type": "array"`) takes one word per item, typed by its `items`, or a whole
    JSON list (`to='["a@x", "b@y"]'`); every word adds to the list. Raises ValueError on a word
    without `=`, or on any other param given twice. A value that does not fit its type is sent
    as typed, so the server's message names the param.
    """
    properties = schema.get("properties", {})
    params: dict[str, Any] = {}
    for word in words:
        name, equals, raw = word.partition("=")
        if not equals or not name:
            raise ValueError(f"expected name=value, got {word!r}")
        spec = properties.get(name, {})
        if spec.get("type") == "array":
            params.setdefault(name, []).extend(list_items(raw, spec))
        elif name in params:
            raise ValueError(f"{name} is given twice; only a list param takes several {name}=… words")
        else:
            params[name] = typed_value(raw, spec)
    return params


def list_items(raw: str, spec: dict[str, Any]) -> list[Any]:
    """The items one word gives a list param: every item of a JSON list, else one item."""
    if raw.startswith("["):
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, list):
            return value
    return [typed_value(raw, spec.get("items", {}))]


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
