"""Seeded SIGKILL harness: kill `capstone put`, `capstone run` and `capstone train` at named
fault points and at random times, check the store, re-run, compare with an uninterrupted run.

How a sample is drawn (reproducible from the seed, printed first):
1. each workload runs once uninterrupted with `CAPSTONE_FAULT=count:*`, which records every
   fault-point crossing (`capstone_cli/engine/faults.py`); that run's outputs are the reference;
2. a kill point is `kill:POINT:N` for a POINT the reference crossed and N <= its crossings
   (point first, uniformly, then N), or a timed kill after a random delay within the reference
   duration, so places without a named point are hit too;
3. every point starts from a fresh copy of the workload's initial home, runs the command with
   the fault (its own process group; worker processes orphaned by the kill keep running: they
   have their own sessions), then: invariants of the store (`check_invariants`), the same
   command again (must succeed), invariants again plus no scratch directory left AND no process
   with this CAPSTONE_HOME alive (the re-run must have killed the orphans: `engine/orphans.py`),
   the final outputs equal to the reference's, and `fsck --fix` leaving a clean store with no
   leftovers. Whatever failed, processes left with the point's CAPSTONE_HOME are swept at the
   end (a safety net, so that a failing point leaks nothing).
Jobs run with CAPSTONE_PARALLELISM=1 so that the N-th crossing of a point is the same place in
every run (except in the `run-par2` workload, which kills a 2-slot run).

Full run: `python -m tests.reliability.harness --seed 1 --kills 50` (`make kill-harness`);
replay one point: `... --seed 1 --only 17`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.smallspecs import training_specs

REPO_ROOT = Path(__file__).resolve().parents[2]
OFFLINE = REPO_ROOT / "testdata" / "offline"
PYTHON = sys.executable
COMMAND_TIMEOUT = 300.0
# timed kills fall within this many seconds of a workload's start (about its length here)
NOMINAL_SECONDS = {"put": 3.0, "run": 2.5, "train": 12.0}
# metrics.json fields that measure time, not results
TIMING_KEYS = ("train_seconds", "train_samples_per_s", "written_at")


# -- running capstone ---------------------------------------------------------------------
def capstone_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CAPSTONE_") and k not in ("PYTEST_CURRENT_TEST",)
    }
    env.update(
        CAPSTONE_HOME=str(home),
        PYTHONPATH=str(REPO_ROOT),
        CAPSTONE_PARALLELISM="1",
        NO_COLOR="1",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    env.update(extra or {})
    return env


@dataclass
class Outcome:
    rc: int
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.rc == -signal.SIGKILL


def run_capstone(
    args: list[str],
    home: Path,
    *,
    extra_env: dict[str, str] | None = None,
    kill_after: float | None = None,
    cwd: Path | None = None,
) -> Outcome:
    """Run `capstone ARGS` in its own process group; optionally SIGKILL it after a delay."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [PYTHON, "-m", "capstone_cli", *args],
        env=capstone_env(home, extra_env),
        cwd=cwd or REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        if kill_after is not None:
            try:
                proc.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                _kill_group(proc.pid)
        _, err = proc.communicate(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        _, err = proc.communicate()
        err += b"\n[harness] timed out"
        sweep_orphans(home)
    return Outcome(proc.returncode, err.decode(errors="replace"), time.monotonic() - t0)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def home_processes(home: Path) -> list[Any]:
    """Live processes (not this one, not zombies) whose environment has this CAPSTONE_HOME."""
    import psutil

    mine = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == mine:
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("CAPSTONE_HOME") == str(home):
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def describe_processes(procs: list[Any]) -> list[str]:
    out = []
    for proc in procs:
        try:
            out.append(f"{proc.pid} {' '.join(proc.cmdline())[:80]}")
        except Exception:
            out.append(str(proc.pid))
    return out


def sweep_orphans(home: Path) -> int:
    """SIGKILL processes left with this CAPSTONE_HOME (the harness's safety net).

    The engine itself kills the workers a killed run left (the next runner does, from the
    records in their scratch dirs); this only keeps a FAILING point from leaking processes.
    """
    import psutil

    killed = 0
    for proc in home_processes(home):
        try:
            proc.kill()
            killed += 1
        except psutil.Error:
            continue
    return killed


# -- workloads -----------------------------------------------------------------------------
@dataclass
class Workload:
    """A command to kill, the initial home it starts from, and how to compare its outputs."""

    name: str
    args: list[str]
    prepare: Callable[..., None]  # (work dir, initial home, full=...)
    extra_env: dict[str, str] = field(default_factory=dict)
    out_dir: str | None = None  # a directory the command writes (train's --out), compared too


COPY_SPEC = {
    "pipeline": {"name": "copy"},
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": ["sh", "-c", 'cp -r "$data" /pfs/out/']},
}
MANIFEST_SPEC = {
    "pipeline": {"name": "manifest"},
    "input": {"pfs": {"repo": "copy", "glob": "/"}},
    "transform": {
        "cmd": [
            "sh",
            "-c",
            'cd "$copy" && find . -type f -exec sha256sum {} + | sort > /pfs/out/manifest',
        ]
    },
}


def make_source(root: Path, dirs: int, per_dir: int) -> None:
    """`dirs * per_dir` small files and two large (file-backed) blobs."""
    rng = random.Random(1234)
    for d in range(dirs):
        sub = root / f"d{d:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        for i in range(per_dir):
            (sub / f"{i:04d}.txt").write_bytes(rng.randbytes(50 + rng.randrange(400)))
    (root / "big1.bin").write_bytes(rng.randbytes((1 << 20) + 4096))
    (root / "big2.bin").write_bytes(rng.randbytes((3 << 19) + 7))


def _setup_pipelines(work: Path, home: Path) -> None:
    for spec in (COPY_SPEC, MANIFEST_SPEC):
        path = work / f"{spec['pipeline']['name']}.json"  # type: ignore[index]
        path.write_text(json.dumps(spec))
    _must(run_capstone(["repo", "create", "data"], home))
    _must(run_capstone(["pipeline", "create", "-f", str(work / "copy.json")], home))
    _must(run_capstone(["pipeline", "create", "-f", str(work / "manifest.json")], home))


def _must(outcome: Outcome) -> None:
    if outcome.rc != 0:
        raise RuntimeError(f"setup command failed ({outcome.rc}): {outcome.stderr.strip()}")


def prepare_put(work: Path, home: Path, *, full: bool) -> None:
    """Full: 2,100 small files (more than one SQLite batch of 2,000); else 240."""
    make_source(work / "src", *((10, 210) if full else (6, 40)))
    _setup_pipelines(work, home)


def prepare_run(work: Path, home: Path, *, full: bool) -> None:
    prepare_put(work, home, full=full)
    _must(run_capstone(["put", "data@master", str(work / "src"), "--no-run"], home))


def prepare_train(work: Path, home: Path, *, full: bool) -> None:
    training_specs(work / "specs", image_size=32, epochs=1)
    data = work / "data"
    data.mkdir()
    (data / "images").symlink_to(OFFLINE / "images")
    lines = (OFFLINE / "train.tsv").read_text().splitlines(True)[:20]
    (data / "train.tsv").write_text("".join(lines))


def workloads(work: Path) -> dict[str, Workload]:
    src = str(work / "put" / "src")
    return {
        "put": Workload("put", ["put", "data@master", src], prepare_put),
        "run": Workload("run", ["run"], prepare_run),
        "run-par2": Workload(
            "run-par2", ["run"], prepare_run, extra_env={"CAPSTONE_PARALLELISM": "2"}
        ),
        "train": Workload(
            "train",
            [
                "train",
                "--tsv",
                str(work / "train" / "data" / "train.tsv"),
                "--specs",
                str(work / "train" / "specs"),
                "--out",
                "{home}/../out",
            ],
            prepare_train,
            out_dir="out",
        ),
    }


def workload_args(wl: Workload, home: Path) -> list[str]:
    return [a.replace("{home}", str(home)) for a in wl.args]


# -- store checks ------------------------------------------------------------------------
def check_invariants(home: Path, *, after_rerun: bool = False) -> list[str]:
    """Everything that must hold in a store at any moment, even right after a SIGKILL.

    - fsck finds no problem: SQLite is intact, every file row's blob exists and matches its
      hash, no branch head is an unfinished commit;
    - every branch head is a finished commit (checked again explicitly);
    - every output staged for a resumable datum has its blob (a resumed job needs it);
    - every commit set of a finished USER commit has its downstream jobs (created together);
    - every job in a terminal state has a finished output commit;
    and, after a successful re-run: no unfinished job, no scratch directory left.
    """
    from capstone_cli.engine.fsck import fsck
    from capstone_cli.engine.store.store import Store

    if not (home / "store.db").exists():
        return []
    problems: list[str] = []
    with Store(home) as store:
        problems += [f"fsck: {p}" for p in fsck(store).problems]
        db = store.db
        for repo, branch, finished in db.execute(
            "SELECT r.name, b.name, c.finished FROM branches b JOIN repos r ON r.id=b.repo_id "
            "JOIN commits c ON c.id=b.head"
        ):
            if finished is None:
                problems.append(f"head of {repo}@{branch} is an unfinished commit")
        for (digest,) in db.execute("SELECT DISTINCT blob FROM datum_outputs"):
            issue = store.blobs.verify(bytes(digest))
            if issue:
                problems.append(f"staged datum output: {issue}")
        pipelines = {row[0] for row in db.execute("SELECT name FROM pipelines")}
        for repo, commit_set in db.execute(
            "SELECT r.name, c.commit_set FROM commits c JOIN repos r ON r.id=c.repo_id "
            "WHERE c.origin='USER' AND c.finished IS NOT NULL"
        ):
            if repo != "data" or not pipelines:
                continue
            jobs = {
                row[0] for row in db.execute("SELECT pipeline FROM jobs WHERE id=?", (commit_set,))
            }
            if jobs != pipelines:
                problems.append(f"commit {repo}@{commit_set[:12]} has jobs {sorted(jobs)}")
        for pipeline, job_id, state in db.execute(
            "SELECT j.pipeline, j.id, j.state FROM jobs j JOIN commits c ON c.id=j.output_commit "
            "WHERE j.state IN ('JOB_SUCCESS','JOB_FAILURE') AND c.finished IS NULL"
        ):
            problems.append(f"job {pipeline}@{job_id[:12]} is {state} with an open output commit")
        if after_rerun:
            for pipeline, job_id, state in db.execute(
                "SELECT pipeline, id, state FROM jobs WHERE state!='JOB_SUCCESS'"
            ):
                problems.append(f"after the re-run, job {pipeline}@{job_id[:12]} is {state}")
    scratch = home / "scratch"
    if after_rerun and scratch.is_dir() and any(scratch.iterdir()):
        problems.append(f"scratch dirs left after the re-run: {sorted(os.listdir(scratch))}")
    return problems


def snapshot(home: Path, out_dir: Path | None = None) -> dict[str, str]:
    """Final outputs: every repo head's files and the out dir, path -> sha256 (timing removed)."""
    from capstone_cli.engine.store.store import Store

    result: dict[str, str] = {}
    with Store(home) as store:
        for repo in store.list_repos():
            head = store.head(repo.name)
            if head is None:
                continue
            for path, digest, _size, _datum in store.iter_files(head):
                key = f"{repo.name}:{path}"
                if path.endswith("/metrics.json"):
                    result[key] = _metrics_digest(store.blobs.read(digest))
                else:
                    result[key] = digest.hex()
    if out_dir is not None and out_dir.is_dir():
        for file in sorted(out_dir.rglob("*")):
            if file.is_file():
                data = file.read_bytes()
                key = f"out:{file.relative_to(out_dir)}"
                is_metrics = file.name == "metrics.json"
                result[key] = _metrics_digest(data) if is_metrics else _sha(data)
    return result


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _metrics_digest(data: bytes) -> str:
    doc = json.loads(data)
    for key in TIMING_KEYS:
        doc.pop(key, None)
    return _sha(json.dumps(doc, sort_keys=True).encode())


def diff_snapshots(want: dict[str, str], got: dict[str, str]) -> list[str]:
    keys = sorted(set(want) | set(got))
    bad = [k for k in keys if want.get(k) != got.get(k)]
    return [f"output differs from the uninterrupted run: {k}" for k in bad[:5]] + (
        [f"... {len(bad) - 5} more"] if len(bad) > 5 else []
    )


# -- kill points ---------------------------------------------------------------------------
@dataclass(frozen=True)
class KillPoint:
    workload: str
    fault: str | None  # "kill:POINT:N", or None for a timed kill
    delay: float = 0.0

    def describe(self) -> str:
        return self.fault or f"timed kill after {self.delay:.2f}s"


@dataclass
class Reference:
    home: Path  # the initial home (copied for each point)
    crossings: dict[str, int]
    seconds: float
    outputs: dict[str, str]


@dataclass
class PointResult:
    index: int
    point: KillPoint
    killed: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


class Harness:
    def __init__(
        self, work: Path, *, full: bool = False, log: Callable[[str], None] = print
    ) -> None:
        self.work = work
        self.full = full
        self.work.mkdir(parents=True, exist_ok=True)
        self.loads = workloads(work)
        self.refs: dict[str, Reference] = {}
        self.log = log

    def reference(self, name: str) -> Reference:
        """Prepare the workload's initial home and run it once, uninterrupted, counting."""
        if name in self.refs:
            return self.refs[name]
        wl = self.loads[name]
        base = name.split("-")[0]
        wdir = self.work / base
        initial = wdir / "initial-home"
        if not initial.exists():
            wdir.mkdir(parents=True, exist_ok=True)
            wl.prepare(wdir, initial, full=self.full)
        home = self.fresh_home(initial, f"{name}-reference")
        trace = home.parent / "trace"
        outcome = run_capstone(
            workload_args(wl, home),
            home,
            extra_env={
                **wl.extra_env,
                "CAPSTONE_FAULT": "count:*",
                "CAPSTONE_FAULT_TRACE": str(trace),
            },
        )
        if outcome.rc != 0:
            raise RuntimeError(f"reference {name} run failed ({outcome.rc}): {outcome.stderr}")
        crossings: dict[str, int] = {}
        for line in trace.read_text().split():
            crossings[line] = crossings.get(line, 0) + 1
        outputs = snapshot(home, home.parent / wl.out_dir if wl.out_dir else None)
        ref = Reference(initial, crossings, outcome.seconds, outputs)
        self.refs[name] = ref
        return ref

    def fresh_home(self, initial: Path, label: str) -> Path:
        run_dir = self.work / "points" / label
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True)
        home = run_dir / "home"
        if initial.exists():
            shutil.copytree(initial, home, symlinks=True)
        return home

    def sample(
        self, seed: int, plan: dict[str, int], timed_fraction: float = 0.2
    ) -> list[KillPoint]:
        """`plan[workload]` kill points per workload, drawn from `seed`."""
        rng = random.Random(seed)
        points: list[KillPoint] = []
        for name in sorted(plan):
            ref = self.reference(name)
            names = sorted(ref.crossings)
            for _ in range(plan[name]):
                if rng.random() < timed_fraction:
                    # a nominal duration, not the measured one, keeps the delay reproducible
                    span = NOMINAL_SECONDS[name.split("-")[0]]
                    points.append(KillPoint(name, None, round(rng.uniform(0.3, span), 2)))
                else:
                    point = rng.choice(names)
                    nth = rng.randint(1, ref.crossings[point])
                    points.append(KillPoint(name, f"kill:{point}:{nth}"))
        return points

    def run_point(self, index: int, point: KillPoint) -> PointResult:
        t0 = time.monotonic()
        wl = self.loads[point.workload]
        ref = self.reference(point.workload)
        home = self.fresh_home(ref.home, f"{index:03d}-{point.workload}")
        args = workload_args(wl, home)
        result = PointResult(index, point)
        env = dict(wl.extra_env)
        if point.fault:
            env["CAPSTONE_FAULT"] = point.fault
        try:
            self._kill_and_rerun(home, wl, ref, args, env, point, result)
        finally:
            sweep_orphans(home)
        result.seconds = time.monotonic() - t0
        if result.ok:
            shutil.rmtree(home.parent, ignore_errors=True)
        return result

    def _kill_and_rerun(
        self,
        home: Path,
        wl: Workload,
        ref: Reference,
        args: list[str],
        env: dict[str, str],
        point: KillPoint,
        result: PointResult,
    ) -> None:
        first = run_capstone(
            args, home, extra_env=env, kill_after=None if point.fault else point.delay
        )
        result.killed = first.killed
        if not first.killed and first.rc != 0:
            result.problems.append(f"command failed instead of dying ({first.rc}): {first.stderr}")
        result.problems += [f"after the kill: {p}" for p in check_invariants(home)]
        rerun = run_capstone(args, home, extra_env=wl.extra_env)
        left = describe_processes(home_processes(home))
        if left:  # the guarantee: a run kills the workers an earlier, killed run left behind
            result.problems.append(f"processes of this home alive after the re-run: {left}")
        if rerun.rc != 0:
            result.problems.append(f"re-run failed ({rerun.rc}): {rerun.stderr.strip()[-600:]}")
            return
        result.problems += [
            f"after the re-run: {p}" for p in check_invariants(home, after_rerun=True)
        ]
        out_dir = home.parent / wl.out_dir if wl.out_dir else None
        result.problems += diff_snapshots(ref.outputs, snapshot(home, out_dir))
        fix = run_capstone(["fsck", "--fix"], home)
        rc, report = fsck_json(home)
        if fix.rc != 0 or rc != 0 or report.get("leftovers"):
            result.problems.append(
                f"fsck --fix did not leave a clean store: {fix.stderr.strip()} {report}"
            )

    def run(self, points: list[KillPoint], only: int | None = None) -> list[PointResult]:
        results = []
        for index, point in enumerate(points):
            if only is not None and index != only:
                continue
            res = self.run_point(index, point)
            status = "ok" if res.ok else "FAIL"
            how = "killed" if res.killed else "finished before the kill"
            self.log(
                f"[{index:3d}] {point.workload:8s} {point.describe():48s} {how:24s} "
                f"{status} ({res.seconds:.1f}s)"
            )
            for problem in res.problems:
                self.log(f"        {problem}")
            results.append(res)
        return results


