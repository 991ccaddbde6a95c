"""Stage parameters checked against their schema when a stage is rendered, before anything runs.

The schemas and defaults live in `capstone_cli.protocol.stage_params` (the workers read the
same data); here jsonschema checks a stage file's `params:` and the error names the file, the
line and the field, so `epochs: "many"` in model.yaml stops `capstone render` and `capstone
apply` with exit code 3 instead of failing the model job after images and features have run.
A stage whose worker is not one of the project's (`workers.<stage>`) has no schema here and its
parameters are passed through unchecked.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from yaml.nodes import MappingNode, Node

from capstone_cli.errors import SpecError
from capstone_cli.protocol import stage_params

_WORKER_PACKAGE = "workers."


def _is_integer(_checker: object, value: object) -> bool:
    """An int, never a float: `epochs: 1.0` would reach a worker that counts with it
    (JSON Schema itself accepts 1.0 as an integer; `stage_params.resolve` does not)."""
    return isinstance(value, int) and not isinstance(value, bool)


_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def schema_name(worker: str) -> str | None:
    """The stage-params schema a worker module reads (`workers.model` -> `model`), if any."""
    name = worker.removeprefix(_WORKER_PACKAGE)
    if worker.startswith(_WORKER_PACKAGE) and name in stage_params.STAGE_PARAMS:
        return name
    return None


def check_params(
    worker: str,
    params: dict[str, Any],
    source: str,
    params_from: Sequence[str],
    specs_dir: Path | None,
) -> None:
    """Raise SpecError (exit 3) naming file:line and field of the first parameter that does
    not fit the schema; a field under `params_from` stage `x` is reported in `x.yaml`."""
    name = schema_name(worker)
    if name is None:
        return
    schema = stage_params.schema(name)
    errors = list(_Validator(schema).iter_errors(params))
    if not errors:
        return
    error = min(errors, key=lambda e: [str(p) for p in e.absolute_path])
    path = [str(p) for p in error.absolute_path]
    message, hint = error.message, ""
    if error.validator == "additionalProperties":
        known = _properties_at(schema, path)
        unknown = sorted(set(error.instance) - set(known))
        path.append(unknown[0])
        message = "unknown parameter"
        close = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known parameters: {sorted(known)}"
    elif (default := _default_at(schema, path)) is not _MISSING:
        hint = f"its default is {default!r}; "
    file = source
    if path and path[0] in params_from and specs_dir is not None:
        # the other stage's params, copied into this one: report them where they are written
        name, file, path = path[0], str(specs_dir / f"{path[0]}.yaml"), path[1:]
    if not hint.startswith("did you mean"):
        hint += f"see the {name} stage's parameters in capstone_cli/protocol/stage_params.py"
    line = line_of(Path(file), ["params", *path])
    where = f"{file}:{line}" if line else file
    raise SpecError(f"{where}: params.{'.'.join(path)}: {message}", hint=hint)


_MISSING = object()


def _properties_at(schema: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    node = schema
    for key in path:
        node = node["properties"][key]
    properties: dict[str, Any] = node["properties"]
    return properties


def _default_at(schema: dict[str, Any], path: Sequence[str]) -> Any:
    try:
        return _properties_at(schema, path[:-1])[path[-1]].get("default", _MISSING)
    except (KeyError, IndexError):
        return _MISSING


def line_of(path: Path, keys: Sequence[str]) -> int | None:
    """The 1-based line of the deepest of `keys` (a path of mapping keys) found in a YAML file."""
    try:
        node: Node | None = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in keys:
        if not isinstance(node, MappingNode):
            break
        for key_node, value_node in node.value:
            if key_node.value == key:
                line, node = key_node.start_mark.line + 1, value_node
                break
        else:
            break
    return line
