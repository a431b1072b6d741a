"""Job kinds: `@job_kind` registers a function with its params as JSON Schema."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .access import Owner
from .errors import InvalidParams, UnknownKind
from .schedules import Schedule

KindFunction = Callable[..., Any]
"""`fn(ctx, **params)`; its return value, when it wrote no result, becomes the JSON result."""

PROGRESS_UNITS = (None, "bytes")
"""What a kind's `done` and `total` count: things (None), or bytes, which pages show in kB, MB, GB."""


@dataclass(frozen=True)
class JobKind:
    name: str
    title: str
    description: str
    schema: dict[str, Any]
    function: KindFunction
    total: Callable[[dict[str, Any]], int | None] | None = None
    retries: int = 0
    """Attempts after the first when a job raises or its process dies (`Job.end_attempt`)."""
    retry_backoff_s: float = 1.0
    """The wait before the second attempt; it doubles for each later one, up to an hour."""
    timeout_s: float | None = None
    """A job running longer is stopped and fails (`POST /api/jobs` may ask for less)."""
    admin_only: bool = False
    """It acts beyond its owner's own data (`cleanup`), so only admins see and start it (issue 15)."""
    progress_unit: str | None = None
    """What `done` and `total` count (`PROGRESS_UNITS`), so a page can say "1.2 MB of 4 MB"."""
    validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.progress_unit not in PROGRESS_UNITS:
            raise ValueError(f"kind {self.name!r}: progress_unit must be one of {PROGRESS_UNITS}, "
                             f"got {self.progress_unit!r}")
        Draft202012Validator.check_schema(self.schema)
        object.__setattr__(self, "validator", Draft202012Validator(self.schema))

    def to_dict(self) -> dict[str, Any]:
        """The contract's entry in `GET /api/kinds`."""
        return {"name": self.name, "title": self.title, "description": self.description,
                "params": self.schema, "retries": self.retries, "timeout_s": self.timeout_s,
                "progress_unit": self.progress_unit}

    def initial_total(self, params: dict[str, Any]) -> int | None:
        return self.total(params) if self.total else None

    def visible_to(self, viewer: Owner | None) -> bool:
        """None is the server itself, which may run every kind."""
        return viewer is None or viewer.admin or not self.admin_only


def object_schema(properties: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A JSON Schema 2020-12 object of these params; those without a default are required."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {name: dict(spec) for name, spec in properties.items()},
        "required": [name for name, spec in properties.items() if "default" not in spec],
        "additionalProperties": False,
    }


