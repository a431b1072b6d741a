"""The `fetch` kind against a real local HTTP server that is slow, fails, hangs, drops and redirects (issue #5).

Loopback is a private address, so the server under test is told explicitly, through
settings, that it may call 127.0.0.1; a second server without that permission refuses.
"""

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from progress.kinds.guarded_http import address_allowed, host_allowed
from tests.conftest import start_job, start_server, wait_for_state


class Upstream(ThreadingHTTPServer):
    """The slow external service; `hits` counts requests per path, `release` ends every hang."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Upstream

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.hits[self.path] += 1
            hits = self.server.hits[self.path]
        if self.path == "/slow":
            time.sleep(0.3)
        if self.path == "/hang":
            self.server.release.wait(30)
            return
        if self.path == "/drop":
            return  # no answer at all: the connection just closes
        if self.path.startswith("/flaky/") and hits == 1:
            return self.answer(503, b"try later")
        if self.path == "/fail":
            return self.answer(500, b"broken")
        if self.path == "/redirect-in":
            return self.answer(302, b"", {"Location": "/ok"})
        if self.path == "/redirect-out":
            return self.answer(302, b"", {"Location": "http://elsewhere.example/"})
        self.answer(200, b"x" * 1234)

    def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads `hits` instead."""


@pytest.fixture(scope="module")
def upstream():
    server = Upstream()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def fetcher(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("fetch"),
                          {"FETCH_ALLOWED_HOSTS": "127.0.0.1", "FETCH_ALLOW_PRIVATE": "1"})
    yield server
    server.stop()


def run_fetch(client, **params) -> dict:
    job = wait_for_state(client, start_job(client, "fetch", **params)["id"], {"succeeded", "failed"}, timeout=60)
    assert job["state"] == "succeeded", job["error"]
    return {"job": job, **client.get(job["result"]["url"]).json()}


def failed_fetch(client, **params) -> str:
    """The error of a fetch whose every call failed: such a job fails (issue #13), never a green success."""
    job = wait_for_state(client, start_job(client, "fetch", **params)["id"], {"succeeded", "failed"}, timeout=60)
    assert job["state"] == "failed" and job["result"] is None
    return job["error"]


def test_each_url_gets_its_status_size_time_and_attempts_with_retries_where_they_help(fetcher, upstream):
    paths = ["/ok", "/slow", "/flaky/a", "/fail", "/redirect-in", "/redirect-out", "/drop"]
    run = run_fetch(fetcher.client(), urls=[upstream.base + path for path in paths],
                    concurrency=3, timeout_s=5, retries=2)
    results = dict(zip(paths, run["results"]))
    assert run["job"]["progress"] == {"done": 7, "total": 7, "percent": 100.0,
                                      "message": "5 answered, 2 failed"}
    assert [result["url"] for result in run["results"]] == [upstream.base + path for path in paths]
    assert {key: results["/ok"][key] for key in ("status", "bytes", "attempts", "error")} == \
        {"status": 200, "bytes": 1234, "attempts": 1, "error": None}
    assert results["/slow"]["status"] == 200 and results["/slow"]["ms"] > 0
    assert (results["/flaky/a"]["status"], results["/flaky/a"]["attempts"]) == (200, 2)
    assert (results["/fail"]["status"], results["/fail"]["attempts"]) == (500, 3)
    assert results["/redirect-in"]["final_url"] == upstream.base + "/ok"
    assert results["/redirect-out"]["error"] == "not allowed: elsewhere.example is not on FETCH_ALLOWED_HOSTS"
    assert results["/redirect-out"]["attempts"] == 1
    assert results["/drop"]["error"].startswith("RemoteProtocolError")
    assert (results["/drop"]["attempts"], upstream.hits["/drop"]) == (3, 3)
    assert run["failed"] == 2 and run["job"]["failed_items"] == {"failed": 2, "of": 7}
    assert run["retried"] == [upstream.base + path for path in ("/flaky/a", "/fail", "/drop")]


