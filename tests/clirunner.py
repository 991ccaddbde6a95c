"""`run_cli`: invoke the Typer app in-process and check the exit code (fixture in conftest)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from typer.testing import CliRunner

from capstone_cli.app import app
from capstone_cli.commands import context


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


RunCli = Callable[..., Result]


def make_run_cli() -> RunCli:
    def run(*args: str, code: int | None = 0) -> Result:
        """`code=None` accepts any exit code (the caller checks `exit_code`)."""
        runner = CliRunner()
        result = runner.invoke(app, list(args), catch_exceptions=False)
        context.close()
        out = Result(result.exit_code, result.stdout, result.stderr)
        assert code is None or result.exit_code == code, (
            f"exit {result.exit_code} != {code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return out

    return run
