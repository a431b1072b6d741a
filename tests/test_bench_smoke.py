"""Every bench script still runs (issue #6): tiny sizes, a few seconds each, no timing asserted."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT

SCRIPTS = ("bench.hold", "bench.fanout", "bench.jobs", "bench.looplag", "bench.soak", "bench.store", "bench.delayed",
           "bench.state_burst")


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_at_smoke_size_and_prints_its_table(script, tmp_path):
    out = tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", script, "--smoke", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "server" in done.stdout or "phase" in done.stdout
    assert out.exists()
