"""Every named fault point, failed with EIO and with ENOSPC: a clear error, a consistent store.

The sweep learns the points a cheap workload crosses (`count:*`: a `put` into a repo that a
shell `copy` pipeline reads, whose job then runs: store, blob, job, executor and runner points,
no TensorFlow), then replays the workload from the same starting store once per point and
errno, in this process. Each replay must answer as a user error (exit 0, 1 or 5, never "this
is a bug" nor a traceback), leave `fsck` without problems, and let the same `put` succeed
once the fault is gone.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capstone_cli.engine import faults
from tests.clirunner import RunCli

COPY = {
    "pipeline": {"name": "copy"},
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": ["sh", "-c", 'cp -r "$data" /pfs/out/']},
}
KINDS = ("eio", "enospc")


def _start(run_cli: RunCli, tmp_path: Path) -> tuple[list[str], Path]:
    """The workload's source and the starting store (a repo, the pipeline, one commit)."""
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.txt").write_text(f"file {i}\n")
    (src / "big.bin").write_bytes(bytes(range(256)) * 64)  # a blob file, not an inline row
    first = tmp_path / "first.txt"
    first.write_text("first\n")
    spec = tmp_path / "copy.json"
    spec.write_text(json.dumps(COPY))
    run_cli("put", "data@master:/first.txt", str(first))
    run_cli("pipeline", "create", "-f", str(spec))
    return ["put", "data@master:/src", str(src)], src


def _crossed(run_cli: RunCli, command: list[str], trace: Path) -> list[str]:
    faults.configure("count:*", trace=str(trace))
    try:
        run_cli(*command)
    finally:
        faults.configure(None)
    return sorted(set(trace.read_text().split()))


def test_every_point_with_eio_and_enospc_is_a_clear_error_and_a_consistent_store(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, _src = _start(run_cli, tmp_path)
    initial = tmp_path / "initial"
    shutil.copytree(capstone_home, initial)
    points = _crossed(run_cli, command, tmp_path / "trace")
    assert {"store.finish_commit", "jobs.created", "executor.persist.rows", "db.committed"} <= set(
        points
    ), points
    failures: list[str] = []
    for point in points:
        for kind in KINDS:
            monkeypatch.setenv("CAPSTONE_HOME", str(tmp_path / f"{kind}-{point}"))
            shutil.copytree(initial, tmp_path / f"{kind}-{point}")
            faults.configure(f"{kind}:{point}:1")
            try:
                res = run_cli(*command, code=None)
            finally:
                faults.configure(None)
            text = res.stdout + res.stderr
            if res.exit_code not in (0, 1, 5) or "this is a bug" in text or "Traceback" in text:
                failures.append(f"{kind}:{point}: exit {res.exit_code}: {text.strip()[-200:]}")
                continue
            check = run_cli("fsck", "--json", code=None)
            if check.exit_code != 0:
                failures.append(f"{kind}:{point}: fsck: {check.stdout + check.stderr}")
                continue
            again = run_cli(*command, code=None)
            if again.exit_code != 0:
                failures.append(f"{kind}:{point}: the retry: {again.stderr.strip()[-200:]}")
    assert not failures, "\n".join(failures)


ISSUE_CASES = [  # issue #17 item 9, as reported
    "eio:store.finish_commit",
    "enospc:store.head_moved",
    "eio:store.put.rows_written",
    "eacces:store.put.started",
    "enospc:jobs.created",
    "eio:executor.persist.rows",
    "enospc:runner.job.finishing",
    "eio:executor.datum.outputs",
    "eio:db.committed",
]


@pytest.mark.parametrize("fault", ISSUE_CASES)
def test_an_injected_io_error_is_a_store_write_error_with_a_hint(
    run_cli: RunCli, tmp_path: Path, fault: str
) -> None:
    command, _src = _start(run_cli, tmp_path)
    faults.configure(fault)
    try:
        res = run_cli(*command, code=1)
    finally:
        faults.configure(None)
    lines = res.stderr.strip().splitlines()
    assert lines[-2].startswith("error: ") and lines[-1].startswith("hint: "), res.stderr
    assert "store" in lines[-2] and "this is a bug" not in res.stderr, res.stderr
    assert run_cli("fsck", "--json").json()["ok"]
