"""Kinds and their params: JSON Schema 2020-12 validation, defaults, messages naming the field (issue #3)."""

import pytest

from progress import InvalidParams, KindRegistry, UnknownKind, default_registry
from progress.kinds import sleep as _registers_shipped_kinds  # noqa: F401


@pytest.fixture
def registry() -> KindRegistry:
    registry = KindRegistry()

    @registry.job_kind("resize", title="Resize", params={
        "width": {"type": "integer", "minimum": 1, "maximum": 4000},
        "scale": {"type": "number", "exclusiveMinimum": 0, "default": 1.5},
        "name": {"type": "string", "minLength": 1, "maxLength": 3, "default": "img"},
        "mode": {"enum": ["fit", "fill"], "default": "fit"},
        "sharp": {"type": "boolean", "default": False},
    })
    def resize(ctx, width, scale, name, mode, sharp):
        """Resizes an image.

        More details that are not the description."""

    return registry


def test_a_kind_is_a_decorated_function_with_title_description_and_schema(registry):
    kind = registry.get("resize")
    assert kind.to_dict()["description"] == "Resizes an image."
    schema = kind.schema
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["width"]


def test_validation_fills_in_defaults_and_reads_integral_floats_as_integers(registry):
    _, params = registry.validate("resize", {"width": 10.0})
    assert params == {"width": 10, "scale": 1.5, "name": "img", "mode": "fit", "sharp": False}
    assert type(params["width"]) is int


@pytest.mark.parametrize(("params", "field", "words"), [
    ({"width": True}, "params.width", "must be an integer"),
    ({"width": 10.5}, "params.width", "must be an integer"),
    ({"width": "10"}, "params.width", "must be an integer"),
    ({"width": 0}, "params.width", "at least 1"),
    ({"width": 4001}, "params.width", "at most 4000"),
    ({"width": 1, "scale": 0}, "params.scale", "greater than 0"),
    ({"width": 1, "scale": False}, "params.scale", "must be a number"),
    ({"width": 1, "name": ""}, "params.name", "at least 1 character long"),  # one, not "1 characters"
    ({"width": 1, "name": "\U0001F600" * 4}, "params.name", "at most 3 characters long"),
    ({"width": 1, "mode": "crop"}, "params.mode", "one of 'fit', 'fill'"),
    ({"width": 1, "sharp": 1}, "params.sharp", "true or false"),
    ({"width": 1, "colour": "red"}, "params.colour", "not a param"),
    ({}, "params.width", "is required"),
])
def test_a_bad_param_is_refused_with_a_message_naming_it(registry, params, field, words):
    with pytest.raises(InvalidParams) as caught:
        registry.validate("resize", params)
    assert caught.value.field == field
    assert caught.value.message.startswith(field)
    assert words in caught.value.message


def test_lengths_count_code_points_not_bytes(registry):
    _, params = registry.validate("resize", {"width": 1, "name": "\U0001F600" * 3})
    assert params["name"] == "\U0001F600" * 3


@pytest.mark.parametrize("params", [None, [], "x", 3])
def test_params_must_be_an_object(registry, params):
    with pytest.raises(InvalidParams, match="params must be a JSON object"):
        registry.validate("resize", params)


def test_an_unknown_kind_is_refused_and_a_huge_name_is_not_echoed_whole(registry):
    with pytest.raises(UnknownKind) as caught:
        registry.validate("x" * 10000, {})
    assert len(caught.value.message) < 120


def test_registering_the_same_name_twice_is_an_error(registry):
    with pytest.raises(ValueError, match="already registered"):
        registry.job_kind("resize")(lambda ctx: None)


def test_a_kind_says_what_its_progress_counts_and_only_in_a_unit_pages_know(registry):
    assert registry.get("resize").to_dict()["progress_unit"] is None
    registry.job_kind("upload_size", progress_unit="bytes")(lambda ctx: None)
    assert registry.get("upload_size").to_dict()["progress_unit"] == "bytes"
    with pytest.raises(ValueError, match="progress_unit must be one of"):
        registry.job_kind("rows", progress_unit="rows")(lambda ctx: None)
    assert "rows" not in registry


def test_shipped_kinds_have_the_contract_params():
    sleep = default_registry.get("sleep").schema["properties"]
    assert sleep == {"seconds": {"type": "number", "minimum": 0, "maximum": 3600, "default": 5},
                     "steps": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 100}}
    greet = default_registry.get("greet").schema["properties"]
    assert greet == {"user": {"type": "string", "minLength": 1, "maxLength": 100, "default": "Guest"}}
