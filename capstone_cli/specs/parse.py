"""Pachyderm pipeline specs: read, canonicalise, validate, fill defaults, and check the DAG.

The pipeline: `load_spec_documents` (JSON/YAML, several per file) -> `canonicalize` (snake or
camel keys -> camelCase, as protojson reads them) -> `validate_document` (1.x fields, durations,
the official schema, pachd's semantic rules) -> `parse_spec` (Pachyderm's defaults and the typed
`PipelineSpec`). `load_specs` does all of it for a file; `check_dag` and `topological_order`
look at several specs together. Every expected failure is a `SpecError` naming the file and the
field (`specs/consolidate.yaml: input.join[1].pfs.glob: ...`) with a hint.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
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
    input_name,
)
from capstone_cli.engine.names import DEFAULT_PROJECT, RepoRef
from capstone_cli.engine.pipeline_spec import PipelineSpec, Transform
from capstone_cli.errors import SpecError
from capstone_cli.specs.input_rules import cron_problem
from capstone_cli.specs.jsonnet_reader import load_template_documents
from capstone_cli.specs.rules import parse_duration, validate_document
from capstone_cli.specs.spec_schema import canonicalize, request_flags, to_snake
from capstone_cli.specs.yaml_reader import load_spec_documents, parse_spec_text

__all__ = [
    "BUILTIN_DEFAULTS",
    "canonicalize",
    "check_dag",
    "clean_path",
    "cron_problem",
    "effective_spec_json",
    "load_spec_documents",
    "load_specs",
    "parse_duration",
    "parse_spec",
    "parse_spec_text",
    "request_flags",
    "spec_warnings",
    "to_snake",
    "topological_order",
    "validate_document",
]

# makeEffectiveSpec's built-in defaults (src/server/pps/server/defaults.go), merged under the spec.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "transform": {"image": "ubuntu:20.04"},
    "outputBranch": "master",
    "datumTries": 3,
    "reprocessSpec": "until_success",
}


def clean_path(path: str) -> str:
    """Go's `pfsfile.CleanPath`: leading `/` added, trailing `/` dropped, `.`/`..` resolved."""
    return posixpath.normpath("/" + path.lstrip("/"))


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as pachd applies user specs over defaults."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge_patch(out.get(key), value)
    return out


def _effective(doc: dict[str, Any], default_project: str) -> dict[str, Any]:
    merged: dict[str, Any] = _merge_patch(BUILTIN_DEFAULTS, doc)
    pipeline = merged.setdefault("pipeline", {})
    project = pipeline.get("project") or {}
    if not project.get("name"):  # pachctl fills the project from its context
        pipeline["project"] = {**project, "name": default_project}
    return merged


def _seconds(value: Any) -> float | None:
    return None if value in (None, "") else parse_duration(value)


def _trigger(pfs: dict[str, Any], pipeline: str, triggers: dict[str, int]) -> tuple[str, Any]:
    """The input branch and its trigger, as pachd's setInputDefaults: a triggered input without
    a branch reads `<pipeline>-trigger-<n>` (n counted per repo from 1), triggered on master."""
    t = pfs.get("trigger")
    if t is None:
        return pfs.get("branch") or "master", None
    trigger = Trigger(
        branch=t.get("branch") or "master",
        size=str(t.get("size") or ""),
        commits=int(t.get("commits") or 0),
        all=bool(t.get("all")),
    )
    if pfs.get("branch"):
        return pfs["branch"], trigger
    triggers[pfs["repo"]] = triggers.get(pfs["repo"], 0) + 1
    return f"{pipeline}-trigger-{triggers[pfs['repo']]}", trigger


