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

import json
import re
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


# yaml.v3 resolves plain scalars by YAML 1.2's core schema: `yes`/`on` stay strings (so pachctl
# then refuses `lazy: yes`), and `1e3` is a number. PyYAML's 1.1 resolvers for those two types
# are replaced; timestamps are dropped (see _SpecLoader).
_REPLACED_TAGS = {_TIMESTAMP_TAG, "tag:yaml.org,2002:bool", "tag:yaml.org,2002:float"}
_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag not in _REPLACED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


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


_DOC_MARKER = re.compile(r"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def _chunks(text: str) -> list[str]:
    """The documents of a YAML stream, each padded with newlines so line numbers stay absolute.

    A `---` at the start of a line opens a document (its rest of line belongs to it), as in
    YAML; a JSON string cannot span lines, so the split never cuts a JSON document.
    """
    starts = [0, *(m.end() for m in _DOC_MARKER.finditer(text))]
    ends = [m.start() for m in _DOC_MARKER.finditer(text)] + [len(text)]
    return ["\n" * text.count("\n", 0, a) + text[a:b] for a, b in zip(starts, ends, strict=True)]


def _json_error(exc: json.JSONDecodeError, label: str) -> SpecError:
    return SpecError(
        f"{label}:{exc.lineno}: JSON syntax error: {exc.msg} (column {exc.colno})",
        hint="fix the JSON at that line (a missing comma or quote is the usual cause)",
    )


def _load_json_chunk(chunk: str, label: str) -> list[Any] | json.JSONDecodeError:
    """One JSON document, or the JSON error when it is not JSON (it may still be YAML)."""
    _check_json_nesting(chunk, label)
    decoder = json.JSONDecoder(object_pairs_hook=_reject_duplicate_json_keys)
    pos = len(chunk) - len(chunk.lstrip())
    try:
        value, end = decoder.raw_decode(chunk, pos)
    except json.JSONDecodeError as exc:
        return exc
    except ValueError as exc:  # duplicate key from the hook
        line = chunk.count("\n", 0, pos) + 1
        raise SpecError(f"{label}:{line}: {exc}", hint="remove one of the two entries") from None
    rest = chunk[end:].lstrip()
    if not rest:
        return [value]
    if rest[:1] in ("{", "["):
        line = chunk.count("\n", 0, len(chunk) - len(rest)) + 1
        raise SpecError(
            f"{label}:{line}: a second JSON value follows the first without a `---` line;"
            " pachctl reads a spec file as YAML documents and refuses this",
            hint="put a line `---` between the specs, or wrap them in a list [...]",
        )
    return json.JSONDecodeError("extra data", chunk, len(chunk) - len(rest))  # a YAML comment?


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


def _load_stream(text: str, label: str, *, as_json: bool) -> list[Any]:
    """Every document of a file, as pachctl's yaml.v3 decoder sees them.

    pachctl reads JSON and YAML alike as a YAML stream: documents separated by `---`, each a
    spec or a list of specs. A document that is JSON is read by the JSON parser (JSON is YAML,
    and its errors read better); two JSON values in one document are refused, as pachctl does.
    In a `.json` file a document that is not strict JSON is a JSON error (the user meant JSON;
    pachctl would try it as YAML and fail later, or read `"b": }` as null).
    """
    values: list[Any] = []
    for chunk in _chunks(text):
        if not chunk.strip():
            continue
        loaded = _load_json_chunk(chunk, label) if chunk.lstrip()[:1] in ("{", "[") else None
        if isinstance(loaded, list):
            values.extend(loaded)
        elif as_json and loaded is not None:
            raise _json_error(loaded, label)
        else:
            values.extend(_load_yaml(chunk, label))
    return values


def parse_spec_text(
    text: str, label: str, *, as_json: bool = False
) -> list[tuple[dict[str, Any], str]]:
    """Split already-read text into spec documents with their location labels."""
    values = _load_stream(text, label, as_json=as_json)
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
    return parse_spec_text(text, label, as_json=Path(path).suffix.lower() == ".json")
