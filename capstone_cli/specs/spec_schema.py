"""The canonical (camelCase) form of a spec, walked together with Pachyderm's JSON Schema.

pachctl reads specs through protojson, which accepts both the proto's snake_case names and their
camelCase JSON names; every later rule works on one spelling, so documents are canonicalised here,
and error messages name fields in Pachyderm's documented snake_case (`field_path`). The schema is
the official `CreatePipelineRequest` one shipped as package data, so field names are never listed
by hand.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from importlib import resources
from typing import Any

from capstone_cli.errors import SpecError

# Request flags pachctl honours inside a spec file; they are not part of the schema.
REQUEST_FLAGS = {"update": "update", "reprocess": "reprocess", "dryRun": "dry_run"}
_FLAG_SPELLINGS = {"update", "reprocess", "dryRun", "dry_run", "specCommit", "spec_commit"}


@functools.lru_cache(maxsize=1)
def pipeline_schema() -> dict[str, Any]:
    """The official draft-04 `CreatePipelineRequest` schema shipped as package data."""
    text = resources.files("capstone_cli.data").joinpath("CreatePipelineRequest.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref` (draft-04 ignores its siblings, so the target is the whole story)."""
    definitions = pipeline_schema()["definitions"]
    while "$ref" in schema:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def is_map_schema(schema: dict[str, Any]) -> bool:
    """env, labels, annotations, nodeSelector: keys are data and are never renamed."""
    return isinstance(schema.get("additionalProperties"), dict)


def schema_types(schema: dict[str, Any]) -> set[str]:
    """JSON types a (resolved) property schema allows, `null` left out."""
    types: set[str] = set()
    for alt in [schema, *schema.get("oneOf", [])]:
        kind = alt.get("type")
        if isinstance(kind, str) and kind != "null":
            types.add(kind)
    return types


def camel_key(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def snake_key(key: str) -> str:
    if key.isupper():
        return key  # Egress `URL` keeps its proto spelling
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def child_schema(schema: dict[str, Any], step: str | int) -> dict[str, Any] | None:
    """The schema of `value[step]` given the schema of `value`; None when unknown."""
    schema = resolve(schema)
    if isinstance(step, int):
        items = schema.get("items")
        return items if isinstance(items, dict) else None
    props = schema.get("properties", {})
    if step in props:
        sub: dict[str, Any] = props[step]
        return sub
    if is_map_schema(schema):
        extra: dict[str, Any] = schema["additionalProperties"]
        return extra
    return None


def _canonical(value: Any, schema: dict[str, Any] | None, where: str) -> Any:
    if schema is None:
        return value
    schema = resolve(schema)
    if isinstance(value, dict):
        if is_map_schema(schema):
            values = schema["additionalProperties"]
            return {k: _canonical(v, values, where) for k, v in value.items()}
        props = schema.get("properties", {})
        out: dict[str, Any] = {}
        for key, sub in value.items():
            name = key if key in props or camel_key(key) not in props else camel_key(key)
            if name in out:
                raise SpecError(
                    f"{where}: the field {snake_key(name)!r} is given twice (as {name!r} and"
                    f" {key!r})",
                    hint="keep one spelling, snake_case or camelCase",
                )
            out[name] = _canonical(sub, props.get(name), where)
        return out
    if isinstance(value, list):
        items = schema.get("items")
        return [_canonical(v, items if isinstance(items, dict) else None, where) for v in value]
    is_int = isinstance(value, str) and "integer" in schema_types(schema)
    if is_int and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)  # protojson accepts int64/uint64 as decimal strings
    if isinstance(value, int) and not isinstance(value, bool) and "enum" in schema:
        names = schema["enum"]
        if 0 <= value < len(names):
            return names[value]  # protojson accepts an enum's number
    return value


def canonicalize(doc: dict[str, Any], where: str) -> dict[str, Any]:
    """snake_case or camelCase keys -> the schema's camelCase names, as protojson reads them.

    A key is renamed only when its camelCase form is a property and it is not one already;
    unknown keys are kept verbatim so the error can quote them. Keys under map-typed fields are
    never touched. Request flags (`update`, `reprocess`, `dry_run`) and `$schema` are dropped.
    """
    body = {k: v for k, v in doc.items() if k not in _FLAG_SPELLINGS and k != "$schema"}
    result: dict[str, Any] = _canonical(body, pipeline_schema(), where)
    return result


def request_flags(doc: dict[str, Any]) -> dict[str, bool]:
    """The `update` / `reprocess` / `dry_run` flags written inside a spec (pachctl honours them)."""
    flags: dict[str, bool] = {}
    for key, value in doc.items():
        name = REQUEST_FLAGS.get(camel_key(key))
        if name is not None:
            flags[name] = bool(value)
    return flags


def _snake(value: Any, schema: dict[str, Any] | None) -> Any:
    if schema is None:
        return value
    schema = resolve(schema)
    if isinstance(value, dict):
        if is_map_schema(schema):
            return dict(value)
        props = schema.get("properties", {})
        return {
            (snake_key(k) if k in props else k): _snake(v, props.get(k)) for k, v in value.items()
        }
    if isinstance(value, list):
        items = schema.get("items")
        return [_snake(v, items if isinstance(items, dict) else None) for v in value]
    return value


def to_snake(doc: dict[str, Any]) -> dict[str, Any]:
    """camelCase spec -> Pachyderm's snake_case field names (for display); maps kept verbatim."""
    result: dict[str, Any] = _snake(doc, pipeline_schema())
    return result


def field_path(steps: Sequence[str | int]) -> str:
    """`['input', 'join', 1, 'pfs', 'joinOn']` -> `input.join[1].pfs.join_on`; map keys verbatim."""
    text = ""
    schema: dict[str, Any] | None = pipeline_schema()
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            known = schema is not None and step in resolve(schema).get("properties", {})
            name = snake_key(step) if known else step
            text += f".{name}" if text else name
        schema = child_schema(schema, step) if schema is not None else None
    return text


FieldPath = tuple[str | int, ...]


def fail(where: str, path: FieldPath, message: str, hint: str) -> SpecError:
    """The one error shape: `source: field.path: message`, with a hint."""
    field = field_path(path)
    return SpecError(f"{where}: {field}: {message}" if field else f"{where}: {message}", hint=hint)
