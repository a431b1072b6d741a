"""Settings from the environment: defaults, and a bad value stops the start naming it (issue #3)."""

import os
import subprocess
import sys

import pytest

from tests.conftest import GUNICORN, ROOT
from web.data_folder import resolve_data_paths
from web.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_contracts():
    settings = load_settings({})
    assert settings == Settings(bind="127.0.0.1:8000", jobs_concurrency=8, jobs_queue_size=1000,
                                jobs_keep_s=3600.0, sse_retry_ms=2000, sse_heartbeat_s=10.0)
    assert (settings.limit_streams_per_owner, settings.limit_queued_per_owner,
            settings.limit_jobs_per_minute) == (100, 100, 120)
    assert (settings.session_max_age_s, settings.limit_upload_bytes_per_owner, settings.allowed_hosts) == (
        43200.0, 10 * 1024 ** 3, ())
    assert settings.api_tokens_file is None and not settings.allow_open_access


def test_values_are_read_and_typed():
    settings = load_settings({"BIND": "0.0.0.0:9000", "ALLOW_OPEN_ACCESS": "1", "JOBS_CONCURRENCY": "2", "JOBS_QUEUE_SIZE": "0",
                              "JOBS_KEEP_S": "1.5", "SSE_RETRY_MS": "500", "SSE_HEARTBEAT_S": "15",
                              "JOB_KINDS_MODULES": "myapp.kinds, other", "REDIS_OUTAGE_GRACE_S": "2.5"})
    assert (settings.bind, settings.jobs_concurrency, settings.jobs_queue_size, settings.jobs_keep_s,
            settings.sse_retry_ms, settings.sse_heartbeat_s, settings.job_kinds_modules,
            settings.redis_outage_grace_s) == (
        "0.0.0.0:9000", 2, 0, 1.5, 500, 15.0, ("myapp.kinds", "other"), 2.5)
    assert load_settings({}).redis_outage_grace_s == 30.0


@pytest.mark.parametrize(("variable", "value"), [
    ("BIND", "localhost"), ("BIND", "host:99999"), ("BIND", "a b:80"),
    ("JOBS_CONCURRENCY", "0"), ("JOBS_CONCURRENCY", "eight"), ("JOBS_CONCURRENCY", "-1"),
    ("JOBS_QUEUE_SIZE", "1.5"), ("JOBS_KEEP_S", "nan"), ("JOBS_KEEP_S", "-5"),
    ("SSE_RETRY_MS", "2s"), ("SSE_HEARTBEAT_S", "16"), ("SSE_HEARTBEAT_S", "0"),
    ("JOB_KINDS_MODULES", "my-app.kinds"), ("REDIS_URL", "localhost:6379"),
    ("REDIS_OUTAGE_GRACE_S", "-1"), ("REDIS_OUTAGE_GRACE_S", "soon"), ("REDIS_OUTAGE_GRACE_S", "86401"),
])
def test_a_bad_value_raises_a_line_naming_the_variable_and_the_value(variable, value):
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ") and repr(value) in message and "\n" not in message


