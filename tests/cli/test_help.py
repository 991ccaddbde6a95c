"""Every command has help, and the README's command reference names every command."""

from __future__ import annotations

import re

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


def readme_commands(readme: str) -> set[str]:
    """Command names as the README's `## Commands` table writes them, alternatives expanded.

    `capstone repo create\\|list` names `repo create` and `repo list`; a word of upper case,
    a bracket or a dash (`SPEC`, `[--json]`, `-f`) starts the arguments.
    """
    section = readme.split("\n## Commands", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    names: set[str] = set()
    for span in re.findall(r"`capstone ([^`]*)`", section):
        words = span.replace("\\|", "|").split()
        top = words[0]
        subs = words[1].split("|") if len(words) > 1 else []
        if subs and all(re.fullmatch(r"[a-z][a-z-]*", sub) for sub in subs):
            names.update(f"{top} {sub}" for sub in subs)
        else:
            names.add(top)
    return names


def test_readme_lists_every_command() -> None:
    """Every command of the Typer app, by its full name, is in the README's command table."""
    documented = readme_commands((REPO_ROOT / "README.md").read_text())
    commands = {name for name, cmd in all_commands() if not getattr(cmd, "hidden", False)}
    assert commands - documented == set(), "commands missing from the README's table"
    groups = {name.partition(" ")[0] for name in commands if " " in name}
    stale = {name for name in documented if name not in commands and name not in groups}
    assert stale == set(), "the README's table names commands that do not exist"


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
