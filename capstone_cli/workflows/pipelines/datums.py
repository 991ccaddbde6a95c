"""`capstone datums`: a spec's datums against the current branch heads, without running."""

from __future__ import annotations

from pathlib import Path

from capstone_cli.backends.base import Backend
from capstone_cli.engine.datums.explain import DatumReport
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.errors import SpecError, UsageError
from capstone_cli.specs.parse import check_dag, load_specs, parse_spec
from capstone_cli.specs.stages import load_defaults, load_stage, render, stage_files


def resolve_spec(target: str, specs_dir: Path) -> PipelineSpec:
    """A Pachyderm spec file (JSON/YAML), a stage definition file, or a stage name."""
    path = Path(target)
    if path.is_file():
        text = path.read_text(errors="replace")
        if path.suffix in (".yaml", ".yml") and "\nworker:" in "\n" + text:
            stage = load_stage(path)
            return parse_spec(render(stage, load_defaults(path.parent), path.parent), str(path))
        specs = load_specs(path)
        if len(specs) != 1:
            raise SpecError(
                f"{path} holds {len(specs)} pipeline specs",
                hint="put one spec per file to list its datums",
            )
        return specs[0]
    if "/" not in target and not path.suffix:
        stage_path = stage_files(specs_dir, [target])[0]
        stage = load_stage(stage_path)
        return parse_spec(render(stage, load_defaults(specs_dir), specs_dir), str(stage_path))
    raise UsageError(
        f"{target}: no such spec file or stage",
        hint="give a spec file (JSON/YAML) or a stage name such as consolidate",
    )


def datums_of(backend: Backend, target: str, specs_dir: Path) -> tuple[PipelineSpec, DatumReport]:
    """The datums of `target`'s input with unmatched files and warnings (embedded backend)."""
    spec = resolve_spec(target, specs_dir)
    if spec.input is None:
        raise SpecError(f"{spec.source}: the spec has no input", hint="add an input")
    check_dag([spec])  # a spec reading its own output: refused as `pipeline create` does
    backend.check_runnable(spec)  # a cron input is refused as cron, not as a missing repo
    return spec, backend.explain_datums(spec.input, pipeline=spec.name)
