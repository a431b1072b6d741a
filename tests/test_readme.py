"""The README's examples work as written: its own kind, loaded by a real server (issue #3),
and its embedding section, the example host app (issue 16)."""

import re

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


EXAMPLE_IN_THE_README = {"app.py", "kinds.py", "templates/jobs.html", "gunicorn.conf.py"}
"""The example host app's files the README shows, each whole; tests/test_host_example.py runs them."""


def test_the_readme_embedding_section_is_the_example_host_app_verbatim():
    """Issue 16: what the README shows is what the tests run in Chromium, not a copy that drifts."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:python|html)\n((?:# |\{# )examples/host_app/(\S+?)(?: #\})?\n.*?)```",
                        readme, re.DOTALL)
    shown = {path: text for text, path in blocks}
    assert set(shown) == EXAMPLE_IN_THE_README
    for path, text in shown.items():
        assert text == (ROOT / "examples" / "host_app" / path).read_text(), f"the README's {path} differs from the file"
