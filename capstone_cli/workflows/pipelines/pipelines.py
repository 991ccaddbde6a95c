"""Pipelines from Pachyderm spec files, and running what is pending."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from capstone_cli.backends.base import Backend, ProgressFn
from capstone_cli.engine.names import key_of
from capstone_cli.errors import ConflictError, NotFoundError, UsageError
from capstone_cli.results import ApplyResult, JobInfo
from capstone_cli.specs.jsonnet_reader import parse_template_args
from capstone_cli.specs.parse import check_dag, load_specs, topological_order


def _source(
    file: Path | None, jsonnet: Path | None, args: Sequence[str]
) -> tuple[Path, dict[str, str] | None]:
    """pachctl's rules: exactly one of --file and --jsonnet; --arg only with --jsonnet."""
    if (file is None) == (jsonnet is None):
        raise UsageError(
            "give exactly one of -f/--file and --jsonnet",
            hint="-f SPEC for a JSON/YAML file, --jsonnet FILE [--arg NAME=VALUE] for a template",
        )
    if jsonnet is not None:
        return jsonnet, parse_template_args(args)
    if args:
        raise UsageError("--arg needs --jsonnet", hint="pass the template with --jsonnet FILE")
    assert file is not None
    return file, None


def create_from_file(
    backend: Backend,
    file: Path | None,
    *,
    update: bool,
    reprocess: bool = False,
    jsonnet: Path | None = None,
    args: Sequence[str] = (),
) -> list[ApplyResult]:
    """Create (or with `update`, update) every pipeline of a spec file, in DAG order.

    The specs come from `file` (JSON/YAML) or from the jsonnet template `jsonnet`, rendered
    with `args` (`NAME=VALUE`) as its top-level arguments.
    """
    path, template_args = _source(file, jsonnet, args)
    specs = load_specs(path, template_args, backend.project)
    source = f"--jsonnet {path}" if template_args is not None else f"-f {path}"
    existing = {key_of(p.name, backend.project) for p in backend.list_pipelines()}
    check_dag(specs, existing_pipelines=existing)
    for spec in specs:  # all refusals before the first pipeline is written
        backend.check_runnable(spec)
    results = []
    for spec in topological_order(specs):
        if not update and spec.key in existing:
            raise ConflictError(
                f"pipeline {spec.key!r} already exists",
                hint=f"use `capstone pipeline update {source}`",
            )
        if update and spec.key not in existing:
            raise NotFoundError(
                f"pipeline {spec.key!r} does not exist",
                hint=f"use `capstone pipeline create {source}`",
            )
        results.append(backend.apply_pipeline(spec.effective, reprocess=reprocess))
    return results


def run_pending(backend: Backend, on_progress: ProgressFn | None = None) -> list[JobInfo]:
    """Run every pending job of the embedded engine (a cluster runs its own jobs)."""
    return backend.run_pending(on_progress)
