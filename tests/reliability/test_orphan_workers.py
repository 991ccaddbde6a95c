"""A SIGKILLed `capstone run` leaves its datum processes running (they have their own session);
the next run kills them (whole process group, checked by pid AND start time) before removing
their scratch dirs. Real `capstone` subprocesses, real `sh`/`sleep` workers; in proot mode the
group is led by PRoot, with the worker and its stray child traced in it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capstone_cli.engine import procid
from capstone_cli.engine.worker.orphans import WorkerRecord, kill_orphans, read_record
from tests.clirunner import RunCli
from tests.conftest import capstone_cmd, subprocess_env, use_pfs_mode

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE = REPO_ROOT / "tests" / "unit" / "engine" / "worker" / "batch_stage.py"

pytestmark = pytest.mark.skipif(not procid.HAVE_PROC, reason="orphan killing needs /proc")


def _spec(tmp: Path, batching: bool) -> dict[str, object]:
    """A datum that, until `release` exists, records its pid (and a stray child's) and sleeps
    300 s; afterwards it finishes at once (batching: a real NextDatum worker serves it)."""
    finish = f"exec {sys.executable} {STAGE} --out /pfs/out" if batching else "exit 0"
    script = (
        f"test -e {tmp}/release && {finish}; "
        f"sleep 300 & echo $! > {tmp}/child.pid; echo $$ > {tmp}/leader.pid; exec sleep 300"
    )
    transform: dict[str, object] = {"cmd": ["sh", "-c", script]}
    if batching:
        transform.update(datum_batching=True, env={"MARKS": str(tmp), "PYTHONPATH": str(REPO_ROOT)})
    return {
        "pipeline": {"name": "slow"},
        "input": {"pfs": {"repo": "data", "name": "in", "glob": "/*"}},
        "transform": transform,
    }


def _wait_for(path: Path, seconds: float = 20.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text().strip() if path.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.02)
    raise AssertionError(f"{path} was never written")


def _alive(pid: int) -> bool:
    found = procid.identify(pid)
    return found is not None and found[0] != "Z"


def _run(home: Path, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = subprocess_env(home)  # CAPSTONE_PFS_MODE as the test set it
    env["CAPSTONE_PARALLELISM"] = "1"
    env.pop("CAPSTONE_FAULT", None)
    if fault:
        env["CAPSTONE_FAULT"] = fault
    return subprocess.run(
        [*capstone_cmd(), "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


@pytest.mark.parametrize("mode", ["literal", "proot"])
@pytest.mark.parametrize(
    ("batching", "point"),
    [(False, "executor.datum.spawned"), (True, "batching.worker.spawned")],
    ids=["process-per-datum", "batching"],
)
def test_the_next_run_kills_workers_a_killed_run_left(
    run_cli: RunCli,
    capstone_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batching: bool,
    point: str,
    mode: str,
) -> None:
    use_pfs_mode(monkeypatch, mode)
    marks = tmp_path / "marks"
    marks.mkdir()
    spec = tmp_path / "slow.json"
    spec.write_text(json.dumps(_spec(marks, batching)))
    (tmp_path / "a.txt").write_text("a")
    run_cli("put", "data@master:/a.txt", str(tmp_path / "a.txt"), "--no-run")
    run_cli("pipeline", "create", "-f", str(spec), "--no-run")

    first = _run(capstone_home, f"kill:{point}:1")
    assert first.returncode == -signal.SIGKILL, first.stderr
    leader, child = _wait_for(marks / "leader.pid"), _wait_for(marks / "child.pid")
    try:
        assert _alive(leader) and _alive(child)  # the killed run's worker outlived it
        scratch = capstone_home / "scratch"
        (record,) = [r for r in map(read_record, scratch.iterdir()) if r is not None]
        group = record[0]  # the worker itself, or the PRoot tracing it
        assert os.getpgid(leader) == group and (group == leader) == (mode == "literal")
        started = procid.start_time(group)
        assert started is not None and record[1] <= started <= record[2]
        (marks / "release").touch()
        second = _run(capstone_home, None)
        assert second.returncode == 0, second.stderr
        assert not any(map(_alive, (leader, child, group)))  # the whole group was killed
        assert list(scratch.iterdir()) == []
        assert list(Path("/tmp").glob(f"prooted-{group}-*")) == []  # a killed PRoot's loader
        out = run_cli("ls", "slow@master:/").stdout
        assert ("a.txt" in out) is batching  # the stage copies its input; `exit 0` writes none
    finally:
        for pid in (leader, child):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_record_whose_pid_was_reused_kills_nothing(tmp_path: Path) -> None:
    """Same pid, another start time (the pid was handed out again): left alone."""
    lo = procid.boot_ticks()
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    hi = procid.boot_ticks()
    try:
        started = procid.start_time(proc.pid)
        assert lo is not None and hi is not None and started is not None
        assert lo <= started <= hi  # the bracket the engine records holds the start time
        for other in (f"{started - 2} {started - 1}", f"{started + 1} {started + 5}"):
            (tmp_path / "worker.pgid").write_text(f"{proc.pid} {other}\n")
            assert kill_orphans([tmp_path]) == []
        assert proc.poll() is None
        record = WorkerRecord(tmp_path)  # the engine's writer
        record.started(proc.pid, lo, hi)
        assert read_record(tmp_path) == (proc.pid, lo, hi)
        assert kill_orphans([tmp_path]) == [proc.pid]
        assert proc.wait(5) == -signal.SIGKILL
        record.reaped()
        assert read_record(tmp_path) is None  # reaped: the record is blank
        record.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_runner_never_kills_its_own_group(tmp_path: Path) -> None:
    """A runner that leads its own process group finds its own group recorded: it survives."""
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from capstone_cli.engine import procid\n"
        "from capstone_cli.engine.worker.orphans import kill_orphans\n"
        "pgid = os.getpgrp()\n"
        "assert pgid == os.getpid()\n"
        "started = procid.start_time(pgid)\n"
        "d = Path(sys.argv[1])\n"
        "(d / 'worker.pgid').write_text(f'{pgid} {started} {started}\\n')\n"
        "print(kill_orphans([d]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        start_new_session=True,  # the child leads its own group, as a `capstone` CLI does
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert proc.returncode == 0, proc.stderr  # -9 if it had killed its own group
    assert proc.stdout.strip() == "[]"
