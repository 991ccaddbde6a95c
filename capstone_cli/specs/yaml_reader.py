"""Reading pipeline spec files (JSON or YAML) into plain documents, as pachctl does.

pachctl's `ppsutil.NewSpecReader` accepts one object, a list of objects, or several YAML
documents (or several concatenated JSON objects) per file, drops `$schema`, and refuses YAML
aliases. Syntax errors here name the file and line, because a spec file is hand-written and the
line is what the user needs to fix it.

Each document comes back with a location label used as the prefix of every later error:
`specs/x.yaml` when the file holds one spec, `specs/x.yaml[i]` (0-based, like the `[i]` of a
field path) when it holds several.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from capstone_cli.errors import NotFoundError, SpecError

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


# Real specs nest a handful of levels (a cross of unions of pfs inputs is 6); readers and rule
# checks walk specs recursively, so nesting is bounded where the text is read.
MAX_NESTING = 100
_TOO_DEEP = f"the spec nests deeper than {MAX_NESTING} levels"
_TOO_DEEP_HINT = "a pipeline spec needs a few levels: list the inputs of one cross or union"


def _nesting_error(label: str, text: str, pos: int) -> SpecError:
    return SpecError(f"{label}:{text.count(chr(10), 0, pos) + 1}: {_TOO_DEEP}", hint=_TOO_DEEP_HINT)


def _check_json_nesting(text: str, label: str) -> None:
    """Refuse JSON nested deeper than MAX_NESTING before the (recursive) decoder sees it."""
    depth, in_string, escaped = 0, False, False
    for pos, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise _nesting_error(label, text, pos)
        elif char in "]}":
            depth -= 1


class _SpecLoader(yaml.SafeLoader):
    """A safe loader that refuses aliases and duplicate keys and keeps timestamps as strings.

    Go's YAML-to-JSON conversion used by pachctl keeps `2024-01-01T00:00:00Z` a string (it is a
    protobuf Timestamp written as RFC 3339), so the loader must not turn it into a datetime.
    """

    depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:  # type: ignore[override]
        if self.depth >= MAX_NESTING:  # PyYAML composes by recursion: stop long before the limit
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, _TOO_DEEP, event.start_mark)
        self.depth += 1
        try:
            return self._compose_node(parent, index)
        finally:
            self.depth -= 1

    def _compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML aliases (*name) are not allowed in specs",
                event.start_mark,
            )
        return super().compose_node(parent, index)  # type: ignore[no-any-return]

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            if isinstance(key, list | dict):
                continue  # unhashable; the base class reports it
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _json_key(key: Any) -> str:
    """Non-string YAML keys become JSON strings the way Go's yaml-to-json conversion writes them."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_json_key(k): _stringify_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_keys(v) for v in value]
    return value


def _reject_duplicate_json_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _load_json(text: str, label: str) -> list[Any]:
    """One or more concatenated JSON values (pachctl's streaming JSON decoder allows that)."""
    _check_json_nesting(text, label)
    decoder = json.JSONDecoder(object_pairs_hook=_reject_duplicate_json_keys)
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return values
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{label}:{exc.lineno}: JSON syntax error: {exc.msg} (column {exc.colno})",
                hint="fix the JSON at that line (a missing comma or quote is the usual cause)",
            ) from None
        except ValueError as exc:  # duplicate key from the hook
            line = text.count("\n", 0, pos) + 1
            raise SpecError(
                f"{label}:{line}: {exc}", hint="remove one of the two entries"
            ) from None
        values.append(value)


def _load_yaml(text: str, label: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_SpecLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{label}:{mark.line + 1}" if mark is not None else label
        problem = exc.problem or exc.context or "invalid YAML"
        hint = "fix the YAML at that line (indentation and a missing ':' are the usual causes)"
        if problem == _TOO_DEEP:
            hint = _TOO_DEEP_HINT
        elif "alias" in problem:
            hint = "write the repeated value out in full instead of using an &anchor/*alias"
        elif "duplicate key" in problem:
            hint = "remove one of the two entries"
        raise SpecError(f"{where}: YAML error: {problem}", hint=hint) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"{label}: YAML error: {exc}", hint="fix the YAML syntax") from None


def _looks_like_json(path: Path, text: str) -> bool:
    return path.suffix.lower() == ".json" or text.lstrip()[:1] in ("{", "[")


def parse_spec_text(
    text: str, label: str, *, as_json: bool = False
) -> list[tuple[dict[str, Any], str]]:
    """Split already-read text into spec documents with their location labels."""
    values = _load_json(text, label) if as_json else _load_yaml(text, label)
    docs: list[Any] = []
    for value in values:
        if value is None:
            continue  # an empty YAML document (e.g. a trailing `---`)
        if isinstance(value, list):
            docs.extend(value)
        else:
            docs.append(value)
    if not docs:
        raise SpecError(
            f"{label}: no pipeline spec found", hint="the file is empty; write a pipeline spec"
        )
    out: list[tuple[dict[str, Any], str]] = []
    for i, doc in enumerate(docs):
        where = f"{label}[{i}]" if len(docs) > 1 else label
        if not isinstance(doc, dict):
            raise SpecError(
                f"{where}: a pipeline spec must be a mapping, not {type(doc).__name__}",
                hint="start the spec with `pipeline:` and `transform:` keys",
            )
        spec = _stringify_keys(doc)
        spec.pop("$schema", None)
        out.append((spec, where))
    return out


def load_spec_documents(path: Path) -> list[tuple[dict[str, Any], str]]:
    """Read a JSON or YAML spec file: [(document, location label), ...] in file order."""
    label = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            f"spec file {label} does not exist", hint="check the path given with -f"
        ) from None
    except IsADirectoryError:
        raise SpecError(
            f"{label} is a directory, not a spec file", hint="pass one .yaml or .json file"
        ) from None
    except OSError as exc:
        raise SpecError(f"cannot read {label}: {exc.strerror}", hint="check permissions") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError(
            f"{label}: not UTF-8 text", hint="save the spec as UTF-8 JSON or YAML"
        ) from None
    return parse_spec_text(text, label, as_json=_looks_like_json(Path(path), text))


# --- canonical (camelCase) form, walked together with the official JSON Schema ---------------

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
