"""`capstone datums SPEC`: list a spec's datums offline (pachctl's `list datum -f`)."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import project, ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt, SpecsOpt
from capstone_cli.workflows.pipelines.datums import datums_of


def datums(
    spec: Annotated[str, typer.Argument(help="Spec file (JSON/YAML), stage file or stage name.")],
    specs: SpecsOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the datums of a pipeline's input against current branch heads; runs nothing.

    Also names the join files that matched no partner and warns about globs that match
    nothing, empty join keys and joins that degenerate into a cross product.
    """
    pipeline, report = datums_of(context.backend(), spec, project.specs_dir(specs))
    if json_:
        ui.render_json(
            [
                {
                    "id": d.id,
                    "inputs": [
                        {
                            "name": i.name,
                            "repo": i.repo,
                            "path": i.file.path,
                            "join_on": i.join_on,
                            "group_by": i.group_by,
                        }
                        for i in d.inputs
                    ],
                }
                for d in report.datums
            ]
        )
    else:
        ui.render_table(
            ["DATUM", "FILES", "KEY"],
            [
                (
                    d.id[:12],
                    "  ".join(f"{i.name}:{i.file.path}" for i in d.inputs),
                    ",".join(sorted({i.join_on or i.group_by for i in d.inputs} - {""})),
                )
                for d in report.datums
            ],
            empty=f"{pipeline.name}: no datums",
        )
        ui.info(f"{len(report.datums)} datum(s) for {pipeline.name}")
    for warning in report.warnings:
        ui.warn(warning)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Pipelines")(datums)
