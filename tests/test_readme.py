"""The README's examples work as written: its own kind, loaded by a real server (issue #3),
and its embedding section (issue 16)."""

import importlib
import re
import sys

from tests.conftest import ROOT, start_job, wait_for_state


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    return re.search(r"```python\n# myapp/kinds.py\n(.*?)```", readme, re.S).group(1)


def test_the_readme_kind_runs_on_a_real_server(tmp_path, server_factory):
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "kinds.py").write_text(readme_example())
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "a.txt").write_text("hello")
    server = server_factory(env={"PYTHONPATH": str(tmp_path), "JOB_KINDS_MODULES": "myapp.kinds"})
    client = server.client()
    assert "checksums" in [kind["name"] for kind in client.get("/api/kinds").json()["kinds"]]
    job = start_job(client, "checksums", folder=str(folder))
    finished = wait_for_state(client, job["id"], {"succeeded", "failed"})
    assert finished["state"] == "succeeded", finished["error"]
    assert client.get(finished["result"]["url"]).json() == {
        "a.txt": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}


def test_the_readme_embedding_serves_the_api_under_its_prefix_to_the_apps_own_login(tmp_path, monkeypatch):
    """Issue 16: the README's embedding section, as written, in an app's own package."""
    readme = (ROOT / "README.md").read_text()
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(re.search(r"```python\n# myapp/app.py\n(.*?)```", readme, re.S).group(1))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("FLASK_SECRET_KEY", "a secret for this test only")
    for name in ("myapp", "myapp.app"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    client = importlib.import_module("myapp.app").app.test_client()

    assert client.get("/progress/api/kinds").status_code == 401
    with client.session_transaction() as session:
        session["user"] = "ann"
    assert "greet" in [kind["name"] for kind in client.get("/progress/api/kinds").json["kinds"]]
    created = client.post("/progress/api/jobs", json={"kind": "greet", "params": {"user": "Ann"}})
    assert created.status_code == 202
    assert created.headers["Location"] == f"/progress/api/jobs/{created.json['id']}"
    assert client.get(created.headers["Location"]).json["params"] == {"user": "Ann"}