def run_briefly(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("command", [[GUNICORN, "-c", "gunicorn.conf.py"], [sys.executable, "-m", "web"]])
def test_both_entry_points_refuse_to_start_on_a_bad_setting(command):
    result = run_briefly(command, {"JOBS_CONCURRENCY": "lots", "BIND": "127.0.0.1:0"})
    assert result.returncode != 0
    assert "JOBS_CONCURRENCY: expected a whole number from 1 to 1000, got 'lots'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[GUNICORN, "-c", "gunicorn.conf.py"], [sys.executable, "-m", "web"]])
def test_an_unimportable_kinds_module_stops_the_start_naming_the_variable(command):
    """Under gunicorn the master stops too, rather than starting the failing worker again and again."""
    result = run_briefly(command, {"JOB_KINDS_MODULES": "no_such_module_here", "BIND": "127.0.0.1:0"})
    assert result.returncode != 0
    assert "JOB_KINDS_MODULES: cannot import 'no_such_module_here'" in result.stderr


def test_more_than_one_worker_without_redis_is_refused_with_the_reason():
    result = run_briefly([GUNICORN, "-c", "gunicorn.conf.py", "--workers", "3"], {"BIND": "127.0.0.1:0"})
    assert result.returncode != 0
    assert "3 workers need REDIS_URL" in result.stderr


def test_with_no_tokens_only_loopback_is_served_unless_open_access_is_asked_for(tmp_path):
    for bind in ("127.0.0.1:8000", "localhost:80", "[::1]:8000", "unix:/tmp/s"):
        load_settings({"BIND": bind})
    with pytest.raises(SettingsError, match="^BIND: '0.0.0.0:8000' is not a loopback address"):
        load_settings({"BIND": "0.0.0.0:8000"})
    assert load_settings({"BIND": "0.0.0.0:8000", "ALLOW_OPEN_ACCESS": "1"}).allow_open_access
    tokens = tmp_path / "tokens"
    tokens.write_text("alice " + "a" * 32 + "\n")
    token_file = load_settings({"BIND": "0.0.0.0:8000", "API_TOKENS_FILE": str(tokens)}).api_tokens_file
    assert (token_file.path, token_file.tokens[0].name) == (str(tokens), "alice")


@pytest.mark.parametrize(("content", "words"), [
    ("", "the token file holds no token"),
    ("alice short\n", "line 1 of the token file: a secret is 32"),
    ("alice " + "a" * 31 + "\n", "line 1 of the token file: a secret is 32"),
    ("# comment\nalice " + "a" * 32 + " root\n", "line 2 of the token file is not"),
    ("alice " + "a" * 32 + "\nbob " + "a" * 32 + "\n", "line 2 of the token file repeats"),
    ("al ice " + "a" * 32 + "\n", "line 1 of the token file is not"),
])
def test_a_bad_token_file_stops_the_start_naming_the_line_never_a_secret(tmp_path, content, words):
    tokens = tmp_path / "tokens"
    tokens.write_text(content)
    with pytest.raises(SettingsError, match=f"^API_TOKENS_FILE: {words}") as caught:
        load_settings({"API_TOKENS_FILE": str(tokens)})
    assert "a" * 20 not in str(caught.value)


def test_a_token_secret_under_32_characters_stops_the_start_with_one_line(tmp_path):
    """Issue 15: short secrets can be guessed; gunicorn's master stops, naming the variable and the line."""
    tokens = tmp_path / "tokens"
    tokens.write_text("alice " + "a" * 31 + "\n")
    result = run_briefly([GUNICORN, "-c", "gunicorn.conf.py"], {"API_TOKENS_FILE": str(tokens), "BIND": "127.0.0.1:0"})
    assert result.returncode != 0
    assert (f"API_TOKENS_FILE: line 1 of the token file: a secret is 32 to 256 printable ASCII characters, "
            f"got '{tokens}'\n") in result.stderr
    assert "Traceback" not in result.stderr and "a" * 31 not in result.stderr


@pytest.mark.parametrize(("variable", "value", "attribute", "expected"), [
    ("ALLOWED_HOSTS", "Progress.Example.org, *.example.com, [::1]", "allowed_hosts",
     ("progress.example.org", "*.example.com", "::1")),
    ("SESSION_MAX_AGE_S", "60", "session_max_age_s", 60.0),
    ("LIMIT_UPLOAD_BYTES_PER_OWNER", "0", "limit_upload_bytes_per_owner", 0),
    ("UPLOAD_READ_TIMEOUT_S", "2.5", "upload_read_timeout_s", 2.5),
])
def test_hosts_session_age_and_upload_limits_are_read_from_their_variables(variable, value, attribute, expected):
    assert getattr(load_settings({variable: value}), attribute) == expected


@pytest.mark.parametrize(("variable", "value"), [("ALLOWED_HOSTS", "a b"), ("SESSION_MAX_AGE_S", "0"),
                                                 ("LIMIT_UPLOAD_BYTES_PER_OWNER", "-1"), ("UPLOAD_READ_TIMEOUT_S", "0")])
def test_a_bad_host_list_session_age_or_upload_limit_names_its_variable(variable, value):
    with pytest.raises(SettingsError, match=f"^{variable}: "):
        load_settings({variable: value})


def test_a_bad_redis_url_is_quoted_without_its_password():
    with pytest.raises(SettingsError) as caught:
        load_settings({"REDIS_URL": "redis://user:s3cret-pass@host:notaport/0"})
    assert "s3cret-pass" not in str(caught.value) and "user:***@" in str(caught.value)


def test_the_data_folder_and_the_jobs_database_are_read_as_given_and_unset_until_the_app_resolves_them():
    assert load_settings({}).data_dir is None
    settings = load_settings({"DATA_DIR": "/srv/progress", "JOBS_DB": ":memory:"})
    assert (settings.data_dir, settings.jobs_db, settings.results_dir, settings.kinds_data_dir) == (
        "/srv/progress", ":memory:", None, None)


def test_every_path_defaults_to_a_place_in_the_data_folder_itself_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    settings = resolve_data_paths(load_settings({}), str(instance))
    assert (settings.data_dir, settings.jobs_db, settings.results_dir, settings.kinds_data_dir) == (
        str(instance), str(instance / "jobs.sqlite3"), str(instance / "results"), str(instance))
    assert (instance / "results").is_dir()


def test_data_dir_replaces_the_instance_folder_and_each_override_wins_inside_it(tmp_path):
    settings = resolve_data_paths(load_settings({
        "DATA_DIR": str(tmp_path / "data"), "JOBS_DB": ":memory:",
        "RESULTS_DIR": str(tmp_path / "results"), "KINDS_DATA_DIR": str(tmp_path / "kinds")}), str(tmp_path / "instance"))
    assert (settings.data_dir, settings.jobs_db, settings.results_dir, settings.kinds_data_dir) == (
        str(tmp_path / "data"), ":memory:", str(tmp_path / "results"), str(tmp_path / "kinds"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data", "kinds", "results"]


def test_a_relative_data_dir_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = resolve_data_paths(load_settings({"DATA_DIR": "data"}), "unused")
    assert (settings.data_dir, settings.results_dir) == (str(tmp_path / "data"), str(tmp_path / "data" / "results"))


@pytest.mark.parametrize("variable", ["DATA_DIR", "RESULTS_DIR", "KINDS_DATA_DIR"])
def test_a_folder_that_cannot_be_created_is_refused_naming_its_variable(tmp_path, variable):
    (tmp_path / "file").write_text("")
    below_a_file = tmp_path / "file" / "data"
    with pytest.raises(SettingsError) as caught:
        resolve_data_paths(load_settings({"DATA_DIR": str(tmp_path / "data"), variable: str(below_a_file)}),
                           str(tmp_path / "instance"))
    assert str(caught.value) == f"{variable}: cannot create or write the folder '{below_a_file}' (Not a directory)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_a_data_folder_that_cannot_be_written_is_refused(tmp_path):
    (tmp_path / "data").mkdir(mode=0o500)
    with pytest.raises(SettingsError, match=r"^DATA_DIR: cannot create or write the folder .* \(Permission denied\)$"):
        resolve_data_paths(load_settings({"DATA_DIR": str(tmp_path / "data")}), "unused")


@pytest.mark.parametrize("command", [[GUNICORN, "-c", "gunicorn.conf.py"], [sys.executable, "-m", "web"]])
def test_both_entry_points_stop_at_start_naming_data_dir_when_it_is_unusable(tmp_path, command):
    (tmp_path / "file").write_text("")
    result = run_briefly(command, {"DATA_DIR": str(tmp_path / "file" / "data"), "BIND": "127.0.0.1:0"})
    assert result.returncode != 0
    assert f"DATA_DIR: cannot create or write the folder '{tmp_path}/file/data' (Not a directory)\n" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_server_on_the_same_data_folder_stops_at_start_naming_jobs_db(server_factory, tmp_path):
    """One data folder per deployment: the database is locked by the server using it."""
    first = server_factory({"DATA_DIR": str(tmp_path / "shared")})
    result = run_briefly([GUNICORN, "-c", "gunicorn.conf.py"], {"DATA_DIR": str(tmp_path / "shared"),
                                                                "BIND": "127.0.0.1:0"})
    assert result.returncode != 0
    assert f"JOBS_DB: {tmp_path}/shared/jobs.sqlite3 is in use by another server; each needs its own\n" \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert first.client().get("/healthz").status_code == 200
