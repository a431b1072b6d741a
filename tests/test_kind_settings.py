"""The shipped kinds' settings: parsed from the environment, a bad one named with its value (issue #5)."""

import pytest

from progress.kinds.environment import KindsConfig
from web.kinds_environment import kinds_config
from web.settings import SettingsError, load_settings


@pytest.mark.parametrize("variable, value, expected", [
    ("UPLOAD_MAX_BYTES", "1k", "UPLOAD_MAX_BYTES: expected a whole number from 1 to 1099511627776, got '1k'"),
    ("SMTP_PORT", "70000", "SMTP_PORT: expected a whole number from 1 to 65535, got '70000'"),
    ("SMTP_STARTTLS", "maybe", "SMTP_STARTTLS: expected 1 or 0 (true/false, yes/no, on/off), got 'maybe'"),
    ("FETCH_ALLOW_PRIVATE", "2", "FETCH_ALLOW_PRIVATE: expected 1 or 0 (true/false, yes/no, on/off), got '2'"),
    ("FETCH_ALLOWED_HOSTS", "https://api.example.com",
     "FETCH_ALLOWED_HOSTS: expected host names, *.domain or * joined by commas, "
     "'https://api.example.com' is not one, got 'https://api.example.com'"),
    ("CLEANUP_CRON", "hourly", "CLEANUP_CRON: expected a cron expression of five fields such as '0 * * * *', got 'hourly'"),
    ("CLEANUP_AFTER_S", "a day", "CLEANUP_AFTER_S: expected a number of seconds from 0 up to 31536000, got 'a day'"),
])
def test_a_bad_kind_setting_names_the_variable_and_the_value(variable, value, expected):
    with pytest.raises(SettingsError) as error:
        load_settings({variable: value})
    assert str(error.value) == expected


def test_kind_settings_reach_the_kinds_as_one_frozen_object():
    settings = load_settings({
        "KINDS_DATA_DIR": "/srv/data", "UPLOAD_MAX_BYTES": "1000", "SMTP_HOST": "mail.example.com",
        "SMTP_PORT": "587", "SMTP_STARTTLS": "yes", "SMTP_USERNAME": "app", "SMTP_PASSWORD": " secret ",
        "SMTP_SENDER": "app@example.com", "FETCH_ALLOWED_HOSTS": "API.example.com, *.cdn.example.com,[::1]",
        "FETCH_ALLOW_PRIVATE": "on", "CLEANUP_AFTER_S": "60",
    })
    config = kinds_config(settings)
    assert (config.data_dir, config.upload_max_bytes, config.sender) == ("/srv/data", 1000, "app@example.com")
    assert (config.smtp.host, config.smtp.port, config.smtp.starttls) == ("mail.example.com", 587, True)
    assert (config.smtp.username, config.smtp.password) == ("app", " secret ")
    assert "secret" not in repr(config)
    assert config.fetch_allowed_hosts == ("api.example.com", "*.cdn.example.com", "::1")
    assert (config.fetch_allow_private, config.cleanup_after_s) == (True, 60.0)


def test_without_smtp_host_email_uses_the_outbox():
    assert kinds_config(load_settings({"KINDS_DATA_DIR": "/srv/data"})).smtp is None


def test_the_kinds_and_the_server_read_their_defaults_from_one_place():
    assert kinds_config(load_settings({"KINDS_DATA_DIR": "/srv/data"})) == KindsConfig(data_dir="/srv/data")
