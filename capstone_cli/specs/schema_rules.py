"""Validating a pipeline spec against the official JSON Schema (draft 04), with one clear error.

jsonschema reports every violation, many of them echoes of one mistake hidden in `oneOf: [null,
T]` wrappers; `validate_schema` picks the deepest, most specific one and words it for a person:
the field in snake_case, what type was expected, the closest valid key for a typo.
"""

from __future__ import annotations

import difflib
from typing import Any

from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from capstone_cli.errors import SpecError
from capstone_cli.specs.spec_schema import FieldPath as Path
from capstone_cli.specs.spec_schema import (
    fail,
    field_path,
    pipeline_schema,
    resolve,
    schema_types,
    snake_key,
)

_JSON_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _expected(schema: dict[str, Any]) -> str:
    names = sorted(_JSON_TYPE_NAMES.get(t, t) for t in schema_types(schema))
    return " or ".join(names) or "a different value"


def _has_type(value: Any, kind: str) -> bool:
    """JSON Schema's idea of a type (booleans are not numbers)."""
    if isinstance(value, bool):
        return kind == "boolean"
    python = {
        "string": str,
        "integer": int,
        "number": int | float,
        "array": list,
        "object": dict,
        "null": type(None),
    }.get(kind)
    return python is not None and isinstance(value, python)


def _type_mismatch(error: ValidationError) -> bool:
    """A wrong JSON type, possibly hidden in the `oneOf: [null, T]` wrappers of the schema."""
    if error.validator == "type":
        return True
    if error.validator != "oneOf":
        return False
    types = schema_types(error.schema)  # type: ignore[arg-type]
    return bool(types) and not any(_has_type(error.instance, t) for t in types)


def _rank(error: ValidationError) -> tuple[int, int, str]:
    priority = 0 if _type_mismatch(error) else 1 if error.validator == "additionalProperties" else 2
    return (-len(error.absolute_path), priority, str(list(error.absolute_path)))


def _unknown_key_error(error: ValidationError, where: str) -> SpecError:
    path: Path = tuple(error.absolute_path)
    props = resolve(error.schema).get("properties", {})  # type: ignore[arg-type]
    instance: dict[str, Any] = error.instance  # type: ignore[assignment]
    unknown = sorted(k for k in instance if k not in props)
    key = unknown[0]
    choices = sorted(snake_key(p) for p in props)
    close = difflib.get_close_matches(snake_key(key), choices, n=1, cutoff=0.6)
    hint = (
        f"did you mean `{close[0]}`?"
        if close
        else f"valid fields here: {', '.join(choices)}"
        if choices
        else "remove it"
    )
    return fail(where, (*path, key), "unknown field", hint)


def validate_schema(doc: dict[str, Any], where: str) -> None:
    """Draft-04 validation against the official schema; raises the most specific error."""
    errors = list(Draft4Validator(pipeline_schema()).iter_errors(doc))
    if not errors:
        return
    error = min(errors, key=_rank)
    path: Path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        raise _unknown_key_error(error, where)
    if _type_mismatch(error):
        expected = _expected(error.schema)  # type: ignore[arg-type]
        raise fail(
            where,
            path,
            f"must be {expected}, not {_json_type(error.instance)}",
            f"write {field_path(path) or 'the spec'} as {expected}",
        )
    if error.validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)  # type: ignore[union-attr]
        raise fail(where, path, f"{error.instance!r} is not allowed", f"use one of: {allowed}")
    raise fail(where, path, error.message, "fix the value to match Pachyderm's pipeline spec")
