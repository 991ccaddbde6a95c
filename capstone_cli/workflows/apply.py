"""`capstone apply`: create or update the stage pipelines idempotently."""

from __future__ import annotations

from pathlib import Path

from capstone_cli.backends.base import ApplyResult, Backend
from capstone_cli.engine.inputs import leaf_inputs
from capstone_cli.stages import render_typed, reprocess_needed


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
    re-run (see `capstone_cli.stages`); other changes update without re-running anything.
    """
    rendered = render_typed(specs_dir, names)
    outputs = {stage.stage for stage, _, _ in rendered}
    existing = {p.name: p for p in backend.list_pipelines()}
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
