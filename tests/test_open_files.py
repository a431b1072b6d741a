"""Every open stream is a socket: gunicorn.conf.py raises a low open-file limit and warns
when the hard limit keeps it below `worker_connections` (issue #6)."""

import resource
import subprocess
import sys

from tests.conftest import ROOT, start_server

WANTED = 20000 + 1024
"""worker_connections, plus room for files, logs and other sockets."""


def lower_soft_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def test_the_config_raises_a_soft_limit_of_1024_as_far_as_the_hard_one_allows():
    code = ("import resource, runpy; runpy.run_path('gunicorn.conf.py'); "
            "print(*resource.getrlimit(resource.RLIMIT_NOFILE))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, preexec_fn=lower_soft_limit)
    soft, hard = map(int, result.stdout.split())
    assert soft == (WANTED if hard == resource.RLIM_INFINITY else min(WANTED, hard))


def test_a_server_whose_hard_limit_caps_the_streams_says_so_at_start(tmp_path):
    cap = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])

    def low_hard_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, cap), cap))

    server = start_server(tmp_path, before_exec=low_hard_limit)
    try:
        assert f"the open-file limit is {cap}, so a worker holds fewer than 20000 streams" in server.log()
    finally:
        server.stop()