def fsck_json(home: Path) -> tuple[int, dict[str, object]]:
    """`capstone fsck --json`: (exit code, report)."""
    proc = subprocess.run(
        [PYTHON, "-m", "capstone_cli", "fsck", "--json"],
        env=capstone_env(home),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        report = {"stdout": proc.stdout, "stderr": proc.stderr}
    return proc.returncode, report


FULL_PLAN = {"put": 18, "run": 18, "run-par2": 6, "train": 12}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="default: random, printed")
    parser.add_argument("--kills", type=int, default=50, help="actual kills required")
    parser.add_argument("--only", type=int, default=None, help="replay one point by index")
    parser.add_argument("--workloads", default=",".join(FULL_PLAN), help="comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--markdown", action="store_true", help="progress to stderr, a summary table to stdout"
    )
    opts = parser.parse_args(argv)
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1 << 30)
    progress = sys.stderr if opts.markdown else sys.stdout
    replay = f"python -m tests.reliability.harness --seed {seed}"
    print(f"kill harness: seed {seed} (replay: {replay})", file=progress, flush=True)
    plan = {k: v for k, v in FULL_PLAN.items() if k in opts.workloads.split(",")}
    work = Path(tempfile.mkdtemp(prefix="capstone-kill-"))
    t0 = time.monotonic()
    try:
        harness = Harness(work, full=True, log=lambda s: print(s, file=progress, flush=True))
        points = harness.sample(seed, plan)
        results = harness.run(points, opts.only)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
    killed = sum(r.killed for r in results)
    failed = [r for r in results if not r.ok]
    named = {r.point.fault.rsplit(":", 1)[0] for r in results if r.point.fault and r.killed}
    summary = (
        f"{len(results)} points, {killed} actual kills ({len(named)} distinct named points), "
        f"{len(results) - killed} finished before the kill, {len(failed)} failed, "
        f"{time.monotonic() - t0:.0f}s, seed {seed}"
    )
    if opts.markdown:
        print(markdown_table(results))
        print(f"\n{summary}. Replay: `{replay}`.")
    else:
        print(f"\n{summary}")
    if failed:
        return 1
    if opts.only is None and killed < opts.kills:
        print(f"only {killed} kills, {opts.kills} required", file=sys.stderr)
        return 1
    return 0


def markdown_table(results: list[PointResult]) -> str:
    rows = ["| workload | points | killed (named / timed) | finished first | failed |"]
    rows.append("|---|---|---|---|---|")
    for name in sorted({r.point.workload for r in results}):
        mine = [r for r in results if r.point.workload == name]
        named = sum(r.killed and r.point.fault is not None for r in mine)
        timed = sum(r.killed and r.point.fault is None for r in mine)
        first = sum(not r.killed for r in mine)
        failed = sum(not r.ok for r in mine)
        rows.append(f"| {name} | {len(mine)} | {named} / {timed} | {first} | {failed} |")
    return "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
