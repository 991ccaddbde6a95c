"""`capstone apply`: create or update the stage pipelines idempotently."""

from __future__ import annotations

from pathlib import Path

from capstone_cli.backends.base import ApplyResult, Backend
from capstone_cli.engine.inputs import leaf_inputs
from capstone_cli.engine.spec import parse_spec
from capstone_cli.errors import NotFoundError
from capstone_cli.stages import render_and_validate, reprocess_needed


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
    rendered = render_and_validate(specs_dir, names)
    outputs = {stage.stage for stage, _ in rendered}
    existing_pipelines = {p.name for p in backend.list_pipelines()}
    results: list[ApplyResult] = []
    for stage, spec in rendered:
        typed = parse_spec(spec, stage.source)
        if typed.input is not None and not dry_run:
            for leaf in leaf_inputs(typed.input):
                repo = getattr(leaf, "repo", "")
                if repo and repo not in outputs and repo not in existing_pipelines:
                    backend.create_repo(repo, exist_ok=True)
        again = reprocess
        if stage.stage in existing_pipelines:
            try:
                current = backend.inspect_pipeline(stage.stage)
                again = again or reprocess_needed(current.spec, spec)
            except NotFoundError:
                pass
        results.append(backend.apply_pipeline(spec, reprocess=again, dry_run=dry_run))
    return results
