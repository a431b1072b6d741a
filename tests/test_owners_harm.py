"""One owner may not harm another: admin-only kinds, uploads that belong to their owner, a byte
quota and a rate for uploads, and a `/healthz` that tells strangers nothing (issue 15)."""

import pytest

from tests.conftest import start_job, wait_for_state
from tests.owners import client_as, new_tokens, start_secured

TOKENS = new_tokens("alice", "bob", "carol", "dave", "root")
QUOTA = 1000
RATE = 3


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    server = start_secured(tmp_path_factory.mktemp("harm"), TOKENS, {
        "LIMIT_UPLOAD_BYTES_PER_OWNER": str(QUOTA), "LIMIT_JOBS_PER_MINUTE": str(RATE)})
    yield server
    server.stop()


def as_owner(secured, name):
    return client_as(secured, TOKENS, name)


def upload(client, body=b"a,b\n1,2\n"):
    return client.post("/api/uploads", content=body, headers={"Content-Type": "text/csv"})


def upload_files(secured) -> set:
    return {path for path in (secured.data_dir / "uploads").rglob("*") if path.is_file()}


def assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert response.json()["error"]["code"] == "rate_limited"


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


def test_someone_elses_upload_is_as_missing_as_none_when_a_job_names_it(secured):
    alice = as_owner(secured, "alice")
    alices = upload(alice).json()["id"]
    for name in ("bob", "root"):  # an upload is its owner's alone, even for an admin
        other = as_owner(secured, name)
        theirs = other.post("/api/jobs", json={"kind": "csv_summary", "params": {"upload": alices}})
        missing = other.post("/api/jobs", json={"kind": "csv_summary", "params": {"upload": "B" * 22}})
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
    job = start_job(alice, "csv_summary", upload=alices)
    assert wait_for_state(alice, job["id"], {"succeeded", "failed"})["state"] == "succeeded"


def test_an_owners_uploads_are_held_to_a_byte_quota_that_leaves_others_alone(secured):
    bob = as_owner(secured, "bob")
    assert upload(bob, b"x" * 600).status_code == 201
    before = upload_files(secured)
    assert_rate_limited(upload(bob, b"y" * 600))  # judged by Content-Length
    assert_rate_limited(upload(bob, (b"z" * 100 for _ in range(6))))  # no length: judged while it arrives
    assert upload_files(secured) == before
    assert upload(as_owner(secured, "carol"), b"x" * 600).status_code == 201


def test_uploads_are_held_to_the_job_creation_rate(secured):
    dave = as_owner(secured, "dave")
    answers = [upload(dave, b"a") for _ in range(RATE + 1)]
    assert [answer.status_code for answer in answers[:RATE]] == [201] * RATE
    assert_rate_limited(answers[-1])


def test_healthz_without_credentials_tells_only_the_status(secured):
    assert as_owner(secured, None).get("/healthz").json() == {"status": "ok"}
    assert set(as_owner(secured, "alice").get("/healthz").json()) == {"status", "jobs", "streams"}
