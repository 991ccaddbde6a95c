"""Every command has help, and the README's command reference names every command."""

from __future__ import annotations

import typer.main

from capstone_cli.app import app
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT


def all_commands() -> list[tuple[str, object]]:
    group = typer.main.get_command(app)
    out = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        if subs:
            out.extend((f"{name} {sub}", c) for sub, c in subs.items())
        else:
            out.append((name, cmd))
    return out


def test_every_command_has_help() -> None:
    for name, cmd in all_commands():
        assert getattr(cmd, "help", None), f"capstone {name} has no help"


def test_readme_lists_every_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    for name, _cmd in all_commands():
        top, _, sub = name.partition(" ")
        assert f"capstone {top}" in readme, name
        if sub:
            assert sub in readme, name


def test_version_and_no_args(run_cli: RunCli) -> None:
    assert run_cli("--version").stdout.startswith("capstone ")
    res = run_cli(code=2)
    assert "Usage" in res.stdout + res.stderr


def test_cli_does_not_import_tensorflow() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from capstone_cli.app import app; import capstone_cli.commands.workflows;"
        " print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "False False"
