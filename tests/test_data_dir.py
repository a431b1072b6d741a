"""Each server keeps its files in its own data folder, DATA_DIR (issue #12).

Two servers on one machine used to share one folder in the system temp dir: each saw
the other's uploads and outbox, and one's `cleanup` removed the other's files. These run
real servers; tests/test_settings.py pins how the paths are resolved and refused.
"""

from pathlib import Path

import httpx

from tests.conftest import Server, start_job, wait_for_state


def upload(client: httpx.Client) -> str:
    response = client.post("/api/uploads", content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def run(client: httpx.Client, kind: str, **params: object) -> dict:
    job = wait_for_state(client, start_job(client, kind, **params)["id"], {"succeeded", "failed"}, timeout=30)
    assert job["state"] == "succeeded", job["error"]
    return job


def names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def upload_ids(folder: Path) -> set[str]:
    """The uploads in a data folder's `uploads`, each in its owner's own folder (issue 15)."""
    return {path.name for path in (folder / "uploads").rglob("*") if path.is_file()}


def test_two_servers_keep_uploads_outbox_results_and_report_data_apart(server_factory):
    first, second = server_factory(), server_factory()
    assert first.data_dir != second.data_dir
    made = {}
    for server in (first, second):
        client = server.client()
        mail = run(client, "email", recipients=["ann@example.com"])
        made[server.url] = {"upload": upload(client), "mail": mail["id"],
                            "file": client.get(mail["result"]["url"]).json()["sent"][0]["file"]}
    run(first.client(), "report", rows=1000)

    for server in (first, second):
        mine = made[server.url]
        assert upload_ids(server.data_dir) == {mine["upload"]}
        assert mine["file"] == f"outbox/{mine['mail']}-1.eml"
        assert names(server.data_dir / "outbox") == {f"{mine['mail']}-1.eml"}
        assert mine["mail"] in names(server.data_dir / "results")
    assert names(first.data_dir / "report") == {"sales-1000.sqlite3"}
    assert not (second.data_dir / "report").exists()

    run(first.client(), "cleanup", older_than_s=0)
    assert upload_ids(first.data_dir) == set()
    assert upload_ids(second.data_dir) == {made[second.url]["upload"]}


def test_kinds_data_dir_and_results_dir_still_override_their_part_of_the_data_folder(server_factory, tmp_path):
    data, kinds, results = tmp_path / "data", tmp_path / "kinds", tmp_path / "results"
    server: Server = server_factory({"DATA_DIR": str(data), "KINDS_DATA_DIR": str(kinds),
                                     "RESULTS_DIR": str(results)})
    client = server.client()
    upload_id = upload(client)
    mail = run(client, "email", recipients=["ann@example.com"])
    sent = client.get(mail["result"]["url"]).json()["sent"][0]

    assert upload_ids(kinds) == {upload_id}
    assert sent["file"] == f"outbox/{mail['id']}-1.eml"
    assert (kinds / sent["file"]).is_file()
    assert names(results) == {mail["id"]}
    assert names(data) & {"uploads", "outbox", "results"} == set()
