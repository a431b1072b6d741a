"""Debian's nginx in front of a real gunicorn, running deploy/nginx.conf (issue 16).

The site file is used as shipped except for the lines a test machine must change: the
ports, the certificate (from a throwaway CA, as the e-mail tests do) and, where a test says
so, the streams' read timeout. Each change names the exact line it replaces, so a config
that drifts from what the tests expect fails here rather than going untested.
With CI=true a missing nginx fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import trustme

from tests.conftest import ROOT, Server, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE_FILE = ROOT / "deploy" / "nginx.conf"
START_DEADLINE_S = 10.0
HOST = "127.0.0.1"
"""The name clients use: an address, so no resolver can send them to ::1, where this nginx does not listen."""

MAIN_CONFIG = """\
{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 1024; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
"""
"""What Debian's /etc/nginx/nginx.conf gives a site file, kept inside the test's folder."""


@dataclass
class Nginx:
    """One nginx master in its own folder, in front of the gunicorn on `upstream_port`."""

    process: subprocess.Popen
    folder: Path
    https_port: int
    http_port: int
    trust: ssl.SSLContext
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.https_port}"

    def client(self, source: str | None = None, **kwargs: object) -> httpx.Client:
        """An HTTP/2 client that trusts the test CA, connecting from `source` (e.g. 127.0.0.2)
        so the server can tell clients apart by address as it would on a network."""
        transport = httpx.HTTPTransport(http2=True, verify=self.trust, local_address=source)
        client = httpx.Client(base_url=self.url, transport=transport,
                              timeout=httpx.Timeout(10.0, read=30.0), **kwargs)
        self.clients.append(client)
        return client

    def log(self) -> str:
        return (self.folder / "error.log").read_text(errors="replace")

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # nginx's fast shutdown
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def site_config(upstream_port: int, https_port: int, http_port: int, certificate: Path, key: Path,
                stream_read_timeout_s: float | None) -> str:
    """deploy/nginx.conf with this machine's ports and certificate; each line must be there once."""
    changes = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "ssl_certificate /etc/ssl/certs/progress.example.com.pem;": f"ssl_certificate {certificate};",
        "ssl_certificate_key /etc/ssl/private/progress.example.com.key;": f"ssl_certificate_key {key};",
    }
    if stream_read_timeout_s is not None:
        changes["proxy_read_timeout 60s;"] = f"proxy_read_timeout {round(stream_read_timeout_s * 1000)}ms;"
    text = SITE_FILE.read_text()
    for line, replacement in changes.items():
        assert text.count(line) == 1, f"deploy/nginx.conf no longer has the line {line!r} exactly once"
        text = text.replace(line, replacement)
    return text


def start_nginx(folder: Path, upstream_port: int, authority: trustme.CA,
                stream_read_timeout_s: float | None = None) -> Nginx:
    """nginx on free ports in front of `upstream_port`, answering once its TLS port accepts."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / "server.pem", folder / "server.key"
    issued = authority.issue_cert(HOST, "localhost")
    issued.cert_chain_pems[0].write_to_path(str(certificate))
    issued.private_key_pem.write_to_path(str(key))
    https_port, http_port = free_port(), free_port()
    (folder / "site.conf").write_text(site_config(upstream_port, https_port, http_port, certificate, key,
                                                  stream_read_timeout_s))
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers write temp files into this folder
    (folder / "nginx.conf").write_text(MAIN_CONFIG.format(user=user, folder=folder))
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf"),
                                "-e", str(folder / "error.log"), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    trust = ssl.create_default_context()
    authority.configure_trust(trust)
    nginx = Nginx(process, folder, https_port, http_port, trust)
    deadline = time.monotonic() + START_DEADLINE_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"nginx exited with {process.returncode} at start:\n{nginx.log()}")
        try:
            httpx.get(f"{nginx.url}/", verify=trust, timeout=1)
            return nginx
        except httpx.TransportError:
            time.sleep(0.05)
    nginx.stop()
    pytest.fail(f"nginx did not answer within {START_DEADLINE_S} s:\n{nginx.log()}")


def _nginx_or_skip() -> None:
    if not os.path.exists(NGINX):
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed (Debian: apt-get install nginx)")
        pytest.skip("nginx is not installed")


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def nginx_factory(tmp_path: Path, authority: trustme.CA) -> Iterator[Callable[..., Nginx]]:
    """`nginx_factory(server or port, stream_read_timeout_s=None)`: nginx in front of it; stopped after the test."""
    _nginx_or_skip()
    started: list[Nginx] = []

    def factory(upstream: Server | int, stream_read_timeout_s: float | None = None) -> Nginx:
        port = upstream if isinstance(upstream, int) else int(upstream.url.rsplit(":", 1)[1])
        started.append(start_nginx(tmp_path / f"nginx-{len(started)}", port, authority, stream_read_timeout_s))
        return started[-1]

    yield factory
    for nginx in started:
        nginx.stop()
