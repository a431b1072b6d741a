"""`POST /api/uploads` and the `csv_summary` kind on real servers (issue #5).

A large upload goes to disk in small chunks (the worker's memory does not grow by its
size); the size limit gives the contract's 413; a malformed file fails its job with
one line saying what is wrong and where.
"""

import hashlib
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from tests import raw_http
from tests.conftest import Server, start_job, start_server, wait_for_state

LIMIT = 4096
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def small_limit(tmp_path_factory):
    data = tmp_path_factory.mktemp("upload-data")
    server = start_server(tmp_path_factory.mktemp("upload"),
                          {"UPLOAD_MAX_BYTES": str(LIMIT), "KINDS_DATA_DIR": str(data), "UPLOAD_READ_TIMEOUT_S": "1"})
    server.uploads = data / "uploads"
    yield server
    server.stop()


def worker_rss(server: Server) -> int:
    """Resident memory of the server's one worker, in bytes."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    status = Path(f"/proc/{children[0]}/status").read_text()
    kib = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kib) * 1024


def stored(uploads: Path, upload_id: str) -> Path:
    """Where an upload lies: in its owner's folder (issue 15)."""
    (path,) = uploads.glob(f"*/{upload_id}")
    return path


def files_in(uploads: Path) -> set[Path]:
    """Every file under the uploads folder, those still arriving (`.part`) included."""
    return {path for path in uploads.rglob("*") if path.is_file()}


def upload(client, body, content_type="text/csv"):
    return client.post("/api/uploads", content=body, headers={"Content-Type": content_type})


def summarise(client, body: bytes, **params) -> dict:
    response = upload(client, body)
    assert response.status_code == 201, response.text
    job = start_job(client, "csv_summary", upload=response.json()["id"], **params)
    return wait_for_state(client, job["id"], {"succeeded", "failed"}, timeout=60)


