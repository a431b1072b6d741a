"""`GET /api/kinds`: every kind with its params as a JSON Schema 2020-12 (issue #3)."""

from jsonschema import Draft202012Validator

SCHEMA_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def kinds_by_name(client) -> dict[str, dict]:
    response = client.get("/api/kinds")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["kinds"]
    return {kind["name"]: kind for kind in body["kinds"]}


def test_every_kind_has_a_name_title_description_and_a_closed_2020_12_schema(client):
    kinds = kinds_by_name(client)
    assert {"sleep", "greet"} <= set(kinds)
    for kind in kinds.values():
        assert set(kind) == {"name", "title", "description", "params", "retries", "timeout_s", "progress_unit"}
        assert kind["progress_unit"] in (None, "bytes")
        assert isinstance(kind["retries"], int) and kind["retries"] >= 0
        assert kind["timeout_s"] is None or kind["timeout_s"] > 0
        assert isinstance(kind["title"], str) and kind["title"]
        assert isinstance(kind["description"], str)
        schema = kind["params"]
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == SCHEMA_2020_12
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False


def test_sleep_takes_seconds_0_to_3600_default_5_and_steps_1_to_100000_default_100(client):
    params = kinds_by_name(client)["sleep"]["params"]
    assert params["properties"] == {
        "seconds": {"type": "number", "minimum": 0, "maximum": 3600, "default": 5},
        "steps": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 100},
    }
    assert params.get("required", []) == []


def test_greet_takes_a_user_of_1_to_100_characters_default_guest(client):
    params = kinds_by_name(client)["greet"]["params"]
    assert params["properties"] == {
        "user": {"type": "string", "minLength": 1, "maxLength": 100, "default": "Guest"},
    }
    assert params.get("required", []) == []


def test_the_uploaded_file_kind_counts_its_progress_in_bytes_and_sleep_in_steps(client):
    kinds = kinds_by_name(client)
    assert kinds["csv_summary"]["progress_unit"] == "bytes"
    assert kinds["sleep"]["progress_unit"] is None
