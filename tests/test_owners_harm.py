"""One owner may not harm another: admin-only kinds (issue 15)."""

import pytest

from tests.owners import client_as, new_tokens, start_secured

TOKENS = new_tokens("alice", "root")


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = start_secured(tmp_path_factory.mktemp("harm"), TOKENS)
    yield server
    server.stop()


def as_owner(secured, name):
    return client_as(secured, TOKENS, name)


def test_admin_only_kinds_are_left_out_of_everyone_elses_kinds(secured):
    def kinds(name):
        return [kind["name"] for kind in as_owner(secured, name).get("/api/kinds").json()["kinds"]]
    assert "cleanup" not in kinds("alice")
    assert [name for name in kinds("root") if name not in kinds("alice")] == ["cleanup"]


def test_starting_an_admin_only_kind_is_refused_as_if_it_did_not_exist(secured):
    alice = as_owner(secured, "alice")
    before = alice.get("/api/jobs").json()["jobs"]
    refused = alice.post("/api/jobs", json={"kind": "cleanup", "params": {"older_than_s": 0}})
    missing = alice.post("/api/jobs", json={"kind": "no_such_kind", "params": {"older_than_s": 0}})
    assert refused.status_code == missing.status_code == 400
    assert refused.json()["error"] == {"code": "unknown_kind", "message": "There is no job kind named 'cleanup'."}
    assert missing.json()["error"] == {"code": "unknown_kind", "message": "There is no job kind named 'no_such_kind'."}
    assert alice.get("/api/jobs").json()["jobs"] == before
    root = as_owner(secured, "root")
    assert root.post("/api/jobs", json={"kind": "cleanup", "params": {"older_than_s": 3600}}).status_code == 202

