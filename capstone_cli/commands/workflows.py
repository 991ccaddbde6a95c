"""`capstone train` and `capstone predict`: the tutorial's two phases, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capstone_cli import project, ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt, SpecsOpt
from capstone_cli.commands.progress import TerminalProgress
from capstone_cli.errors import CapstoneError
from capstone_cli.workflows.predict import predict as run_predict
from capstone_cli.workflows.train import format_rejects
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
    try:
        result = run_train(
            context.backend(),
            tsv,
            specs_dir=project.specs_dir(specs),
            out_dir=out,
            progress=TerminalProgress(),
            lines_per_datum=lines_per_datum,
            strict=strict,
            local_root=local_root,
        )
    except CapstoneError as exc:
        rejects = exc.details.get("rejected_images", {})
        if json_:
            ui.render_json({"tsv": str(tsv), "error": exc.message, "hint": exc.hint, **exc.details})
        elif rejects and not exc.message.startswith("all "):
            ui.info(f"images rejected: {format_rejects(rejects)}")
        raise
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
    ui.info(f"images rejected: {format_rejects(result.rejects) or 'none'}")
    ui.render_table(
        ["", ""],
        [
            ("chunks", f"{result.split.chunks} ({result.split.good} lines)"),
            ("model", ", ".join(str(p) for p in result.files)),
            *_held_out(result.metrics),
            *[(k, _fmt(v)) for k, v in result.metrics.items() if not isinstance(v, list)],
        ],
    )


def _held_out(metrics: dict[str, object]) -> list[tuple[str, str]]:
    """The headline: BLEU-4 and exact captions on the images the model never trained on."""
    bleu, baseline = metrics.get("bleu"), metrics.get("baseline_bleu")
    if not isinstance(bleu, dict) or not isinstance(baseline, dict):
        return []
    return [
        (
            "held-out",
            f"BLEU-4 {bleu['bleu4']:.3f} (baseline {baseline['bleu4']:.3f}), "
            f"{metrics.get('exact')} of {metrics.get('exact_of')} captions exact",
        )
    ]


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
        progress=TerminalProgress(),
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
