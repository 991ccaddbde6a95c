"""Running one datum: scratch layout, environment, user process, outputs, persisted result.

Each attempt gets a fresh scratch root laid out like `/pfs`, runs `transform.cmd` in a new
process group (the whole group is killed on timeout and after the process exits, so stray
children never outlive their datum), and is retried up to `datum_tries` times. A finished datum's
result (state, hash, staged outputs, stats, log lines) is written in ONE short transaction at
once, which is what lets a killed run resume without re-running it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from capstone_cli.engine import jobs as jobsmod
from capstone_cli.engine.datums import Datum
from capstone_cli.engine.logs import Line, split_output, write_lines
from capstone_cli.engine.scratch import (
    ScratchRoot,
    collect_outputs,
    rewrite_pfs,
    scratch_base,
)
from capstone_cli.engine.spec_types import PipelineSpec
from capstone_cli.engine.store import Store
from capstone_cli.errors import InvalidNameError, StoreWriteError

# variables of the runner's own environment that must not leak into user code
_SCRUB = ("PPS_WORKER_GRPC_PORT", "PACH_DATUM_ID", "PACH_JOB_ID", "PACH_OUTPUT_COMMIT_ID")


@dataclass(frozen=True)
class JobContext:
    """What every datum of a job shares."""

    home: Path
    spec: PipelineSpec
    salt: str
    job_id: str
    job_seq: int
    commits: dict[tuple[str, str], int | None]
    base_env: dict[str, str] = field(default_factory=dict)


def job_env(spec: PipelineSpec, job_id: str) -> dict[str, str]:
    """The pod-level environment: this process's env, Pachyderm's pod vars, `transform.env`."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        PPS_PIPELINE_NAME=spec.name,
        PPS_PROJECT_NAME=spec.project,
        PACH_JOB_ID=job_id,
        PACH_OUTPUT_COMMIT_ID=job_id,
        PACH_IN_WORKER="true",
    )
    env.update(spec.transform.env)
    return env


def datum_vars(datum: Datum, root: Path) -> dict[str, str]:
    """Per-datum variables of reference 4.2, pointing into the scratch root."""
    env: dict[str, str] = {"PACH_DATUM_ID": datum.id, "CAPSTONE_PFS_ROOT": str(root)}
    for inp in datum.inputs:
        path = inp.file.path.rstrip("/")
        env[inp.name] = str(root / inp.name) + path
        env[f"{inp.name}_COMMIT"] = inp.commit or ""
        if inp.join_on:
            env[f"PACH_DATUM_{inp.name}_JOIN_ON"] = inp.join_on
        if inp.group_by:
            env[f"PACH_DATUM_{inp.name}_GROUP_BY"] = inp.group_by
    return env


def command_line(cmd: tuple[str, ...], root: Path) -> list[str]:
    """`/pfs` rewritten to the scratch root; `python`/`python3` run as this interpreter."""
    args = [rewrite_pfs(a, root) for a in cmd]
    if args and args[0] in ("python", "python3"):
        args[0] = sys.executable
    return args


@dataclass
class ProcessResult:
    ok: bool
    reason: str
    lines: list[Line]
    seconds: float