def test_a_large_upload_streams_to_disk_without_the_worker_holding_it(server, client, tmp_path):
    size = 96 * MIB
    source = tmp_path / "big.bin"
    with open(source, "wb") as file:
        for _ in range(size // MIB):
            file.write(os.urandom(MIB))
    upload(client, b"warm-up")
    before, peak, done = worker_rss(server), [0], threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], worker_rss(server))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with open(source, "rb") as body:
            response = upload(client, body, "application/octet-stream")
    finally:
        done.set()
        sampler.join()
    assert response.status_code == 201, response.text
    kept = stored(server.data_dir / "uploads", response.json()["id"])
    assert response.json()["size"] == size == kept.stat().st_size
    assert hashlib.sha256(kept.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert peak[0] - before < size / 3, f"the worker grew by {(peak[0] - before) / MIB:.0f} MiB"
    kept.unlink()


def test_a_csv_is_summarised_with_progress_in_bytes(server, client, open_stream):
    lines = [b"id,name,price"] + [b"%d,item %d,%d.5" % (n, n, n % 100) for n in range(1, 400_001)]
    body = b"\n".join(lines) + b"\n"
    response = upload(client, body)
    job = start_job(client, "csv_summary", upload=response.json()["id"])
    stream = open_stream(f"/api/jobs/{job['id']}/events")
    stream.wait_ended(timeout=60)
    progress = [event.json()["progress"] for event in stream.events]
    assert stream.events[-1].json()["state"] == "succeeded"
    assert progress[-1]["total"] == len(body) == progress[-1]["done"]
    assert len({p["done"] for p in progress if 0 < p["done"] < len(body)}) >= 1  # a step between
    summary = client.get(stream.events[-1].json()["result"]["url"]).json()
    assert summary["rows"] == 400_000
    assert summary["columns"][0] == {"name": "id", "filled": 400_000, "empty": 0, "numeric": True,
                                     "min": 1.0, "max": 400_000.0, "mean": 200_000.5}
    assert summary["columns"][1] == {"name": "name", "filled": 400_000, "empty": 0, "numeric": False}
    stored(server.data_dir / "uploads", response.json()["id"]).unlink()


def test_empty_cells_are_counted_and_quoted_fields_may_hold_newlines(small_limit):
    client = small_limit.client()
    body = 'name;age;city\n"Ann";31;Oslo\nBob;;"New\nYork"\n'.encode()
    job = summarise(client, body, delimiter=";")
    summary = client.get(job["result"]["url"]).json()
    assert summary == {"rows": 2, "columns": [
        {"name": "name", "filled": 2, "empty": 0, "numeric": False},
        {"name": "age", "filled": 1, "empty": 1, "numeric": True, "min": 31.0, "max": 31.0, "mean": 31.0},
        {"name": "city", "filled": 2, "empty": 0, "numeric": False},
    ]}


@pytest.mark.parametrize("body, error", [
    (b"a,b\n1,2\n3,4,5\n", "MalformedFile: line 3: expected 2 fields as in the header, found 3"),
    (b"a,b\n1,2\n\xff\xfe,1\n", "MalformedFile: line 3: not UTF-8 (byte 0xff at column 1)"),
    (b'a,b\n1,"2\n', "MalformedFile: line 2: unexpected end of data"),
    (b'a,b\n1,"x"y\n', "MalformedFile: line 2: ',' expected after '\"'"),
    (b"\n\n", "MalformedFile: the file is empty: a CSV file needs at least a header line"),
])
def test_a_malformed_csv_fails_its_job_with_one_line_saying_what_and_where(small_limit, body, error):
    job = summarise(small_limit.client(), body)
    assert job["state"] == "failed"
    assert job["error"] == error


def test_a_job_naming_an_unknown_upload_is_refused_with_404_and_not_created(small_limit):
    """Issue 15: the id is checked when the job is asked for, as someone else's would be."""
    client = small_limit.client()
    before = len(client.get("/api/jobs").json()["jobs"])
    response = client.post("/api/jobs", json={"kind": "csv_summary", "params": {"upload": "A" * 22}})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found", "message": "No upload has this id; uploads are removed by cleanup after a while."}
    assert len(client.get("/api/jobs").json()["jobs"]) == before


def test_an_upload_cut_off_before_its_content_length_is_refused_and_leaves_nothing(small_limit):
    """Issue 15: 8 bytes of 1000 announced, then the client closes its side, was kept as a file of 8."""
    before = files_in(small_limit.uploads)
    req = raw_http.request("POST", "/api/uploads", {"Content-Type": "text/csv", "Content-Length": "1000"})
    with raw_http.connect(small_limit.url) as sock:
        sock.sendall(raw_http.encode(req, b"a,b\n1,2\n"))
        sock.shutdown(socket.SHUT_WR)
        (response,) = raw_http.read_responses(sock, [req])
    assert response.status == 400
    assert json.loads(response.body)["error"] == {
        "code": "bad_request", "message": "The upload ended before the whole body arrived."}
    assert files_in(small_limit.uploads) == before


def test_an_upload_that_trickles_is_cut_off_after_the_read_timeout_and_leaves_nothing(small_limit):
    """Issue 15: a byte every few tenths of a second held a connection and a file for good."""
    before = files_in(small_limit.uploads)
    req = raw_http.request("POST", "/api/uploads", {"Content-Type": "text/csv", "Content-Length": "1000"})
    stop = threading.Event()
    with raw_http.connect(small_limit.url) as sock:
        sock.sendall(raw_http.encode(req, b"a,b\n"))

        def trickle() -> None:
            while not stop.wait(0.3):
                try:
                    sock.send(b"1")
                except OSError:  # the server closed the connection
                    return

        sender = threading.Thread(target=trickle)
        sender.start()
        try:
            (response,) = raw_http.read_responses(sock, [req], deadline_s=20)
        finally:
            stop.set()
            sender.join()
    assert response.status == 400
    assert json.loads(response.body)["error"]["message"] == (
        "The upload arrived too slowly: each 64 KiB must arrive within 1 s.")
    assert files_in(small_limit.uploads) == before


def test_an_upload_over_the_limit_by_content_length_is_413_before_it_is_read(small_limit):
    req = raw_http.request("POST", "/api/uploads", {"Content-Length": str(LIMIT + 1)})
    with raw_http.connect(small_limit.url) as sock:
        sock.sendall(raw_http.encode(req))  # the head only: the answer must not wait for the body
        (response,) = raw_http.read_responses(sock, [req])
    assert response.status == 413
    assert json.loads(response.body)["error"] == {
        "code": "body_too_large", "message": f"The upload is larger than the limit of {LIMIT} bytes."}


def test_a_chunked_upload_that_passes_the_limit_is_413_and_leaves_no_file(small_limit):
    client = small_limit.client()
    upload(client, b"first")  # the uploads folder exists from here on
    before = files_in(small_limit.uploads)
    response = upload(client, (b"x" * 1000 for _ in range(LIMIT // 1000 + 2)))  # no Content-Length
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert files_in(small_limit.uploads) == before
    assert client.get("/healthz").status_code == 200


def test_an_upload_just_at_the_limit_is_taken(small_limit):
    response = upload(small_limit.client(), b"x" * LIMIT)
    assert response.status_code == 201, response.text
    assert stored(small_limit.uploads, response.json()["id"]).stat().st_size == LIMIT


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"", "text/csv", 400, "bad_request"),
    (b"--x\r\n", "multipart/form-data; boundary=x", 415, "unsupported_media_type"),
])
def test_an_empty_or_multipart_upload_is_refused(small_limit, body, content_type, status, code):
    response = upload(small_limit.client(), body, content_type)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_the_rest_of_the_api_keeps_its_64_kib_limit(small_limit):
    response = small_limit.client().post("/api/jobs", content=b" " * (65 * 1024),
                                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "The request body is larger than 64 KiB."
