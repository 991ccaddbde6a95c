"""`capstone put|get|ls|commits`: files in and out of repos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capstone_cli import transfer, ui
from capstone_cli.commands import context
from capstone_cli.commands.options import JsonOpt
from capstone_cli.commands.progress import TerminalProgress
from capstone_cli.errors import UsageError
from capstone_cli.refs import parse_ref
from capstone_cli.workflows import files
from capstone_cli.workflows.pipelines.follow import follow_commit_sets


def put(
    target: Annotated[str, typer.Argument(help="REPO@BRANCH[:PATH] (PATH defaults to /).")],
    sources: Annotated[list[Path], typer.Argument(help="Files or directories to upload.")],
    message: Annotated[str, typer.Option("--message", "-m", help="Commit description.")] = "",
    no_run: Annotated[bool, typer.Option("--no-run", help="Do not run triggered jobs.")] = False,
    follow_symlinks: Annotated[
        bool,
        typer.Option("--follow-symlinks", help="Upload what symlinks leading out of a dir name."),
    ] = False,
    split: Annotated[str | None, typer.Option("--split", hidden=True)] = None,
) -> None:
    """Upload files or directories in ONE commit, creating the repo if needed.

    Directories are uploaded recursively: their contents go under PATH.
    Example: capstone put inpredict@master testdata/image.png
    """
    if split is not None:  # pachctl 1.x's `put file --split line`: what train does
        raise UsageError(
            "capstone put has no --split (Pachyderm 2.x removed it)",
            hint="`capstone train --tsv FILE [--lines-per-datum N]` splits a TSV into chunks",
        )
    ref = parse_ref(target)
    path = target.partition(":")[2] or "/"
    plan = transfer.plan_uploads(sources, path, sizes=ui.is_tty(), follow_symlinks=follow_symlinks)
    with ui.byte_progress(f"uploading to {ref.repo}@{ref.ref}", plan.total_bytes) as advance:
        commit = context.backend().put_files(
            ref.repo, ref.ref, plan.uploads, description=message, on_bytes=advance
        )
    ui.success(f"committed {len(plan.uploads)} file(s) to {ref.repo}@{ref.ref} ({commit.id})")
    if not no_run:
        follow_commit_sets(context.backend(), [commit.id], TerminalProgress())


def get(
    source: Annotated[str, typer.Argument(help="REPO@BRANCH_OR_COMMIT:PATH")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Destination file or dir.")],
) -> None:
    """Download a file, or a directory recursively, never writing outside -o."""
    ref = parse_ref(source)
    written = transfer.download(context.backend(), ref.repo, ref.ref, ref.path, output)
    ui.success(f"wrote {len(written)} file(s) to {output}")


def ls(
    target: Annotated[str, typer.Argument(help="REPO@BRANCH_OR_COMMIT[:PATH]")],
    json_: JsonOpt = False,
) -> None:
    """List the files and directories directly under PATH."""
    ref = parse_ref(target)
    entries = context.backend().list_files(ref.repo, ref.ref, ref.path)
    if json_:
        ui.render_json([e.to_json() for e in entries])
        return
    ui.render_table(
        ["NAME", "TYPE", "SIZE"],
        [
            (e.path + ("/" if e.type == "dir" else ""), e.type, ui.human_bytes(e.size))
            for e in entries
        ],
        empty=f"{ref.repo}@{ref.ref}:{ref.path} is empty",
    )


def commits(
    target: Annotated[str, typer.Argument(help="REPO[@BRANCH]")],
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N commits (0: all).")] = 0,
    json_: JsonOpt = False,
) -> None:
    """List a repo's commits, newest first (like `pachctl list commit`)."""
    repo, _, branch = target.partition("@")
    items = context.backend().list_commits(repo, branch or None, limit)
    if json_:
        ui.render_json([c.to_json() for c in items])
        return
    ui.render_table(
        ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN", "DESCRIPTION"],
        [
            (
                c.repo,
                c.branch,
                c.id,
                (c.finished or "-")[:19].replace("T", " "),
                ui.human_bytes(c.size),
                c.origin,
                c.error or c.description,
            )
            for c in items
        ],
        empty=f"{target} has no commits yet",
    )


delete_app = typer.Typer(help="Delete files (repos: `capstone repo delete`).", no_args_is_help=True)


@delete_app.command("file")
def delete_file(
    target: Annotated[str, typer.Argument(help="REPO@BRANCH:PATH (a directory: recursively).")],
    no_run: Annotated[bool, typer.Option("--no-run", help="Do not run triggered jobs.")] = False,
) -> None:
    """Make a new commit without PATH, as `pachctl delete file`; the repo stays.

    Example: capstone delete file rawdata@master:/test.tsv
    """
    ref = parse_ref(target, default_path="/")
    commit = files.delete_file(context.backend(), ref.repo, ref.ref, ref.path)
    ui.success(f"deleted {ref.repo}@{ref.ref}:{ref.path} ({commit.id})")
    if not no_run:
        follow_commit_sets(context.backend(), [commit.id], TerminalProgress())


def register(app: typer.Typer) -> None:
    for fn in (put, get, ls, commits):
        app.command(rich_help_panel="Data")(fn)
    app.add_typer(delete_app, name="delete", rich_help_panel="Data")