def test_a_call_that_hangs_is_cut_at_its_timeout_and_retried(fetcher, upstream):
    error = failed_fetch(fetcher.client(), urls=[upstream.base + "/hang"], timeout_s=0.5, retries=1)
    assert error.startswith(f"All 1 items failed; the first: {upstream.base}/hang: ")
    assert error.split(": ")[2] in ("CallTimedOut", "ReadTimeout")


def test_a_fetch_waiting_on_hanging_calls_is_cancelled_promptly(fetcher, upstream):
    client = fetcher.client()
    job = start_job(client, "fetch", urls=[upstream.base + "/hang"] * 3, timeout_s=60)
    wait_for_state(client, job["id"], {"running"})
    assert client.post(f"/api/jobs/{job['id']}/cancel").status_code == 202
    assert wait_for_state(client, job["id"], {"cancelled", "succeeded", "failed"}, timeout=10)["state"] == "cancelled"
    assert client.get("/healthz").json()["jobs"] == {"queued": 0, "running": 0}


WRAPPED_LOOPBACK = ["::127.0.0.1", "::ffff:0:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::1"]
"""IPv6 forms of 127.0.0.1: IPv4-compatible, IPv4-translated, NAT64 and 6to4 (issue 15)."""


def test_without_permission_loopback_is_refused_before_connecting(server_factory, upstream):
    guarded = server_factory({"FETCH_ALLOWED_HOSTS": "*"})
    hits = upstream.hits["/ok"]
    port = upstream.server_address[1]
    client = guarded.client()
    assert failed_fetch(client, urls=[upstream.base + "/ok"]).endswith(
        "not allowed: 127.0.0.1 resolves to 127.0.0.1, a private or reserved address")
    assert "not allowed: localhost resolves to " in failed_fetch(
        client, urls=[upstream.base.replace("127.0.0.1", "localhost") + "/ok"])
    for ip in WRAPPED_LOOPBACK:
        error = failed_fetch(client, urls=[f"http://[{ip}]:{port}/ok"])
        assert f"not allowed: {ip} resolves to " in error and error.endswith(", a private or reserved address")
    assert upstream.hits["/ok"] == hits


def test_with_the_default_empty_allow_list_no_host_is_called(client):
    assert failed_fetch(client, urls=["http://example.com/"]) == \
        "All 1 items failed; the first: http://example.com/: not allowed: example.com is not on FETCH_ALLOWED_HOSTS"


@pytest.mark.parametrize("host, allowed, expected", [
    ("api.example.com", ("api.example.com",), True),
    ("API.Example.com.", ("api.example.com",), True),
    ("evil.com", ("api.example.com",), False),
    ("a.b.example.com", ("*.example.com",), True),
    ("example.com", ("*.example.com",), False),
    ("notexample.com", ("*.example.com",), False),
    ("anything.org", ("*",), True),
    ("anything.org", (), False),
])
def test_the_allow_list_matches_names_subdomains_or_everything(host, allowed, expected):
    assert host_allowed(host, allowed) is expected


@pytest.mark.parametrize("ip, private_allowed, expected", [
    ("93.184.216.34", False, True),
    ("2606:4700::1", False, True),
    ("127.0.0.1", False, False),
    ("10.0.0.7", False, False),
    ("192.168.1.1", False, False),
    ("169.254.169.254", False, False),
    ("100.64.0.1", False, False),
    ("0.0.0.0", False, False),
    ("::1", False, False),
    ("fe80::1%eth0", False, False),
    ("::ffff:127.0.0.1", False, False),
    *((ip, False, False) for ip in WRAPPED_LOOPBACK),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False, False),  # Teredo
    ("64:ff9b:1::7f00:1", False, False),  # local-use NAT64
    ("64:ff9b::5db8:d822", False, True),  # NAT64 of a public address
    ("2002:5db8:d822::1", False, True),  # 6to4 of a public address
    ("2002:7f00:1::1", True, True),
    ("224.0.0.1", True, False),
    ("127.0.0.1", True, True),
    ("169.254.169.254", True, True),
])
def test_only_public_addresses_are_connected_to_unless_private_ones_are_allowed(ip, private_allowed, expected):
    assert address_allowed(ip, private_allowed) is expected