def _build_input(
    node: dict[str, Any], pipeline: str, project: str, triggers: dict[str, int] | None = None
) -> Input:
    """The typed tree with pachd's input defaults; combined inputs sorted by input name."""
    triggers = {} if triggers is None else triggers
    if node.get("pfs"):
        pfs = node["pfs"]
        branch, trigger = _trigger(pfs, pipeline, triggers)
        return PfsInput(
            repo=pfs["repo"],
            glob=clean_path(pfs.get("glob") or "/"),
            name=pfs.get("name") or pfs["repo"],
            branch=branch,
            trigger=trigger,
            project=pfs.get("project") or project,
            join_on=pfs.get("joinOn") or "",
            group_by=pfs.get("groupBy") or "",
            outer_join=bool(pfs.get("outerJoin")),
            lazy=bool(pfs.get("lazy")),
            empty_files=bool(pfs.get("emptyFiles")),
            s3=bool(pfs.get("s3")),
            reference=bool(pfs.get("reference")),
            repo_type=pfs.get("repoType") or "user",
        )
    if node.get("cron"):
        cron = node["cron"]
        return CronInput(
            name=cron["name"],
            spec=cron["spec"],
            repo=cron.get("repo") or f"{pipeline}_{cron['name']}",
            project=cron.get("project") or project,
            overwrite=bool(cron.get("overwrite")),
            start=cron.get("start") or "",
        )
    kinds: dict[str, type[CrossInput | UnionInput | JoinInput | GroupInput]] = {
        "cross": CrossInput,
        "union": UnionInput,
        "join": JoinInput,
        "group": GroupInput,
    }
    for kind, cls in kinds.items():
        if node.get(kind):
            children = [_build_input(child, pipeline, project, triggers) for child in node[kind]]
            return cls(tuple(sorted(children, key=input_name)))  # stable, like pps.SortInput
    raise AssertionError(f"input node passed validation without a type: {node!r}")


def _build_transform(transform: dict[str, Any]) -> Transform:
    return Transform(
        cmd=tuple(transform["cmd"]),
        stdin=tuple(transform.get("stdin") or ()),
        image=transform.get("image") or BUILTIN_DEFAULTS["transform"]["image"],
        err_cmd=tuple(transform.get("errCmd") or ()),
        err_stdin=tuple(transform.get("errStdin") or ()),
        env=dict(transform.get("env") or {}),
        accept_return_code=tuple(int(c) for c in transform.get("acceptReturnCode") or ()),
        working_dir=transform.get("workingDir") or "",
        user=transform.get("user") or "",
        datum_batching=bool(transform.get("datumBatching")),
        memory_volume=bool(transform.get("memoryVolume")),
    )


def parse_spec(
    doc: dict[str, Any], source: str, default_project: str = DEFAULT_PROJECT
) -> PipelineSpec:
    """Validate one spec document (snake or camel keys) and return it typed, defaults filled.

    `source` is the location label used in errors (`specs/x.yaml` or `specs/x.yaml[1]`); a spec
    without `pipeline.project.name` is in `default_project` (pachctl's current project).
    """
    canonical = canonicalize(doc, source)
    validate_document(canonical, source)
    effective = _effective(canonical, default_project)
    name: str = effective["pipeline"]["name"]
    project: str = effective["pipeline"]["project"]["name"]
    node = effective.get("input")
    tries = effective.get("datumTries") or 3
    constant = (effective.get("parallelismSpec") or {}).get("constant") or 0
    return PipelineSpec(
        name=name,
        project=project,
        transform=_build_transform(effective["transform"]),
        input=_build_input(node, name, project) if node else None,
        description=effective.get("description") or "",
        parallelism=constant if constant > 0 else 1,
        autoscaling=bool(effective.get("autoscaling")),
        datum_tries=tries,
        datum_timeout=_seconds(effective.get("datumTimeout")),
        job_timeout=_seconds(effective.get("jobTimeout")),
        reprocess_spec=effective.get("reprocessSpec") or "until_success",
        salt=effective.get("salt") or "",
        output_branch=effective.get("outputBranch") or "master",
        s3_out=bool(effective.get("s3Out")),
        effective=effective,
        source=source,
    )


