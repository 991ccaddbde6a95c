"""Several capstone processes on one store at once (issue #8, concurrency).

Real `capstone` subprocesses, started together: two `put`s into the same repo, one into another
repo, and a `capstone run`, while a pipeline reads the repo. Each process either succeeds or
fails cleanly with the "busy" error (exit 8) and succeeds when retried; no commit is lost, every
job ends, and `fsck` finds the store consistent. `capstone status --watch` in another process
follows a running job without crashing on the busy database and ends cleanly on Ctrl-C or
after --count refreshes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from capstone_cli.errors import ExitCode
from tests.conftest import capstone_cmd, subprocess_env

COPY_SPEC = """
pipeline: {name: cp}
transform: {cmd: [sh, -c, "sleep $DELAY; cp -r /pfs/src/* /pfs/out/"], env: {DELAY: "%s"}}
input: {pfs: {repo: src, glob: /*}}
"""


def capstone(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*capstone_cmd(), *args],
        env={**subprocess_env(home), "NO_COLOR": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert "Traceback" not in out + err, err
    return proc.returncode, out, err


def run_ok(home: Path, *args: str, retries: int = 3) -> str:
    """Run to success; a clean "busy" failure (exit 8, one error line) may be retried."""
    for _ in range(retries + 1):
        code, out, err = finish(capstone(home, *args))
        if code == 0:
            return out
        assert code == ExitCode.BUSY, (args, code, err)
        assert [line for line in err.splitlines() if line.startswith("error:")], err
    raise AssertionError(f"{args} still busy after {retries} retries")


def make_files(root: Path, prefix: str, count: int, big: int = 0) -> Path:
    root.mkdir(parents=True)
    for i in range(count):
        (root / f"{prefix}-{i:03d}.txt").write_text(f"{prefix} {i}\n" * 50)
    for i in range(big):  # over 1 MiB: a blob file, written outside the SQLite transaction
        (root / f"{prefix}-big-{i}.bin").write_bytes(os.urandom(1_200_000))
    return root


def create_copy_pipeline(home: Path, tmp_path: Path, delay: float) -> None:
    seed = make_files(tmp_path / "seed", "seed", 1)
    run_ok(home, "put", "src@master", str(seed), "--no-run")
    spec = tmp_path / "cp.yaml"
    spec.write_text(COPY_SPEC % delay)
    run_ok(home, "pipeline", "create", "-f", str(spec))


def json_out(home: Path, *args: str) -> object:
    return json.loads(run_ok(home, *args, "--json"))


@pytest.mark.slow
def test_two_puts_and_a_run_at_once_lose_nothing(tmp_path: Path, capstone_home: Path) -> None:
    home = capstone_home
    create_copy_pipeline(home, tmp_path, delay=0.0)
    a = make_files(tmp_path / "a", "a", 40, big=1)
    b = make_files(tmp_path / "b", "b", 40, big=1)
    c = make_files(tmp_path / "c", "c", 40)
    procs = {
        "put a": ["put", "src@master", str(a)],
        "put b": ["put", "src@master", str(b)],
        "put c (other repo)": ["put", "other@master", str(c)],
        "run": ["run"],
    }
    started = {name: capstone(home, *args) for name, args in procs.items()}
    for name, proc in started.items():
        code, _out, err = finish(proc)
        if code != 0:  # only a clean busy error is allowed, and a retry must then succeed
            assert code == ExitCode.BUSY, (name, code, err)
            run_ok(home, *procs[name])

    commits = json_out(home, "commits", "src")
    assert isinstance(commits, list) and len(commits) == 3  # seed + a + b: none lost
    head = {e["path"] for e in json_out(home, "ls", "src@master")}  # type: ignore[union-attr]
    want = {f"/{p.name}" for d in (a, b, tmp_path / "seed") for p in d.iterdir()}
    assert head == want  # the second put's parent is the first put's commit
    other = {e["path"] for e in json_out(home, "ls", "other@master")}  # type: ignore[union-attr]
    assert other == {f"/{p.name}" for p in c.iterdir()}

    run_ok(home, "run")  # whatever is still pending
    jobs = json_out(home, "jobs", "-p", "cp")
    assert isinstance(jobs, list)
    assert all(j["state"] == "JOB_SUCCESS" for j in jobs), jobs
    copied = {e["path"] for e in json_out(home, "ls", "cp@master")}  # type: ignore[union-attr]
    assert copied == want
    report = json_out(home, "fsck")
    assert isinstance(report, dict) and report["ok"] is True and report["problems"] == [], report


@pytest.mark.slow
def test_status_watch_follows_a_running_job_and_ends_on_ctrl_c(
    tmp_path: Path, capstone_home: Path
) -> None:
    home = capstone_home
    create_copy_pipeline(home, tmp_path, delay=0.25)
    batch = make_files(tmp_path / "batch", "w", 8)
    worker = capstone(home, "put", "src@master", str(batch), env={"CAPSTONE_PARALLELISM": "1"})
    watcher = capstone(home, "status", "--watch", "--json", "--interval", "0.1")
    code, _out, err = finish(worker)
    assert code == 0, err
    time.sleep(0.5)  # a refresh or two after the job ended
    watcher.send_signal(signal.SIGINT)
    code, out, err = finish(watcher, timeout=30)
    assert code == 0, err
    assert "error:" not in err, err
    snapshots = [json.loads(line) for line in out.splitlines()]
    progress = [
        j["data_processed"]
        for snap in snapshots
        for j in snap["running"]
        if j["pipeline"] == "cp" and j["data_total"] == 9
    ]
    assert len(set(progress)) >= 2, progress  # the watcher saw the job move
    assert progress == sorted(progress)
    last = snapshots[-1]
    assert last["running"] == []
    assert last["recent_jobs"][0]["state"] == "JOB_SUCCESS"


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["table", "json"])
def test_status_watch_stops_after_count(capstone_home: Path, json_flag: list[str]) -> None:
    started = time.monotonic()
    watcher = capstone(capstone_home, "status", "--watch", "--count", "3", "--interval", "0.1",
                       *json_flag)  # fmt: skip
    code, out, err = finish(watcher, timeout=30)
    assert code == 0, err
    assert time.monotonic() - started < 20
    if json_flag:
        assert len(out.splitlines()) == 3 and all(json.loads(line) for line in out.splitlines())
