"""Schemathesis against a live gunicorn: no 5xx, and every answer as /api/openapi.json says (issue 16).

Valid and invalid requests for every operation but the two streams (long-lived: documented,
not fuzzed), a bounded number each; the settings and why are in tests/schemathesis.toml.
The fuzzer is an owner who is no admin. The server runs one job at a time, and an admin's
long job holds that slot where the fuzzer can neither see nor cancel it, so the jobs the
fuzzer starts only queue: no kind's own work (the report's data set, fetches, e-mail) begins.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, start_job, wait_for_state

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
ADMIN_SECRET = "admin-secret-0123456789-0123456789"
FUZZER_SECRET = "fuzzer-secret-0123456789-0123456789"
RUN_DEADLINE_S = 300


def test_schemathesis_finds_no_server_error_and_no_answer_unlike_the_document(server_factory, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"admin {ADMIN_SECRET} admin\nfuzzer {FUZZER_SECRET}\n")
    server = server_factory({"API_TOKENS_FILE": str(tokens), "JOBS_CONCURRENCY": "1", "JOBS_QUEUE_SIZE": "1000000",
                             "JOB_KINDS_MODULES": ""})
    admin = server.client(headers={"Authorization": f"Bearer {ADMIN_SECRET}"})
    wait_for_state(admin, start_job(admin, "sleep", seconds=3600, steps=1)["id"], {"running"})

    run = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(ROOT / "tests" / "schemathesis.toml"), "--no-color",
         "run", f"{server.url}/api/openapi.json"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), "FUZZ_TOKEN": FUZZER_SECRET},
        capture_output=True, text=True, timeout=RUN_DEADLINE_S)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "Traceback" not in server.log()
