"""The terminal client types `name=value` words by the kind's schema (issue 4), lists too (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from progress.client.params import files_to_upload, parse_params

SCHEMA = {"properties": {
    "seconds": {"type": "number"},
    "steps": {"type": "integer"},
    "user": {"type": "string"},
    "loud": {"type": "boolean"},
    "urls": {"type": "array"},
    "to": {"type": "array", "items": {"type": "string"}},
    "sizes": {"type": "array", "items": {"type": "integer"}},
}}


@pytest.mark.parametrize(("word", "expected"), [
    ("seconds=2.5", {"seconds": 2.5}),
    ("steps=10", {"steps": 10}),
    ("user=123", {"user": "123"}),
    ("user=", {"user": ""}),
    ("user=a=b", {"user": "a=b"}),
    ("user=<img src=x>", {"user": "<img src=x>"}),
    ("loud=yes", {"loud": True}),
    ("loud=false", {"loud": False}),
    ('urls=["http://a"]', {"urls": ["http://a"]}),
    ("unknown=3", {"unknown": 3}),
])
def test_values_are_typed_by_the_schema(word: str, expected: dict) -> None:
    assert parse_params([word], SCHEMA) == expected


@pytest.mark.parametrize(("words", "expected"), [
    (["to=a@x", "to=b@y"], {"to": ["a@x", "b@y"]}),
    (["to=Ann <ann@example.com>"], {"to": ["Ann <ann@example.com>"]}),
    (['to=["a@x", "b@y"]', "to=c@z"], {"to": ["a@x", "b@y", "c@z"]}),
    (["to=[]"], {"to": []}),
    (["to=[not json"], {"to": ["[not json"]}),
    (["to=123"], {"to": ["123"]}),
    (["sizes=1", "sizes=20", "sizes=x"], {"sizes": [1, 20, "x"]}),
    (["urls=http://a", "seconds=1", "urls=http://b"], {"urls": ["http://a", "http://b"], "seconds": 1}),
])
def test_a_list_param_takes_one_word_per_item_or_a_json_list(words: list[str], expected: dict) -> None:
    """Issue 16 part 7: lists no longer need JSON."""
    assert parse_params(words, SCHEMA) == expected


@pytest.mark.parametrize("words", [["seconds=1", "seconds=2"], ["user=a", "user=b"], ["unknown=1", "unknown=2"]])
def test_any_other_param_given_twice_is_a_usage_error(words: list[str]) -> None:
    with pytest.raises(ValueError, match="given twice; only a list param"):
        parse_params(words, SCHEMA)


@pytest.mark.parametrize(("word", "sent"), [
    ("seconds=soon", "soon"),
    ("seconds=true", "true"),
    ("steps=[1]", "[1]"),
    ("loud=maybe", "maybe"),
])
def test_a_value_that_does_not_fit_is_sent_as_typed_for_the_server_to_name(word: str, sent: str) -> None:
    name = word.split("=")[0]
    assert parse_params([word], SCHEMA) == {name: sent}


@pytest.mark.parametrize("word", ["seconds", "=3"])
def test_a_word_without_a_name_and_value_is_a_usage_error(word: str) -> None:
    with pytest.raises(ValueError, match="name=value"):
        parse_params([word], SCHEMA)


def test_only_upload_params_given_as_at_path_are_files_to_upload() -> None:
    schema = {"properties": {"upload": {"type": "string", "format": "upload"}, "user": {"type": "string"}}}
    assert files_to_upload({"upload": "@data/a.csv", "user": "@ada"}, schema) == {"upload": Path("data/a.csv")}
    assert files_to_upload({"upload": "0123456789abcdef0123456789abcdef"}, schema) == {}
