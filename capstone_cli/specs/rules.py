"""Validating a canonical (camelCase) pipeline spec: 1.x leftovers, schema, then semantics.

The official JSON Schema (checked in `schema_rules.py`) catches unknown keys and wrong types but
none of the rules pachd applies in `validatePipelineRequest`, `validatePipeline` and
`validateInput` (api_server.go): those are re-implemented in `check_semantics` below and in
`input_rules.py`. Every error
names the file and the field in Pachyderm's snake_case form (`input.join[1].pfs.glob`) and
carries a hint.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from capstone_cli.specs.input_rules import NAME_RE, check_input, check_name, go_duration_seconds
from capstone_cli.specs.schema_rules import validate_schema
from capstone_cli.specs.spec_schema import FieldPath as Path
from capstone_cli.specs.spec_schema import fail

# --- 1.x fields ---------------------------------------------------------------------------

_GONE = "was removed in Pachyderm 2.x"
_TOP_LEVEL_REMOVED: dict[str, tuple[str, str]] = {
    "enableStats": (
        f"{_GONE}: stats and per-datum metadata are always kept",
        "delete the line; `capstone logs` and `capstone datum list` work without it",
    ),
    "standby": (_GONE, "use `autoscaling: true` instead"),
    "chunkSpec": (
        f"{_GONE} (replaced by datum_set_spec)",
        "use `datum_set_spec: {number: N}` (or size_bytes / per_worker)",
    ),
    "cacheSize": (_GONE, "delete the line; 2.x has no cache size setting"),
    "maxQueueSize": (_GONE, "delete the line; 2.x has no queue size setting"),
    "hashtreeSpec": (_GONE, "delete it; 2.x has no hashtrees"),
    "scaleDownThreshold": (_GONE, "use `autoscaling: true` instead"),
}
_NESTED_REMOVED: dict[tuple[str, str], tuple[str, str]] = {
    ("parallelismSpec", "coefficient"): (
        f"{_GONE}: only a constant number of workers remains",
        "use `parallelism_spec: {constant: N}`",
    ),
    ("transform", "build"): (
        f"{_GONE} (build pipelines are end-of-life)",
        "build the image yourself and set `transform.image`",
    ),
    ("spout", "overwrite"): (f"{_GONE} with named-pipe spouts", "delete it"),
    ("spout", "marker"): (f"{_GONE} with named-pipe spouts", "delete it"),
}


def _camel(key: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


def _check_removed_inputs(node: Any, path: Path, where: str) -> None:
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if _camel(key) == "git":
            raise fail(
                where,
                (*path, key),
                f"git inputs {_GONE}",
                "put the repository's files in a Pachyderm repo and use a `pfs` input",
            )
        if key in ("cross", "union", "join", "group") and isinstance(value, list):
            for i, child in enumerate(value):
                _check_removed_inputs(child, (*path, key, i), where)


def check_removed_fields(doc: dict[str, Any], where: str) -> None:
    """Fields of 1.x specs (as in the tutorial) get a message saying what replaced them."""
    for key, value in doc.items():
        known = _TOP_LEVEL_REMOVED.get(_camel(key))
        if known:
            raise fail(where, (key,), known[0], known[1])
        if isinstance(value, dict):
            for sub in value:
                nested = _NESTED_REMOVED.get((key, _camel(sub)))
                if nested:
                    raise fail(where, (key, sub), nested[0], nested[1])
    _check_removed_inputs(doc.get("input"), ("input",), where)


# --- durations ------------------------------------------------------------------------------

_PROTO_DURATION = re.compile(r"^([0-9]+\.?[0-9]*|\.[0-9]+)s$")
DURATION_FIELDS = ("datumTimeout", "jobTimeout", "maximumExpectedUptime")


def _seconds_text(seconds: Decimal) -> str:
    text = format(seconds.normalize(), "f")
    return f'"{text}s"'


def parse_duration(value: str) -> float:
    """A protojson Duration (`"60s"`, `"1.5s"`) -> seconds. Raises ValueError otherwise."""
    if not isinstance(value, str) or not _PROTO_DURATION.match(value):
        raise ValueError(f"not a protojson duration: {value!r}")
    return float(value[:-1])


def check_durations(doc: dict[str, Any], where: str) -> None:
    """Durations are protojson strings: `"3600s"`, never `"1h"` or a bare number."""
    for key in DURATION_FIELDS:
        value = doc.get(key)
        if value is None or (isinstance(value, str) and _PROTO_DURATION.match(value)):
            continue
        if isinstance(value, int | float) and not isinstance(value, bool):
            hint = f"write it in seconds as a string: {_seconds_text(Decimal(str(value)))}"
            raise fail(where, (key,), f"{value!r} is not a duration string", hint)
        seconds = go_duration_seconds(value) if isinstance(value, str) else None
        hint = (
            f"write {_seconds_text(seconds)} (durations are seconds with an `s` suffix)"
            if seconds is not None
            else 'write seconds with an `s` suffix, e.g. "60s" or "1.5s"'
        )
        raise fail(where, (key,), f"invalid duration {value!r}", hint)


MAX_PIPELINE_NAME = 51
_K8S_NAME_LIMIT = 63
_REPROCESS_SPECS = ("until_success", "every_job")
_SERVICE_TYPES = ("ClusterIP", "LoadBalancer", "NodePort")


def _check_pipeline_name(doc: dict[str, Any], where: str) -> None:
    pipeline = doc.get("pipeline") or {}
    name = pipeline.get("name")
    if not name:
        raise fail(where, ("pipeline", "name"), "missing", "add `pipeline: {name: <name>}`")
    check_name(where, ("pipeline", "name"), name, "pipeline")
    if not name[0].isalnum():
        raise fail(
            where, ("pipeline", "name"), f"{name!r} must start with a letter or digit", "rename it"
        )
    if len(name) > MAX_PIPELINE_NAME:
        raise fail(
            where,
            ("pipeline", "name"),
            f"{name!r} is longer than {MAX_PIPELINE_NAME} characters",
            "use a shorter name",
        )
    project = (pipeline.get("project") or {}).get("name") or "default"
    check_name(where, ("pipeline", "project", "name"), project, "project")
    if len(f"{project}-{name}-v99") > _K8S_NAME_LIMIT:
        raise fail(
            where,
            ("pipeline", "name"),
            f"the Kubernetes name {project}-{name}-v99 is longer than {_K8S_NAME_LIMIT} characters",
            "shorten the pipeline or the project name",
        )


def _check_transform(doc: dict[str, Any], where: str) -> None:
    if doc.get("tfJob") is not None:
        raise fail(where, ("tf_job",), "TFJobs are not supported", "use a `transform` instead")
    transform = doc.get("transform")
    if not transform:
        raise fail(
            where,
            ("transform",),
            "a pipeline must specify a transform",
            "add `transform: {cmd: [...]}`",
        )
    if not transform.get("cmd"):
        raise fail(
            where,
            ("transform", "cmd"),
            "no command specified",
            'add e.g. `cmd: ["python3", "x.py"]`',
        )
    if "image" in transform and not transform["image"]:
        raise fail(
            where,
            ("transform", "image"),
            "empty image",
            "remove it (default ubuntu:20.04) or name one",
        )
    for i, secret in enumerate(transform.get("secrets") or []):
        if secret.get("envVar") and not secret.get("key"):
            raise fail(where, ("transform", "secrets", i), "env_var needs a key", "add `key:`")


def _check_workers(doc: dict[str, Any], where: str) -> None:
    constant = (doc.get("parallelismSpec") or {}).get("constant")
    if isinstance(constant, int) and constant < 0:
        raise fail(where, ("parallelismSpec", "constant"), "must not be negative", "use 1 or more")
    tries = doc.get("datumTries")
    if isinstance(tries, int) and tries < 0:
        raise fail(where, ("datumTries",), "must not be negative", "use 1 or more (0 means 3)")
    service, spout = doc.get("service"), doc.get("spout")
    if service is not None:
        if doc.get("parallelismSpec") is not None and constant != 1:
            raise fail(
                where,
                ("parallelismSpec", "constant"),
                "services can only run with a constant parallelism of 1",
                "set `parallelism_spec: {constant: 1}` or remove it",
            )
        kind = service.get("type")
        if kind and kind not in _SERVICE_TYPES:
            raise fail(
                where,
                ("service", "type"),
                f"{kind!r} is not allowed",
                f"use one of {_SERVICE_TYPES}",
            )
    if doc.get("s3Out") and (service is not None or spout is not None):
        raise fail(where, ("s3Out",), "s3 output is not supported in spouts or services", "drop it")
    if spout is not None and doc.get("autoscaling"):
        raise fail(
            where, ("autoscaling",), "autoscaling can't be used with spouts", "remove `autoscaling`"
        )
    if doc.get("maximumExpectedUptime") and not doc.get("autoscaling"):
        raise fail(
            where,
            ("maximumExpectedUptime",),
            "requires autoscaling",
            "add `autoscaling: true` or remove it",
        )
    sets = doc.get("datumSetSpec") or {}
    if sets.get("perWorker") and (sets.get("number") or sets.get("sizeBytes")):
        raise fail(
            where,
            ("datumSetSpec", "perWorker"),
            "can't be set with number or size_bytes",
            "keep one of them",
        )


def _check_misc(doc: dict[str, Any], where: str) -> None:
    reprocess = doc.get("reprocessSpec")
    if reprocess and reprocess not in _REPROCESS_SPECS:
        raise fail(
            where,
            ("reprocessSpec",),
            f"{reprocess!r} is not allowed",
            f"use {_REPROCESS_SPECS[0]} (default) or {_REPROCESS_SPECS[1]}",
        )
    branch = doc.get("outputBranch")
    if branch is not None:
        if not branch:
            raise fail(where, ("outputBranch",), "empty", "remove it (default master) or name one")
        if not NAME_RE.match(branch):
            check_name(where, ("outputBranch",), branch, "branch")
    for key in ("podPatch", "podSpec"):
        if doc.get(key):
            try:
                json.loads(doc[key])
            except ValueError:
                raise fail(where, (key,), "not valid JSON", "write it as a JSON string") from None


def check_semantics(doc: dict[str, Any], where: str) -> None:
    """pachd's own checks, in the order it makes them, on a canonical schema-valid spec."""
    _check_pipeline_name(doc, where)
    _check_transform(doc, where)
    _check_workers(doc, where)
    _check_misc(doc, where)
    spout = doc.get("spout")
    node = doc.get("input")
    if spout is not None and spout.get("service") is None:
        if node is not None:
            raise fail(
                where,
                ("input",),
                "a spout without a service must not have an input",
                "remove `input`",
            )
        return
    if node is None:
        raise fail(
            where,
            ("input",),
            "missing",
            "add an `input:` (pfs, cross, union, join, group or cron), or make it a spout",
        )
    check_input(where, node)


def validate_document(doc: dict[str, Any], where: str) -> None:
    """All checks on a canonical document: 1.x fields, durations, schema, semantics."""
    check_removed_fields(doc, where)
    check_durations(doc, where)
    validate_schema(doc, where)
    check_semantics(doc, where)
