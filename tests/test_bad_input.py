"""Bad input of every kind gets the contract's JSON error, changes nothing and never hurts the worker (issue #3)."""

import json

import psutil
import pytest

from tests import raw_http

UNKNOWN_ID = "AAAAAAAAAAAAAAAAAAAAAA"
JSON = {"Content-Type": "application/json"}
NESTED = b"[" * 30000 + b"]" * 30000


def assert_error(response, status: int, code: str) -> dict:
    """The contract's error: exact status, `application/json`, `{"error": {"code", "message"}}`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and list(body["error"]) == ["code", "message"]
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str) and message and "\n" not in message and len(message) < 300
    assert "Traceback" not in response.text
    return body["error"]


@pytest.fixture(scope="module")
def worker_before(server):
    """The worker's pid and the log's length before the first bad request of this module."""
    return worker_pid(server), len(server.log())


def worker_pid(server) -> int:
    (worker,) = psutil.Process(server.process.pid).children()
    return worker.pid


@pytest.fixture(autouse=True)
def nothing_changes(client, worker_before):
    """Every test here sends only bad requests: the job list must be the same after it."""
    before = [job["id"] for job in client.get("/api/jobs?limit=1000").json()["jobs"]]
    yield
    after = [job["id"] for job in client.get("/api/jobs?limit=1000").json()["jobs"]]
    assert after == before


@pytest.mark.parametrize("body", [
    b'{"kind": "sleep"',
    b"",
    b"   ",
    b"{'kind': 'sleep'}",
    b'{"kind": "gr\xe9et"}',
    b"\xff\xfe{\x00}\x00",
    b'\xef\xbb\xbf{"kind": "sleep"}',
    b"[]",
    b'["sleep"]',
    b'"sleep"',
    b"null",
    b"42",
    b'{"kind": "sleep", "params": {"seconds": NaN}}',
    b'{"kind": "sleep", "params": {"seconds": Infinity}}',
    b'{"kind": "sleep", "params": {"seconds": -Infinity}}',
    b'{"kind": "sleep"} {"kind": "sleep"}',
    b'{"kind": "sleep",}',
    NESTED,
    b'{"kind": "sleep", "params": {"seconds": ' + NESTED + b"}}",
], ids=lambda body: repr(body[:30]))
def test_a_body_that_is_not_a_utf8_json_object_is_invalid_json(client, body):
    assert_error(client.post("/api/jobs", content=body, headers=JSON), 400, "invalid_json")


@pytest.mark.parametrize("body", [
    {},
    {"params": {}},
    {"kind": None},
    {"kind": 5},
    {"kind": True},
    {"kind": ["sleep"]},
    {"kind": {"name": "sleep"}},
    {"kind": "sleep", "extra": 1},
    {"kind": "sleep", "Params": {}},
    {"kind": "sleep", "params": {}, "priority": "high"},
], ids=json.dumps)
def test_a_missing_or_non_string_kind_or_an_unknown_field_is_bad_request_naming_it(client, body):
    error = assert_error(client.post("/api/jobs", json=body), 400, "bad_request")
    unknown = sorted(set(body) - {"kind", "params"})
    assert (unknown[0] if unknown else "kind") in error["message"]


@pytest.mark.parametrize("kind", ["nope", "", "SLEEP", " sleep", "sleep\n", "x" * 60000])
def test_a_kind_that_names_no_kind_is_unknown_kind(client, kind):
    error = assert_error(client.post("/api/jobs", json={"kind": kind}), 400, "unknown_kind")
    assert len(error["message"]) < 200


@pytest.mark.parametrize(("kind", "params", "field"), [
    ("sleep", [], "params"),
    ("sleep", None, "params"),
    ("sleep", "seconds=1", "params"),
    ("sleep", 5, "params"),
    ("sleep", {"bogus": 1}, "bogus"),
    ("sleep", {"seconds": 1, "Steps": 2}, "Steps"),
    ("sleep", {"seconds": "1"}, "seconds"),
    ("sleep", {"seconds": None}, "seconds"),
    ("sleep", {"seconds": True}, "seconds"),
    ("sleep", {"steps": True}, "steps"),
    ("sleep", {"steps": False}, "steps"),
    ("sleep", {"steps": 1.5}, "steps"),
    ("sleep", {"steps": "10"}, "steps"),
    ("sleep", {"steps": [10]}, "steps"),
    ("sleep", {"steps": 0}, "steps"),
    ("sleep", {"steps": 100001}, "steps"),
    ("sleep", {"steps": -1}, "steps"),
    ("sleep", {"seconds": -0.001}, "seconds"),
    ("sleep", {"seconds": 3600.001}, "seconds"),
    ("sleep", {"seconds": 10**30}, "seconds"),
    ("greet", {"user": ""}, "user"),
    ("greet", {"user": "x" * 101}, "user"),
    ("greet", {"user": "🚀" * 101}, "user"),
    ("greet", {"user": 5}, "user"),
    ("greet", {"user": None}, "user"),
    ("greet", {"user": ["Ann"]}, "user"),
    ("greet", {"name": "Ann"}, "name"),
], ids=lambda value: json.dumps(value)[:40])
def test_params_unknown_of_the_wrong_type_or_out_of_range_are_invalid_params_naming_the_field(
        client, kind, params, field):
    error = assert_error(client.post("/api/jobs", json={"kind": kind, "params": params}), 400, "invalid_params")
    assert field in error["message"]


@pytest.mark.parametrize("raw", [b"1e999", b"-1e999", b"1" + b"0" * 5000])
def test_numbers_beyond_any_range_are_refused(client, raw):
    body = b'{"kind": "sleep", "params": {"steps": ' + raw + b"}}"
    response = client.post("/api/jobs", content=body, headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_params", "invalid_json")


@pytest.mark.parametrize("query", [
    "limit=", "limit=0", "limit=1001", "limit=-1", "limit=1e2", "limit=%205", "limit=5%20", "limit=+5",
    "limit=1.0", "limit=0x10", "limit=99999999999999999999999999999999", "limit=%EF%BC%95", "limit=%D9%A5",
    "limit=5&limit=6",
    "state=", "state=unknown", "state=queued,", "state=,queued", "state=QUEUED", "state=queued,,running",
    "state=queued%20running", "state=%20queued", "state=queued&state=running",
])
def test_a_bad_list_query_is_bad_request_naming_the_parameter(client, query):
    error = assert_error(client.get(f"/api/jobs?{query}"), 400, "bad_request")
    assert query.split("=")[0] in error["message"]


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"/api/jobs/{UNKNOWN_ID}"),
    ("GET", "/api/jobs/nope"),
    ("GET", "/api/jobs/" + "A" * 3000),
    ("GET", "/api/jobs/%00"),
    ("GET", "/api/jobs/..%2F..%2Fetc%2Fpasswd"),
    ("GET", f"/api/jobs/{UNKNOWN_ID}/result"),
    ("POST", f"/api/jobs/{UNKNOWN_ID}/cancel"),
    ("GET", f"/api/jobs/{UNKNOWN_ID}/events"),
    ("GET", f"/api/jobs/{UNKNOWN_ID}/nope"),
    ("GET", "/api/nope"),
    ("GET", "/api"),
    ("GET", "/api/"),
    ("POST", "/api/nope"),
    ("GET", "/api/jobs/"),
])
def test_an_unknown_id_or_api_path_is_a_plain_json_404(client, method, path):
    assert_error(client.request(method, path, headers={"Accept": "text/html"}), 404, "not_found")


def test_the_events_of_an_unknown_job_are_a_json_404_even_for_an_sse_client(client):
    response = client.get(f"/api/jobs/{UNKNOWN_ID}/events",
                          headers={"Accept": "text/event-stream", "Last-Event-ID": "5"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/api/jobs", {"GET", "POST"}),
    ("PUT", "/api/jobs", {"GET", "POST"}),
    ("PATCH", f"/api/jobs/{UNKNOWN_ID}", {"GET"}),
    ("DELETE", f"/api/jobs/{UNKNOWN_ID}", {"GET"}),
    ("GET", f"/api/jobs/{UNKNOWN_ID}/cancel", {"POST"}),
    ("POST", f"/api/jobs/{UNKNOWN_ID}/result", {"GET"}),
    ("POST", f"/api/jobs/{UNKNOWN_ID}/events", {"GET"}),
    ("POST", "/api/events", {"GET"}),
    ("POST", "/api/kinds", {"GET"}),
    ("POST", "/healthz", {"GET"}),
    ("DELETE", "/healthz", {"GET"}),
])
def test_a_wrong_method_is_405_with_allow_listing_the_right_ones(client, method, path, allowed):
    response = client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    listed = {name.strip() for name in response.headers["allow"].split(",")}
    assert allowed <= listed
    assert method not in listed


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "text/json", "application/jsonx", "application/json-patch+json", "application/json; charset=latin-1",
])
def test_a_body_not_sent_as_application_json_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"kind": "sleep", "params": {"seconds": 0}}).encode()
    assert_error(client.post("/api/jobs", content=body, headers=headers), 415, "unsupported_media_type")


def test_a_body_over_64_kib_is_413(client):
    body = json.dumps({"kind": "sleep", "params": {"seconds": 0}}).encode()
    body += b" " * (64 * 1024 + 1 - len(body))
    assert_error(client.post("/api/jobs", content=body, headers=JSON), 413, "body_too_large")


def test_a_chunked_body_over_64_kib_is_413(client):
    body = json.dumps({"kind": "sleep", "params": {"seconds": 0}}).encode() + b" " * (64 * 1024)
    chunks = (body[start:start + 8192] for start in range(0, len(body), 8192))
    assert_error(client.post("/api/jobs", content=chunks, headers=JSON), 413, "body_too_large")


@pytest.mark.parametrize("path", ["/api/jobs", f"/api/jobs/{UNKNOWN_ID}/cancel"])
def test_a_too_large_content_length_is_refused_before_the_body_is_read(server, path):
    req = raw_http.request("POST", path, {**JSON, "Content-Length": str(50 * 1024 * 1024)})
    with raw_http.connect(server.url) as sock:
        sock.sendall(raw_http.encode(req, b'{"kind": '))
        (response,) = raw_http.read_responses(sock, [req])
    assert response.status == 413
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.body)["error"]["code"] == "body_too_large"


@pytest.mark.parametrize("header", ["Content-Length: -1", "Content-Length: abc", "Transfer-Encoding: gzip"])
def test_malformed_framing_gets_a_4xx_and_no_crash(server, header):
    name, value = header.split(": ")
    with raw_http.connect(server.url) as sock:
        sock.sendall(f"POST /api/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     f"{name}: {value}\r\n\r\n{{}}".encode())
        sock.settimeout(10)
        status_line = sock.recv(65536).split(b"\r\n", 1)[0]
    assert status_line.split()[1].startswith(b"4"), status_line


def test_no_bad_request_crashed_or_restarted_the_worker(server, client, worker_before):
    pid, log_start = worker_before
    assert client.get("/healthz").status_code == 200
    assert worker_pid(server) == pid
    log = server.log()[log_start:]
    for sign in ("Traceback", "Worker exiting", "WORKER TIMEOUT", "Booting worker", "internal"):
        assert sign not in log, log