class KindRegistry:
    """The kinds a server offers, by name."""

    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}
        self.schedules: list[Schedule] = []
        """Periodic schedules declared with the kinds (`job_kind(schedule=...)`)."""

    def __iter__(self) -> Iterator[JobKind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def visible(self, viewer: Owner | None) -> list[JobKind]:
        """The kinds `viewer` may see and start, in registration order (None: every kind)."""
        return [kind for kind in self._kinds.values() if kind.visible_to(viewer)]

    def get(self, name: str, viewer: Owner | None = None) -> JobKind:
        """The kind; one `viewer` may not use is unknown in the very words of one that does not
        exist, so whether an admin-only kind exists is no one else's business."""
        kind = self._kinds.get(name)
        if kind is None or not kind.visible_to(viewer):
            raise UnknownKind(f"There is no job kind named {_short(name)}.")
        return kind

    def add(self, kind: JobKind) -> JobKind:
        if kind.name in self._kinds:
            raise ValueError(f"a job kind named {kind.name!r} is already registered")
        self._kinds[kind.name] = kind
        return kind

    def job_kind(
        self,
        name: str,
        *,
        title: str | None = None,
        description: str | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        total: Callable[[dict[str, Any]], int | None] | None = None,
        retries: int = 0,
        retry_backoff_s: float = 1.0,
        timeout_s: float | None = None,
        schedule: str | None = None,
        schedule_params: Mapping[str, Any] | None = None,
        admin_only: bool = False,
        progress_unit: str | None = None,
    ) -> Callable[[KindFunction], KindFunction]:
        """Register `fn(ctx, **params)` as a kind; `params` maps each name to its JSON Schema.

        `total` may compute the progress total from the params, so a queued job
        already shows a determinate bar. A job that raises (or whose process dies) is tried
        again up to `retries` times, `retry_backoff_s` after the first failure and twice as
        long after each later one; one running longer than `timeout_s` is stopped and fails.
        With `schedule` (five-field cron, UTC) a job with `schedule_params` starts at each of
        its times (progress/schedules.py). An `admin_only` kind is for admins alone: anyone
        else neither sees it in `GET /api/kinds` nor can start it (`unknown_kind`).
        `progress_unit="bytes"` says that `done` and `total` count bytes (None: things).
        """

        def register(function: KindFunction) -> KindFunction:
            doc = inspect.getdoc(function) or ""
            self.add(JobKind(
                name=name,
                title=title or name.replace("_", " ").capitalize(),
                description=description if description is not None else doc.split("\n\n")[0],
                schema=object_schema(params or {}),
                function=function,
                total=total,
                retries=retries,
                retry_backoff_s=retry_backoff_s,
                timeout_s=timeout_s,
                admin_only=admin_only,
                progress_unit=progress_unit,
            ))
            if schedule is not None:
                self.schedules.append(Schedule(name, name, schedule, dict(schedule_params or {})))
            return function

        return register

    def validate(self, name: str, params: Any, viewer: Owner | None = None) -> tuple[JobKind, dict[str, Any]]:
        """The kind and its params with defaults filled in, or `UnknownKind` / `InvalidParams`."""
        kind = self.get(name, viewer)
        if not isinstance(params, dict):
            raise InvalidParams("params must be a JSON object.", field="params")
        error = best_match(kind.validator.iter_errors(params))
        if error is not None:
            raise _invalid(error)
        return kind, _with_defaults(kind.schema, params)


def _with_defaults(schema: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Fill in defaults and turn integral floats of integer params into ints (`10.0` is 10)."""
    filled = {}
    for name, spec in schema["properties"].items():
        if name in params:
            value = params[name]
            if spec.get("type") == "integer" and isinstance(value, float):
                value = int(value)
            filled[name] = value
        elif "default" in spec:
            filled[name] = spec["default"]
    return filled


_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string",
               "boolean": "true or false", "object": "an object", "array": "an array",
               "null": "null"}


def _invalid(error: ValidationError) -> InvalidParams:
    """One sentence naming the param, whatever rule it broke."""
    path = [str(part) for part in error.absolute_path]
    field_name = "params." + ".".join(path) if path else "params"
    rule, limit = error.validator, error.validator_value
    if rule == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        unknown = extra[0] if extra else "?"
        return InvalidParams(f"params.{_cut(unknown)} is not a param of this kind.",
                             field=f"params.{unknown}")
    if rule == "required":
        missing = [name for name in limit if name not in error.instance]
        name = missing[0] if missing else "?"
        return InvalidParams(f"params.{name} is required.", field=f"params.{name}")
    sentences = {
        "type": lambda: f"must be {_type_name(limit)}",
        "minimum": lambda: f"must be at least {limit}",
        "maximum": lambda: f"must be at most {limit}",
        "exclusiveMinimum": lambda: f"must be greater than {limit}",
        "exclusiveMaximum": lambda: f"must be less than {limit}",
        "minLength": lambda: f"must be at least {_characters(limit)} long",
        "maxLength": lambda: f"must be at most {_characters(limit)} long",
        "enum": lambda: "must be one of " + ", ".join(_short(v) for v in limit),
        "const": lambda: f"must be {_short(limit)}",
        "pattern": lambda: f"must match the pattern {limit}",
    }
    sentence = sentences.get(rule, lambda: f"is invalid ({rule})")()
    return InvalidParams(f"{field_name} {sentence}.", field=field_name)


def _characters(count: int) -> str:
    return f"{count} character" if count == 1 else f"{count} characters"


def _type_name(types: str | list[str]) -> str:
    names = [types] if isinstance(types, str) else types
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def _cut(text: str, limit: int = 60) -> str:
    """Cut so a huge input never makes a huge error message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: object) -> str:
    """A value quoted for a message."""
    return _cut(repr(value))


default_registry = KindRegistry()
"""The registry `@job_kind` adds to and the server offers."""

job_kind = default_registry.job_kind
