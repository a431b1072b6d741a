"""`GET /api/openapi.json` stays true: every route, the kinds as `GET /api/kinds` lists them,
real jobs in each state, and each error code under its status (issue 16). Schemathesis
fuzzes it against a live server in tests/test_openapi_fuzz.py."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from progress.flask_adapter.errors import STATUS_OF
from progress.flask_adapter.openapi import base_document, merged
from tests.conftest import Server, cancel_unfinished, start_job, wait_for_state
from web.openapi import standalone_part

ROOT_SECRET, ANN_SECRET = "root-secret-0123456789-0123456789", "ann-secret-0123456789-0123456789"
NOT_PER_OPERATION = {"method_not_allowed"}
"""Answered for any method a path does not document, so no operation lists it."""


def validator_of(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """Validates against `schema`, its `#/components/...` references resolved in `document`."""
    return Draft202012Validator({**schema, "components": document["components"]})


def whole_document() -> dict[str, Any]:
    """The standalone server's document as written: the extension's routes and its own."""
    return merged(copy.deepcopy(base_document()), standalone_part())


def served(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    return answer.json()


def test_the_document_has_every_route_the_app_serves_and_no_other(tmp_path) -> None:
    from web.app import create_app
    from web.settings import Settings

    app = create_app(Settings(jobs_db=":memory:", data_dir=str(tmp_path)))
    served_routes = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
                     for rule in app.url_map.iter_rules()
                     if rule.rule.startswith("/api/") or rule.rule in ("/healthz", "/metrics")
                     for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method.upper()) for path, item in whole_document()["paths"].items() for method in item}
    assert documented == served_routes


def test_each_error_code_is_listed_under_its_own_status_and_every_code_somewhere() -> None:
    document = whole_document()
    listed: set[str] = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                name = response.get("$ref", "").rsplit("/", 1)[-1]
                if not name:
                    continue
                codes = document["components"]["responses"][name]["content"]["application/json"]["schema"][
                    "allOf"][1]["properties"]["error"]["properties"]["code"]["enum"]
                assert {STATUS_OF[code] for code in codes} == {int(status)}, (method, path, status, codes)
                listed.update(codes)
    assert listed == set(STATUS_OF) - NOT_PER_OPERATION


def test_the_job_bodies_are_exactly_the_kinds_get_api_kinds_lists(client: httpx.Client) -> None:
    document = served(client)
    kinds = client.get("/api/kinds").json()["kinds"]
    shapes = document["components"]["schemas"]["NewJob"]["oneOf"]
    assert [shape["properties"]["kind"]["const"] for shape in shapes] == [kind["name"] for kind in kinds]
    for shape, kind in zip(shapes, kinds):
        assert shape["properties"]["params"] == {key: value for key, value in kind["params"].items() if key != "$schema"}
        assert ("params" in shape["required"]) == bool(kind["params"]["required"])

    body = validator_of(document, {"$ref": "#/components/schemas/NewJob"})
    assert body.is_valid({"kind": "sleep", "params": {"seconds": 1}, "delay_s": 5})
    assert not body.is_valid({"kind": "sleep", "params": {"seconds": -1}})
    assert not body.is_valid({"kind": "sleep", "run_at": "2030-01-01T00:00:00Z", "delay_s": 5})
    assert not body.is_valid({"kind": "no such kind"})


@pytest.fixture
def token_server(server_factory, tmp_path) -> Server:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"root {ROOT_SECRET} admin\nann {ANN_SECRET}\n")
    return server_factory({"API_TOKENS_FILE": str(tokens)})


def test_an_owner_who_is_not_an_admin_sees_the_kinds_they_may_start_and_no_other(token_server: Server) -> None:
    for secret in (ROOT_SECRET, ANN_SECRET):
        client = token_server.client(headers={"Authorization": f"Bearer {secret}"})
        shapes = served(client)["components"]["schemas"]["NewJob"]["oneOf"]
        kinds = client.get("/api/kinds").json()["kinds"]
        assert [shape["title"] for shape in shapes] == [kind["name"] for kind in kinds]
    assert token_server.client().get("/api/openapi.json").status_code == 401


def test_real_jobs_in_each_state_and_real_errors_match_the_document(client: httpx.Client) -> None:
    document = served(client)
    job = validator_of(document, {"$ref": "#/components/schemas/Job"})
    succeeded = start_job(client, "sleep", seconds=0.1, steps=2)
    failed = start_job(client, "fail")
    unknown_total = start_job(client, "report_and_wait")
    cancelled = start_job(client, "report_and_wait")
    client.post(f"/api/jobs/{cancelled['id']}/cancel")
    seen = [succeeded, failed, unknown_total, cancelled,
            wait_for_state(client, succeeded["id"], {"succeeded"}),
            wait_for_state(client, failed["id"], {"failed"}),
            wait_for_state(client, unknown_total["id"], {"running"}),
            wait_for_state(client, cancelled["id"], {"cancelled"})]
    cancel_unfinished(client)
    for each in seen:
        job.validate(each)
    assert {each["state"] for each in seen} == {"queued", "running", "succeeded", "failed", "cancelled"}

    error = validator_of(document, {"$ref": "#/components/schemas/Error"})
    for answer in (client.get("/api/jobs/nope"), client.get("/api/jobs?limit=0"),
                   client.post("/api/jobs", json={"kind": "nope"}), client.delete("/api/jobs")):
        error.validate(answer.json())
