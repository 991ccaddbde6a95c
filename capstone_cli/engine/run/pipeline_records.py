"""Pipeline records of the embedded engine as stored: the typed spec's JSON codec and reads.

Apart from `pipelines` (which creates and updates them and starts their jobs) so that
`propagation`, which needs the records to find what is downstream of a commit, does not import
the module that calls it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from capstone_cli.engine.inputs import (
    CronInput,
    CrossInput,
    GroupInput,
    Input,
    JoinInput,
    PfsInput,
    Trigger,
    UnionInput,
    leaf_inputs,
)
from capstone_cli.engine.pipeline_spec import PipelineSpec, Transform
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import NotFoundError


@dataclass(frozen=True)
class PipelineRecord:
    name: str
    version: int
    spec: PipelineSpec
    effective: dict[str, Any]
    salt: str
    stopped: bool
    created: str
    updated: str


# -- spec codec: the typed spec round-trips through JSON exactly -------------------------------
_NODE_TYPES: dict[str, type[CrossInput | UnionInput | JoinInput | GroupInput]] = {
    "cross": CrossInput,
    "union": UnionInput,
    "join": JoinInput,
    "group": GroupInput,
}


def _input_to_json(node: Input) -> dict[str, Any]:
    if isinstance(node, PfsInput):
        return {"pfs": dataclasses.asdict(node)}
    if isinstance(node, CronInput):
        return {"cron": dataclasses.asdict(node)}
    kind = next(k for k, t in _NODE_TYPES.items() if isinstance(node, t))
    return {kind: [_input_to_json(child) for child in node.inputs]}


def _input_from_json(doc: dict[str, Any]) -> Input:
    ((kind, value),) = doc.items()
    if kind == "pfs":
        trigger = Trigger(**value["trigger"]) if value.get("trigger") else None
        return PfsInput(**{**value, "trigger": trigger})
    if kind == "cron":
        return CronInput(**value)
    return _NODE_TYPES[kind](tuple(_input_from_json(child) for child in value))


def spec_to_json(spec: PipelineSpec) -> dict[str, Any]:
    """The typed spec as plain JSON (inputs tagged by kind), for storage and comparison."""
    doc = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    doc["transform"] = dataclasses.asdict(spec.transform)
    doc["input"] = _input_to_json(spec.input) if spec.input is not None else None
    out: dict[str, Any] = json.loads(json.dumps(doc))  # tuples -> lists, so equality is stable
    return out


def spec_from_json(doc: dict[str, Any]) -> PipelineSpec:
    t = dict(doc["transform"])
    for key in ("cmd", "stdin", "err_cmd", "err_stdin", "accept_return_code"):
        t[key] = tuple(t.get(key) or ())
    fields = dict(doc)
    fields["transform"] = Transform(**t)
    fields["input"] = _input_from_json(doc["input"]) if doc.get("input") else None
    return PipelineSpec(**fields)


def effective_of(spec: PipelineSpec) -> dict[str, Any]:
    """What users see and diff: the canonical request, or the typed form when there is none."""
    if spec.effective:
        return spec.effective
    doc = spec_to_json(spec)
    doc.pop("source", None)
    doc.pop("effective", None)
    return doc


# -- reading -------------------------------------------------------------------------------
COLS = "name, version, spec, effective, salt, stopped, created, updated"


def _record(row: tuple[Any, ...]) -> PipelineRecord:
    name, version, spec, effective, salt, stopped, created, updated = row
    return PipelineRecord(
        name,
        int(version),
        spec_from_json(json.loads(spec)),
        json.loads(effective),
        salt,
        bool(stopped),
        created,
        updated,
    )


def find_pipeline(store: Store, name: str) -> PipelineRecord | None:
    row = store.db.execute(f"SELECT {COLS} FROM pipelines WHERE name=?", (name,)).fetchone()
    return _record(row) if row else None


def get_pipeline(store: Store, name: str) -> PipelineRecord:
    rec = find_pipeline(store, name)
    if rec is None:
        raise NotFoundError(
            f"pipeline {name!r} not found",
            hint="list pipelines with `capstone pipeline list`, or create it with "
            "`capstone pipeline create -f SPEC`",
        )
    return rec


def list_pipelines(store: Store) -> list[PipelineRecord]:
    rows = store.db.execute(f"SELECT {COLS} FROM pipelines ORDER BY created, name").fetchall()
    return [_record(r) for r in rows]


def input_repos(spec: PipelineSpec) -> list[str]:
    """The input repos of a pipeline, in tree order without repeats."""
    if spec.input is None:
        return []
    return list(
        dict.fromkeys(
            leaf.repo_key for leaf in leaf_inputs(spec.input) if isinstance(leaf, PfsInput)
        )
    )
