"""Pipelines from Pachyderm spec files, and running what is pending."""

from __future__ import annotations

from pathlib import Path

from capstone_cli.backends.base import Backend, ProgressFn
from capstone_cli.errors import ConflictError, NotFoundError
from capstone_cli.results import ApplyResult, JobInfo
from capstone_cli.specs.parse import check_dag, load_specs, topological_order


def create_from_file(
    backend: Backend, path: Path, *, update: bool, reprocess: bool = False
) -> list[ApplyResult]:
    """Create (or with `update`, update) every pipeline of a spec file, in DAG order."""
    specs = load_specs(path)
    existing = {p.name for p in backend.list_pipelines()}
    check_dag(specs, existing_pipelines=existing)
    results = []
    for spec in topological_order(specs):
        if not update and spec.name in existing:
            raise ConflictError(
                f"pipeline {spec.name!r} already exists",
                hint=f"use `capstone pipeline update -f {path}`",
            )
        if update and spec.name not in existing:
            raise NotFoundError(
                f"pipeline {spec.name!r} does not exist",
                hint=f"use `capstone pipeline create -f {path}`",
            )
        results.append(backend.apply_pipeline(spec.effective, reprocess=reprocess))
    return results


def run_pending(backend: Backend, on_progress: ProgressFn | None = None) -> list[JobInfo]:
    """Run every pending job of the embedded engine (a cluster runs its own jobs)."""
    return backend.run_pending(on_progress)
