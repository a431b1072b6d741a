"""Every bench script still runs (issue #6): tiny sizes, no timing asserted.

The scripts mostly wait on their servers, so they all start at once and each test
checks its own: the module costs the slowest script rather than the sum of them.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

SCRIPTS = ("bench.hold", "bench.fanout", "bench.fanout_redis", "bench.jobs", "bench.looplag", "bench.soak", "bench.store",
           "bench.delayed", "bench.state_burst", "bench.storm", "bench.hold_redis")


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.Popen, Path]]:
    folder = tmp_path_factory.mktemp("bench")
    started = {}
    for script in SCRIPTS:
        out = folder / f"{script}.json"
        started[script] = (subprocess.Popen([sys.executable, "-m", script, "--smoke", "--out", str(out)], cwd=ROOT,
                                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), out)
    yield started
    for process, _ in started.values():
        process.kill()
        process.communicate()


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_at_smoke_size_and_prints_its_table(script, runs):
    process, out = runs[script]
    output, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output
    assert "server" in output or "phase" in output
    assert out.exists()
