"""#12 items 5 and 6: a typo names what was not found (exit 4, nearest valid name); missing
input is not found, a bad option a usage error; a closed pipe ends quietly; `logs -f` streams
until Ctrl-C."""

from __future__ import annotations

import select
import signal
import subprocess
from pathlib import Path
from typing import IO

import pytest

from capstone_cli.project import PACKAGED_SPECS
from tests.cli.test_pipeline_commands import setup_copy
from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env

SPECS = str(PACKAGED_SPECS)

TYPOS = [
    # (command, what the error names, the nearest valid name the hint gives, or "")
    (["logs", "-p", "imagse"], "pipeline 'imagse' not found", "did you mean 'images'?"),
    (["jobs", "-p", "modle"], "pipeline 'modle' not found", "did you mean 'model'?"),
    (["logs", "-j", "images@deadbeef"], "job of pipeline 'images' 'deadbeef' not found", ""),
    (["logs", "-j", "deadbeef"], "job 'deadbeef' not found", ""),
    (["logs", "-p", "images", "--datum", "nope"], "datum 'nope' not found", ""),
]


@pytest.mark.parametrize(("args", "named", "nearest"), TYPOS, ids=[" ".join(t[0]) for t in TYPOS])
def test_a_typo_names_what_was_not_found(
    run_cli: RunCli, args: list[str], named: str, nearest: str
) -> None:
    run_cli("apply", "--specs", SPECS, "--no-run", "images", "features", "consolidate", "model")
    result = run_cli(*args, code=4)
    assert result.stdout == ""
    assert f"error: {named}" in result.stderr
    assert nearest in result.stderr and "hint:" in result.stderr


def test_missing_input_and_bad_options(run_cli: RunCli, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.tsv")
    assert "no such file" in run_cli("train", "--tsv", missing, "--specs", SPECS, code=4).stderr
    image = str(tmp_path / "missing.png")
    assert "no such file" in run_cli("predict", image, "--specs", SPECS, code=4).stderr
    zero = run_cli("train", "--tsv", missing, "--lines-per-datum", "0", "--specs", SPECS, code=2)
    assert "--lines-per-datum must be at least 1" in zero.stderr


def start(home: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*capstone_cmd(), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(home),
        bufsize=0,  # unbuffered: `select` then sees every line that is not read yet
    )


@pytest.mark.parametrize(
    "args", [["logs", "-p", "copy"], ["status", "--watch", "--interval", "0.05"]]
)
def test_a_closed_pipe_ends_quietly(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, args: list[str]
) -> None:
    """`capstone logs ... | head`: the reader closes the pipe before the first write."""
    setup_copy(run_cli, tmp_path, n=3)
    proc = start(capstone_home, *args)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 0, stderr
    assert "error" not in stderr and "Traceback" not in stderr


def read_until(stream: IO[bytes], needle: bytes, count: int) -> bytes:
    """Lines until `needle` has been seen `count` times (a stuck stream fails after 120 s)."""
    seen = b""
    while seen.count(needle) < count:
        ready, _, _ = select.select([stream], [], [], 120)
        assert ready, f"no new line; so far: {seen!r}"
        line = stream.readline()
        assert line, f"the stream ended; so far: {seen!r}"
        seen += line
    return seen


def test_logs_follow_streams_until_ctrl_c(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    """#12 item 6: as `pachctl logs -f`, new lines keep coming after every job has finished."""
    src = setup_copy(run_cli, tmp_path, n=1)
    proc = start(capstone_home, "logs", "-f", "-p", "copy")
    assert proc.stdout is not None and proc.stderr is not None
    read_until(proc.stdout, b"copied", 1)
    (src / "later.txt").write_text("later")
    run_cli("put", "in@master:/later.txt", str(src / "later.txt"))  # a new job, a new line
    read_until(proc.stdout, b"copied", 1)
    proc.send_signal(signal.SIGINT)
    assert proc.wait() in (0, 130)
    assert "Traceback" not in proc.stderr.read().decode()
