"""The root Typer app: global options, sub-apps, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from capstone_cli import __version__, ui
from capstone_cli.backends import environment_error
from capstone_cli.commands import context
from capstone_cli.errors import CapstoneError, ExitCode


class _Argument(TyperArgument):
    """An argument shown as `TARGET` in usage lines, as Click and pachctl write them, where
    Typer writes `{target}`."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name column already says it: TARGET, SOURCES...


_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH"}


def _plain_help(command: Any) -> None:
    """Help without Typer's `<bool>`, `<list[Path]>` and `{target}` placeholders: a flag shows no
    type, a value an upper-case name (PATH, INTEGER, TEXT), an argument its upper-case name."""
    for param in command.params:
        if isinstance(param, TyperArgument):
            param.__class__ = _Argument
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()
        elif isinstance(param, TyperOption) and param.metavar is None:
            if param.is_flag:
                param.metavar = ""
            else:
                bare = param.bare_type().removeprefix("list[").removesuffix("]")
                param.metavar = _TYPE_NAMES.get(bare, bare.upper())
    make_help_option = command.get_help_option

    def help_option(ctx: Any) -> Any:  # `--help`, made on demand, is a flag too
        option = make_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class CapstoneGroup(TyperGroup):
    """Maps CapstoneError to its exit code and a one-line message (traceback with --debug)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_help(self)

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except CapstoneError as exc:
            ui.error(exc, debug=context.debug_enabled())
            if context.debug_enabled():
                ui.traceback()
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            ui.info("interrupted: what finished is kept; run the command again to resume")
            ctx.exit(int(ExitCode.INTERRUPTED))
        except BrokenPipeError:
            # `capstone logs -j ID | head`: the reader has all it wanted, a normal end (Click
            # would exit 1). stdout goes to /dev/null so the final flush cannot fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(int(ExitCode.OK))
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            if context.debug_enabled():
                ui.traceback()
            known = environment_error(exc)
            ui.error(known if known is not None else exc)
            ctx.exit(int(known.exit_code if known is not None else ExitCode.ERROR))


app = typer.Typer(
    cls=CapstoneGroup,
    name="capstone",
    help="Run Pachyderm's tutorial-201 image-captioning pipelines: locally on an embedded "
    "engine, or on a Pachyderm 2.x cluster.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        ui.render_text(f"capstone {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    backend: Annotated[
        str | None,
        typer.Option("--backend", help="embedded or pachyderm \\[env: CAPSTONE_BACKEND]"),
    ] = None,
    home: Annotated[
        str | None,
        typer.Option("--home", help="embedded store directory \\[env: CAPSTONE_HOME]"),
    ] = None,
    pachd_address: Annotated[
        str | None,
        typer.Option("--pachd-address", help="pachd address, e.g. grpc://localhost:30650"),
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Pachyderm project \\[env: CAPSTONE_PROJECT]")
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="show tracebacks \\[env: CAPSTONE_DEBUG=1]")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="show the version"),
    ] = False,
) -> None:
    """Global options; they apply to every command."""
    context.configure(
        backend=backend, home=home, pachd_address=pachd_address, project=project, debug=debug
    )


def _register() -> None:
    from capstone_cli.commands import workflows
    from capstone_cli.commands.data import branch, files, project, repo
    from capstone_cli.commands.pipelines import datums, jobs, pipelines, stages, status
    from capstone_cli.commands.system import dashboard, doctor, fsck, images, serve

    workflows.register(app)
    app.add_typer(repo.app, name="repo", rich_help_panel="Data")
    app.add_typer(project.app, name="project", rich_help_panel="Data")
    app.add_typer(branch.app, name="branch", rich_help_panel="Data")
    files.register(app)
    stages.register(app)
    datums.register(app)
    pipelines.register(app)
    jobs.register(app)
    status.register(app)
    fsck.register(app)
    doctor.register(app)
    app.add_typer(images.app, name="image", rich_help_panel="Pipelines")
    dashboard.register(app)
    serve.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    finally:
        context.close()
    sys.exit(0)
