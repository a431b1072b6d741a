"""`GET <prefix>/api/openapi.json`: the API described in OpenAPI 3.1 (issue 16).

The document is the data file `openapi.json` beside this module, read once, describing
the extension's routes. As it is served, an app's own part (`ProgressExtension(openapi_extra=...)`:
the standalone server's `/healthz`, `/metrics`, `/api/session`) is merged in, the prefix
becomes its server URL, and its generic `NewJob` body becomes one shape per job kind,
built from the very answer `GET /api/kinds` gives the same requester, so the params
schemas it shows are the ones the server validates with and the kinds are the ones this
requester may start.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app

from .responses import json_response
from .state import mounted

openapi = Blueprint("openapi", __name__)

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
KINDS_ENDPOINT = "progress_api.jobs.list_kinds"


@functools.cache
def base_document() -> dict[str, Any]:
    """Read once per process; callers copy it and never change it in place."""
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def document_for(kinds: list[dict[str, Any]], url_prefix: str = "",
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The whole document: `extra` merged in, the routes under `url_prefix`, and `POST /api/jobs`'s
    body made exact for these kinds (as `GET /api/kinds` lists them)."""
    document = merged(copy.deepcopy(base_document()), extra or {})
    schemas = document["components"]["schemas"]
    schemas["NewJob"] = one_shape_per_kind(schemas["NewJob"], kinds)
    if url_prefix:
        document["servers"] = [{"url": url_prefix}]
        under_prefix(document, url_prefix)
    return document


def merged(document: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`extra`'s paths and components added to `document`'s; any other top-level field set."""
    for key, value in copy.deepcopy(dict(extra)).items():
        if key == "paths":
            document["paths"].update(value)
        elif key == "components":
            for section, entries in value.items():
                document["components"].setdefault(section, {}).update(entries)
        else:
            document[key] = value
    return document


def under_prefix(node: Any, url_prefix: str) -> None:
    """Patterns of URLs the API sends (`result.url`, `Location`) begin with the prefix."""
    if isinstance(node, dict):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and pattern.startswith("^/api/"):
            node["pattern"] = "^" + re.escape(url_prefix) + pattern[1:]
        for value in node.values():
            under_prefix(value, url_prefix)
    elif isinstance(node, list):
        for value in node:
            under_prefix(value, url_prefix)


def one_shape_per_kind(generic: dict[str, Any], kinds: list[dict[str, Any]]) -> dict[str, Any]:
    """`generic` with `kind` fixed to each name and `params` to that kind's schema; `params` is
    required where the kind has params without a default (left out, it means every default)."""
    description = generic["description"]
    shapes = []
    for kind in kinds:
        shape = copy.deepcopy({key: value for key, value in generic.items() if key != "description"})
        shape["title"] = kind["name"]
        shape["properties"]["kind"] = {"const": kind["name"]}
        # `$schema` belongs at a schema document's root only, not inside this one.
        shape["properties"]["params"] = {key: value for key, value in kind["params"].items() if key != "$schema"}
        if kind["params"].get("required"):
            shape["required"] = ["kind", "params"]
        shapes.append(shape)
    return {"description": description, "oneOf": shapes}


@openapi.get("/openapi.json")
def serve_document() -> Response:
    kinds = current_app.view_functions[KINDS_ENDPOINT]().get_json()["kinds"]
    state = mounted()
    return json_response(document_for(kinds, state.url_prefix, state.openapi_extra))
