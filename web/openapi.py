"""`GET /api/openapi.json`: the API described in OpenAPI 3.1 (issue 16).

The document is the data file `openapi.json` beside this module, read once. As it is served,
its generic `NewJob` body becomes one shape per job kind, built from the very answer `GET
/api/kinds` gives the same requester, so the params schemas it shows are the ones the server
validates with and the kinds are the ones this requester may start.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

openapi = Blueprint("openapi", __name__, url_prefix="/api")

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")
KINDS_ENDPOINT = "api.list_kinds"


@functools.cache
def base_document() -> dict[str, Any]:
    """Read once per process; callers copy it and never change it in place."""
    return json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))


def document_for(kinds: list[dict[str, Any]]) -> dict[str, Any]:
    """The whole document, with `POST /api/jobs`'s body made exact for these kinds (as `GET /api/kinds` lists them)."""
    document = copy.deepcopy(base_document())
    schemas = document["components"]["schemas"]
    schemas["NewJob"] = one_shape_per_kind(schemas["NewJob"], kinds)
    return document


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
    return jsonify(document_for(kinds))
