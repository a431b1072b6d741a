"""The project as a package (issue 16): a wheel built from the sources installs outside the
repository, carries the templates, static files and API documents, and its terminal client runs
from any folder, as `progress-client` and as `python -m progress.client`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import ROOT, Server

PACKAGES = ("progress", "web")
PIP_DEADLINE_S = 180


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=PIP_DEADLINE_S)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    return done


def data_files() -> set[str]:
    """Every file of the packages but Python sources: what package data must carry."""
    return {path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*")
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}


def test_the_wheel_installs_outside_the_repository_and_its_client_runs_from_any_folder(server: Server, tmp_path: Path):
    source = tmp_path / "source"  # a copy: a build in the checkout would leave build/ behind, stale files and all
    for name in PACKAGES:
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "instance"))
    shutil.copy(ROOT / "pyproject.toml", source)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(tmp_path / "dist"),
         str(source)], cwd=tmp_path)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    carried = set(zipfile.ZipFile(wheel).namelist())
    assert {"web/templates/index.html", "web/static/app.js", "web/openapi.json",
            "progress/flask_adapter/openapi.json"} <= data_files()
    assert data_files() <= carried

    site = tmp_path / "site"
    run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(site),
         str(wheel)], cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}  # the installed copy; the shared environment gives the rest
    found = run([sys.executable, "-c", "import progress, web; print(progress.__file__, web.__file__)"], elsewhere, env)
    assert all(Path(path).is_relative_to(site) for path in found.stdout.split())

    assert "usage:" in run([str(site / "bin" / "progress-client"), "--help"], elsewhere, env).stdout
    kinds = run([sys.executable, "-m", "progress.client", "--url", server.url, "kinds"], elsewhere, env).stdout
    assert "sleep" in kinds and "greet" in kinds
