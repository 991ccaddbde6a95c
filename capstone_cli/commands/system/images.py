"""`capstone image map|list|unmap`: where a pipeline image's code lives on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.workflows.system import images

app = typer.Typer(
    help="Map a pipeline's transform.image to the directory holding its code (its WORKDIR).",
    no_args_is_help=True,
)


@app.command("map")
def map_(
    image: Annotated[str, typer.Argument(help="IMAGE or IMAGE:TAG (no tag: every tag).")],
    directory: Annotated[Path, typer.Argument(help="The directory that holds the image's code.")],
) -> None:
    """Run pipelines of IMAGE from DIRECTORY, as the image's WORKDIR; an absolute path in
    `cmd` naming a file DIRECTORY has (`/edges.py`) is that file."""
    mapping = images.map_image(context.settings().home, image, directory)
    ui.success(f"mapped {mapping.reference} to {mapping.directory}")


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List the image mappings."""
    found = images.list_images(context.settings().home)
    if json_:
        ui.render_json([m.to_json() for m in found])
        return
    ui.render_table(
        ["IMAGE", "TAG", "DIRECTORY"],
        [[m.image, m.tag or "(any)", m.directory] for m in found],
        empty="no image is mapped (see `capstone image map`)",
    )


@app.command("unmap")
def unmap(
    image: Annotated[str, typer.Argument(help="IMAGE:TAG, or IMAGE for all its tags.")],
) -> None:
    """Forget an image mapping."""
    for mapping in images.unmap_image(context.settings().home, image):
        ui.success(f"unmapped {mapping.reference}")