def spec_warnings(spec: PipelineSpec) -> list[str]:
    """What pachctl warns about without refusing: an untagged or `:latest` image."""
    image = spec.transform.image
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return []  # pinned by digest
    if ":" not in last or last.endswith(":latest"):
        return [
            f"{spec.source}: transform.image {image!r} has no tag or uses :latest; a pipeline"
            " update may not pick up a new image (pin a tag, e.g. 'name:1.0')"
        ]
    return []


def load_specs(
    path: Path,
    template_args: Mapping[str, str] | None = None,
    default_project: str = DEFAULT_PROJECT,
) -> list[PipelineSpec]:
    """Every spec of a JSON/YAML file, validated and typed, in file order.

    With `template_args` (even empty) `path` is a jsonnet template rendered with those
    top-level arguments, as `pachctl create pipeline --jsonnet FILE --arg K=V` does.
    """
    if template_args is None:
        docs = load_spec_documents(path)
    else:
        docs = load_template_documents(path, template_args)
    return [parse_spec(doc, where, default_project) for doc, where in docs]


def effective_spec_json(spec: PipelineSpec) -> dict[str, Any]:
    """The canonical camelCase request (defaults merged), a copy safe to send or print."""
    return copy.deepcopy(spec.effective)


# --- several specs together ---------------------------------------------------------------


def _key(project: str, name: str) -> str:
    return RepoRef(project, name).key


def _input_repos(spec: PipelineSpec) -> list[str]:
    """Repos a pipeline reads (pfs inputs), as DAG keys."""
    out: list[str] = []

    def walk(node: Input | None) -> None:
        if isinstance(node, PfsInput):
            out.append(_key(node.project, node.repo))
        elif isinstance(node, CrossInput | UnionInput | JoinInput | GroupInput):
            for child in node.inputs:
                walk(child)

    walk(spec.input)
    return out


def _by_key(specs: Sequence[PipelineSpec]) -> dict[str, PipelineSpec]:
    found: dict[str, PipelineSpec] = {}
    for spec in specs:
        key = _key(spec.project, spec.name)
        if key in found:
            raise SpecError(
                f"{spec.source}: pipeline {key!r} is defined twice (also in {found[key].source})",
                hint="rename one of them or remove the duplicate",
            )
        found[key] = spec
    return found


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle as [a, b, a] in the dependency graph (pipeline -> the pipelines it reads)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _graph(specs: dict[str, PipelineSpec]) -> dict[str, list[str]]:
    return {
        key: [repo for repo in _input_repos(spec) if repo in specs] for key, spec in specs.items()
    }


def check_dag(
    specs: Sequence[PipelineSpec],
    existing_repos: Collection[str] = (),
    existing_pipelines: Collection[str] = (),
) -> None:
    """Refuse duplicate pipelines, cycles, and a pipeline named like a repo it does not own."""
    by_key = _by_key(specs)
    owned = set(existing_pipelines)
    for key, spec in by_key.items():
        if key in existing_repos and key not in owned:
            raise SpecError(
                f"{spec.source}: a repo named {key!r} already exists and is not the output repo"
                f" of pipeline {key!r}",
                hint="rename the pipeline, or delete that repo first",
            )
    graph = _graph(by_key)
    cycle = _find_cycle(graph)
    if cycle:
        order = list(reversed(cycle))  # data-flow direction: a -> b means b reads a
        first = by_key[order[0]]
        raise SpecError(
            f"{first.source}: the pipelines form a cycle: {' -> '.join(order)}",
            hint="a pipeline cannot read, directly or not, from its own output; break the loop",
        )


def topological_order(specs: Sequence[PipelineSpec]) -> list[PipelineSpec]:
    """Specs ordered so each comes after the pipelines it reads; ties keep the given order."""
    check_dag(specs)
    by_key = _by_key(specs)
    graph = _graph(by_key)
    done: set[str] = set()
    ordered: list[PipelineSpec] = []
    remaining = list(by_key)
    while remaining:
        ready = next(k for k in remaining if all(dep in done for dep in graph[k]))
        remaining.remove(ready)
        done.add(ready)
        ordered.append(by_key[ready])
    return ordered