def run_process(
    cmd: list[str],
    stdin: str,
    env: dict[str, str],
    cwd: str,
    timeout: float | None,
    logdir: Path,
    accept: tuple[int, ...] = (),
) -> ProcessResult:
    """Run one attempt in a fresh process group; stdout/stderr go to files, then log lines."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logdir / "stdout", logdir / "stderr"
    t0 = time.perf_counter()
    reason = ""
    with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
        stdin_f = None
        if stdin:
            in_path = logdir / "stdin"
            in_path.write_text(stdin)
            stdin_f = open(in_path, "rb")  # noqa: SIM115 - closed below
        try:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=cwd,
                stdin=stdin_f or subprocess.DEVNULL,
                stdout=out_f,
                stderr=err_f,
                start_new_session=True,
            )
        except OSError as exc:
            if stdin_f:
                stdin_f.close()
            return ProcessResult(False, f"cannot run {cmd[0]!r}: {exc.strerror}", [], 0.0)
        try:
            rc: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            reason = f"datum timed out after {timeout:g}s"
        finally:
            kill_group(proc.pid)
            proc.wait()
            if stdin_f:
                stdin_f.close()
    seconds = time.perf_counter() - t0
    lines = split_output(out_path.read_bytes(), "stdout") + split_output(
        err_path.read_bytes(), "stderr"
    )
    ok = rc is not None and (rc == 0 or rc in accept)
    if rc is not None and not ok:
        reason = f"user code exited with code {rc}"
    return ProcessResult(ok, reason, lines, seconds)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class DatumResult:
    datum: Datum
    hash: str
    state: str
    reason: str = ""
    attempts: int = 0
    outputs: list[tuple[str, Path]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    download_bytes: int = 0
    download_seconds: float = 0.0
    process_seconds: float = 0.0


def slot_root(ctx: JobContext, slot: str) -> ScratchRoot:
    """The fixed scratch root of one worker slot of this run."""
    return ScratchRoot(scratch_base(ctx.home) / f"{os.getpid()}-{ctx.job_seq}-{slot}")


def run_datum(
    store: Store, ctx: JobContext, datum: Datum, datum_hash: str, scratch: ScratchRoot
) -> DatumResult:
    """Run a datum to SUCCESS, RECOVERED or FAILED and persist the result."""
    spec, t = ctx.spec, ctx.spec.transform
    result = DatumResult(datum, datum_hash, jobsmod.D_FAILED)
    tries = max(1, spec.datum_tries)
    root = scratch.path
    cwd = rewrite_pfs(t.working_dir, root) if t.working_dir else os.getcwd()
    cmd = command_line(t.cmd, root)
    stdin = "\n".join(rewrite_pfs(s, root) for s in t.stdin)
    for attempt in range(1, tries + 1):
        result.attempts = attempt
        dl = scratch.populate(store, datum, ctx.commits)
        result.download_bytes, result.download_seconds = dl.bytes, dl.seconds
        env = dict(ctx.base_env)
        env.update(datum_vars(datum, root))
        proc = run_process(
            cmd, stdin, env, cwd, spec.datum_timeout, root / ".scratch", t.accept_return_code
        )
        result.process_seconds += proc.seconds
        result.lines.extend(proc.lines)
        if proc.ok:
            try:
                result.outputs = collect_outputs(root / "out")
                result.state = jobsmod.D_SUCCESS
                persist(store, ctx, result)
                return result
            except InvalidNameError as exc:
                proc.reason = exc.message
        note = f"datum {datum.id} failed (attempt {attempt}/{tries}): {proc.reason}"
        result.lines.append(Line(note, "stderr", True))
        result.reason = proc.reason
        if t.err_cmd:
            err = run_process(
                command_line(t.err_cmd, root),
                "\n".join(rewrite_pfs(s, root) for s in t.err_stdin),
                env,
                cwd,
                spec.datum_timeout,
                root / ".scratch",
            )
            result.lines.extend(err.lines)
            if err.ok:
                result.state = jobsmod.D_RECOVERED
                result.outputs = []
                result.lines.append(Line(f"datum {datum.id} recovered", "stdout", True))
                persist(store, ctx, result)
                return result
    result.state = jobsmod.D_FAILED
    persist(store, ctx, result)
    return result


def persist(store: Store, ctx: JobContext, result: DatumResult) -> None:
    """Store output blobs and the datum's row, staged outputs and log lines in ONE transaction."""
    t0 = time.perf_counter()
    up_bytes = 0
    d = result.datum
    files = "\n".join(f"{i.name}:{i.file.path}" for i in d.inputs)
    with store.transaction():
        rows = []
        for path, local in result.outputs:
            try:
                digest, size = store.blobs.put_file(local)
            except OSError as exc:
                raise StoreWriteError(f"cannot read output {local}: {exc.strerror}") from exc
            rows.append((ctx.job_seq, d.id, path, digest, size))
            up_bytes += size
        store.db.executemany(
            "INSERT OR REPLACE INTO datum_outputs(job_seq, datum, path, blob, size) "
            "VALUES(?,?,?,?,?)",
            rows,
        )
        up_s = time.perf_counter() - t0
        store.db.execute(
            "INSERT OR REPLACE INTO job_datums(job_seq, datum, state, hash, files, reason, "
            "attempts, download_seconds, process_seconds, upload_seconds, download_bytes, "
            "upload_bytes) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                ctx.job_seq,
                d.id,
                result.state,
                result.hash,
                files,
                result.reason,
                result.attempts,
                result.download_seconds,
                result.process_seconds,
                up_s,
                result.download_bytes,
                up_bytes,
            ),
        )
        column = {
            jobsmod.D_SUCCESS: "data_processed",
            jobsmod.D_FAILED: "data_failed",
            jobsmod.D_RECOVERED: "data_recovered",
        }[result.state]
        store.db.execute(
            f"UPDATE jobs SET {column}={column}+1, download_bytes=download_bytes+?, "
            "upload_bytes=upload_bytes+?, process_seconds=process_seconds+? WHERE seq=?",
            (result.download_bytes, up_bytes, result.process_seconds, ctx.job_seq),
        )
        write_lines(store.db, ctx.spec.name, ctx.job_id, d.id, result.lines)
