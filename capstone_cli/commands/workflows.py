"""`capstone train` and `capstone predict`: the tutorial's two phases, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capstone_cli import project, ui
from capstone_cli.commands import context
from capstone_cli.commands.follow import follow_commit_sets
from capstone_cli.commands.options import JsonOpt, SpecsOpt
from capstone_cli.tsv import SplitReport
from capstone_cli.workflows.predict import predict as run_predict
from capstone_cli.workflows.train import train as run_train


def train(
    tsv: Annotated[Path, typer.Option("--tsv", help="caption<TAB>url file to train on.")],
    lines_per_datum: Annotated[int, typer.Option("--lines-per-datum", help="Lines per chunk.")] = 5,
    out: Annotated[Path, typer.Option("--out", help="Where to fetch the model.")] = Path("out"),
    strict: Annotated[bool, typer.Option("--strict", help="Fail on a malformed line.")] = False,
    local_root: Annotated[
        Path | None,
        typer.Option("--local-root", help="Local images must be under it (default: the TSV's)."),
    ] = None,
    specs: SpecsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Split and upload the TSV, run images -> features -> consolidate -> model, fetch the model.

    Example: capstone train --tsv testdata/offline/train.tsv
    """
    result = run_train(
        context.backend(),
        tsv,
        specs_dir=project.specs_dir(specs),
        out_dir=out,
        follow=follow_commit_sets,
        lines_per_datum=lines_per_datum,
        strict=strict,
        local_root=local_root,
        on_split=lambda report: _warn_malformed(tsv, report),
    )
    summary = {
        "tsv": str(tsv),
        "lines": result.split.lines,
        "chunks": result.split.chunks,
        "malformed_lines": len(result.split.malformed),
        "commit": result.commit.id,
        "changed": result.changed,
        "rejected_images": result.rejects,
        "jobs": [j.to_json() for j in result.jobs],
        "model_files": [str(p) for p in result.files],
        "metrics": result.metrics,
    }
    if json_:
        ui.render_json(summary)
        return
    if not result.changed:
        ui.info(f"{tsv} is unchanged since the last upload: nothing to run")
    if result.rejects:
        ui.info(
            "images rejected: " + ", ".join(f"{k}={v}" for k, v in sorted(result.rejects.items()))
        )
    ui.render_table(
        ["", ""],
        [
            ("chunks", f"{result.split.chunks} ({result.split.good} lines)"),
            ("model", ", ".join(str(p) for p in result.files)),
            *[(k, _fmt(v)) for k, v in result.metrics.items() if not isinstance(v, list)],
        ],
    )


def _warn_malformed(tsv: Path, report: SplitReport) -> None:
    """Each skipped line with its number and reason (the first 20), then how many more."""
    for number, reason in report.malformed[:20]:
        ui.warn(f"{tsv}:{number}: skipped malformed line ({reason})")
    if len(report.malformed) > 20:
        ui.warn(f"... and {len(report.malformed) - 20} more malformed lines")


def _fmt(value: object) -> str:
    if isinstance(value, dict):
        return "  ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def predict(
    images: Annotated[list[Path], typer.Argument(help="Image files to caption.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write <image>.txt.")] = Path("."),
    specs: SpecsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Caption images with the trained model (uploads them to inpredict, runs predict).

    Example: capstone predict testdata/image.png
    """
    results = run_predict(
        context.backend(),
        images,
        specs_dir=project.specs_dir(specs),
        out_dir=out,
        follow=follow_commit_sets,
    )
    if json_:
        ui.render_json(
            [
                {"image": str(r.image), "caption": r.caption, "output": str(r.output)}
                for r in results
            ]
        )
        return
    for r in results:
        ui.render_text(f"{r.image} -> {r.caption}")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Workflows")(train)
    app.command(rich_help_panel="Workflows")(predict)
