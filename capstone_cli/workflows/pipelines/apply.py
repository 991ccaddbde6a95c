"""`capstone apply`: create or update the stage pipelines idempotently."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from capstone_cli.backends.base import Backend
from capstone_cli.engine.inputs import leaf_inputs
from capstone_cli.errors import ConflictError
from capstone_cli.results import ApplyResult
from capstone_cli.specs.stages import render_typed, reprocess_needed


def apply_stages(
    backend: Backend,
    specs_dir: Path,
    names: list[str] | None = None,
    *,
    reprocess: bool = False,
    dry_run: bool = False,
) -> list[ApplyResult]:
    """Apply stages in DAG order; source repos they read (rawdata, inpredict) are created.

    A stage whose parameters or worker image changed is updated with reprocess so its datums
    re-run (see `capstone_cli.specs.stages`); other changes update without re-running anything.
    """
    rendered = render_typed(specs_dir, names)
    outputs = {stage.stage for stage, _, _ in rendered}
    existing = {p.name: p for p in backend.list_pipelines()}
    if not dry_run:
        _check_no_repo_in_the_way(backend, [s.stage for s, _, _ in rendered], existing)
    results: list[ApplyResult] = []
    for stage, spec, typed in rendered:
        if typed.input is not None and not dry_run:
            for leaf in leaf_inputs(typed.input):
                repo = getattr(leaf, "repo", "")
                if repo and repo not in outputs and repo not in existing:
                    backend.create_repo(repo, exist_ok=True)
        current = existing.get(stage.stage)
        again = reprocess or (current is not None and reprocess_needed(current.spec, spec))
        results.append(backend.apply_pipeline(spec, reprocess=again, dry_run=dry_run))
    return results


def _check_no_repo_in_the_way(
    backend: Backend, stages: list[str], existing: Collection[str]
) -> None:
    """Refuse, before anything is created, a new pipeline whose output repo name is taken by a
    user repo (a pipeline cannot be named like an existing repo). The output repo of a pipeline
    deleted with --keep-repo is not in the way: the pipeline takes it back, as in Pachyderm.
    """
    new = [name for name in stages if name not in existing]
    if not new:
        return
    repos = {r.name: r for r in backend.list_repos()}
    for name in new:
        repo = repos.get(name)
        if repo is not None and not repo.description.startswith("Output repo for pipeline"):
            raise ConflictError(
                f"cannot create pipeline {name!r}: a repo named {name!r} already exists;"
                " nothing was applied",
                hint=f"rename or delete the repo (`capstone repo delete {name}`) and apply again",
            )
