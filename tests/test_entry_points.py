"""Import discipline and the development server (issue #3).

`progress` stays framework-free (only its adapter imports Flask), and `python -m web`
monkey-patches before anything imports what gevent patches.
"""

import os
import pkgutil
import signal
import subprocess
import sys
import time

import httpx
import pytest

import progress
from tests.conftest import ROOT, free_port

FLASK_FREE = sorted(
    module.name for module in pkgutil.walk_packages(progress.__path__, "progress.")
    if not (module.name + ".").startswith("progress.flask_adapter.")  # the adapter and its modules
    and not module.name.endswith(".__main__")  # __main__ runs on import
)


@pytest.mark.parametrize("module", FLASK_FREE)
def test_no_progress_module_but_the_adapter_imports_flask(module):
    code = f"import sys, {module}; sys.exit('flask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"{module} pulls in Flask: {result.stderr}"


def test_python_m_web_patches_first_serves_and_stops_on_sigterm(tmp_path):
    port = free_port()
    log_path = tmp_path / "web.log"
    env = {**os.environ, "BIND": f"127.0.0.1:{port}", "PYTHONWARNINGS": "error::Warning",
           "DATA_DIR": str(tmp_path / "data")}
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "web"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        job = httpx.post(f"http://127.0.0.1:{port}/api/jobs", json={"kind": "greet"}).json()
        assert job["state"] == "queued"
        os.killpg(process.pid, signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log_path.read_text()
    assert "MonkeyPatchWarning" not in output and "Traceback" not in output


def test_the_settings_module_gunicorn_conf_imports_stays_free_of_gevent_and_flask():
    """Of `progress` it reads only the defaults and the Redis address, which are stdlib only (no redis-py)."""
    code = ("import sys, web.settings; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('gevent', 'flask', 'progress', 'redis')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == ("['progress', 'progress.defaults', 'progress.redis_backend', "
                                     "'progress.redis_backend.address']"), result.stderr


def test_the_terminal_client_loads_neither_gevent_nor_flask():
    code = ("import sys, progress.client.cli; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'gevent', 'flask', 'jsonschema'}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr
