"""Running one datum: scratch layout, environment, user process, outputs, persisted result.

Each attempt gets its slot's scratch root laid out like `/pfs` for this datum alone, runs
`transform.cmd` in a new process group (`spawn`: the whole group is killed on timeout and after
the process exits, so stray children never outlive their datum), and is retried up to
`datum_tries` times. A finished datum's result (state, hash, staged outputs, stats, log lines)
is written in ONE short transaction at once, which is what lets a killed run resume without
re-running it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from capstone_cli.engine import faults
from capstone_cli.engine.datums.listing import Datum
from capstone_cli.engine.images import image_path
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.engine.run import jobs as jobsmod
from capstone_cli.engine.run.logs import Line, write_lines
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.outputs import Output, StoredBlob, collect_outputs
from capstone_cli.engine.worker.pfsmount import (
    LITERAL,
    PROOT,
    REWRITE,
    PfsMode,
    bind_pfs,
    datum_pfs,
    unbind_pfs,
)
from capstone_cli.engine.worker.pfsproot import wrap
from capstone_cli.engine.worker.pfsshim.sitecustomize import ROOT_ENV, SHIM_DIR
from capstone_cli.engine.worker.scratch import (
    Download,
    ScratchRoot,
    remove_tree,
    rewrite_pfs,
    scratch_base,
)
from capstone_cli.engine.worker.spawn import Launcher
from capstone_cli.errors import InvalidNameError, StoreWriteError
from capstone_cli.protocol.progress import PROGRESS_ENV, read_progress

# variables of the runner's own environment that must not leak into user code
_SCRUB = (
    "PPS_WORKER_GRPC_PORT",
    "PACH_DATUM_ID",
    "PACH_JOB_ID",
    "PACH_OUTPUT_COMMIT_ID",
    PROGRESS_ENV,
)

_REWRITE = PfsMode(REWRITE)


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
    pfs_mode: PfsMode = _REWRITE  # how processes see `/pfs` (`pfsmount`)
    image_dir: Path | None = None  # the mapped directory of transform.image (`images`)

    def pfs(self, root: Path) -> Path:
        """Bind `root` on `/pfs` for this thread in literal mode; the path the process uses."""
        if self.pfs_mode.mode == LITERAL:
            bind_pfs(root)
        return datum_pfs(root, self.pfs_mode.at_pfs)

    def launch(self, cmd: list[str], root: Path, cwd: str | None) -> tuple[list[str], str | None]:
        """(command line, directory to start it in) of a process that sees `root` as `/pfs`:
        in proot mode, `cmd` under PRoot, which then also starts it in `cwd` (a path the
        process sees, maybe under `/pfs`), so the engine starts PRoot in its own directory."""
        if self.pfs_mode.mode == PROOT:
            return wrap(self.pfs_mode.proot, root, cmd, cwd), None
        return cmd, cwd

    def working_dir(self, pfs: Path) -> str | None:
        """transform.working_dir (it overrides the image's WORKDIR), else the mapped image's
        directory, else None (the runner's own directory)."""
        t = self.spec.transform
        if t.working_dir:
            return rewrite_pfs(t.working_dir, pfs)
        return str(self.image_dir) if self.image_dir is not None else None


def job_env(spec: PipelineSpec, job_id: str, at_pfs: bool) -> dict[str, str]:
    """The pod-level environment: this process's env, Pachyderm's pod vars, `transform.env`;
    when `/pfs` is rewritten (not `at_pfs`), the `pfsshim` first on PYTHONPATH (Python code
    building `/pfs` paths itself then finds them under `ROOT_ENV`, which each datum sets)."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(
        PPS_PIPELINE_NAME=spec.name,
        PPS_PROJECT_NAME=spec.project,
        PACH_JOB_ID=job_id,
        PACH_OUTPUT_COMMIT_ID=job_id,
        PACH_IN_WORKER="true",
    )
    env.update(spec.transform.env)
    if not at_pfs:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SHIM_DIR), env.get("PYTHONPATH")) if p)
    return env


def datum_vars(datum: Datum, root: Path) -> dict[str, str]:
    """Per-datum variables of reference 4.2, pointing into `root`: `/pfs` when it is at its
    literal path, else the scratch root."""
    env: dict[str, str] = {"PACH_DATUM_ID": datum.id, ROOT_ENV: str(root)}
    for inp in datum.inputs:
        path = inp.file.path.rstrip("/")
        env[inp.name] = str(root / inp.name) + path
        env[f"{inp.name}_COMMIT"] = inp.commit or ""
        if inp.join_on:
            env[f"PACH_DATUM_{inp.name}_JOIN_ON"] = inp.join_on
        if inp.group_by:
            env[f"PACH_DATUM_{inp.name}_GROUP_BY"] = inp.group_by
    return env


def command_line(cmd: tuple[str, ...], root: Path, image: Path | None) -> list[str]:
    """`/pfs` rewritten to `root` (unchanged when literal); an absolute path of a file in the
    mapped `image` directory resolved there (`images.image_path`); `python`/`python3` run as
    this interpreter."""
    args = [rewrite_pfs(image_path(image, a), root) for a in cmd]
    if args and args[0] in ("python", "python3"):
        args[0] = sys.executable
    return args


@dataclass
class DatumResult:
    datum: Datum
    hash: str
    state: str
    reason: str = ""
    attempts: int = 0
    outputs: list[Output] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    download_bytes: int = 0
    download_seconds: float = 0.0
    process_seconds: float = 0.0


class Slot:
    """One worker slot of this run: two fixed scratch roots used in turn, and capture files.

    Everything is created once per slot and reused by every datum the slot runs (creating it
    per datum cost more than the process itself). With two roots, the NEXT datum's inputs are
    laid out while the current datum's process runs (`run_slot`): the current datum's own root
    is never touched while it runs, and a datum's result is still persisted before the next
    datum's process starts.
    """

    def __init__(
        self,
        ctx: JobContext,
        name: str,
        roots: int = 2,
        report: Callable[[], None] | None = None,
    ) -> None:
        base = scratch_base(ctx.home) / f"{os.getpid()}-{ctx.job_seq}-{name}"
        self.roots = [ScratchRoot(base.with_name(base.name + "ab"[i])) for i in range(roots)]
        self.root = self.roots[0].path
        # capture files beside the roots: a datum's /pfs holds its inputs and out/, nothing else
        self.io_dir = base.with_name(base.name + "-io")
        self.launcher = Launcher(self.io_dir)
        # the running datum's advisory progress (`protocol.progress`), polled while it runs;
        # `report` (only on the thread that draws the display) shows a new value at once
        self.progress_file = self.io_dir / "progress"
        self.report = report
        self._turn = 0

    def progress_ticker(self, store: Store, ctx: JobContext) -> Callable[[], None]:
        """A `Launcher.run` tick: copy the progress file onto the job row when they differ
        (another slot's finished datum clears the row's value)."""

        def tick() -> None:
            value = read_progress(self.progress_file)
            changed = value is not None and jobsmod.set_datum_progress(store, ctx.job_seq, value)
            if changed and self.report is not None:
                self.report()

        return tick

    def clear_progress(self) -> None:
        """The datum ended: its file must not leak into the next datum's progress."""
        try:
            os.unlink(self.progress_file)
        except FileNotFoundError:
            pass

    def prepare(self, store: Store, ctx: JobContext, item: tuple[Datum, str]) -> Prepared:
        """Lay out a datum's inputs in the root not used by the datum before it."""
        scratch = self.roots[self._turn]
        self._turn = (self._turn + 1) % len(self.roots)
        download = scratch.populate(store, item[0], ctx.commits)
        faults.checkpoint("executor.datum.populated")
        return Prepared(item[0], item[1], scratch, download)

    def close(self) -> None:
        self.launcher.close()
        remove_tree(self.io_dir)
        unbind_pfs()
        for scratch in self.roots:
            scratch.close()


@dataclass
class Prepared:
    """A datum whose scratch root is laid out for its first attempt."""

    datum: Datum
    hash: str
    scratch: ScratchRoot
    download: Download


def run_slot(
    store: Store,
    ctx: JobContext,
    slot: Slot,
    take: Callable[[], tuple[Datum, str] | None],
    emit: Callable[[DatumResult], None],
) -> None:
    """Run datums from `take` until none is left, preparing each next one while the current
    one's process runs; every result is persisted (and emitted) before the next one starts."""
    first = take()
    ready = slot.prepare(store, ctx, first) if first is not None else None
    while ready is not None:
        current, ready = ready, None
        prefetched = False

        def prefetch() -> None:
            nonlocal ready, prefetched
            if not prefetched:
                prefetched = True
                item = take()
                ready = slot.prepare(store, ctx, item) if item is not None else None

        emit(run_datum(store, ctx, current, slot, prefetch))
        prefetch()  # no attempt started a process: prepare the next datum now


def run_datum(
    store: Store,
    ctx: JobContext,
    prepared: Prepared,
    slot: Slot,
    on_start: Callable[[], None] | None = None,
) -> DatumResult:
    """Run a datum to SUCCESS, RECOVERED or FAILED and persist the result. `on_start` runs
    while the first attempt's process runs."""
    spec, t = ctx.spec, ctx.spec.transform
    datum = prepared.datum
    result = DatumResult(datum, prepared.hash, jobsmod.D_FAILED)
    tries = max(1, spec.datum_tries)
    scratch = prepared.scratch
    root = scratch.path
    pfs = ctx.pfs(root)
    cmd, cwd = ctx.launch(command_line(t.cmd, pfs, ctx.image_dir), root, ctx.working_dir(pfs))
    stdin = "\n".join(rewrite_pfs(s, pfs) for s in t.stdin)
    for attempt in range(1, tries + 1):
        result.attempts = attempt
        if attempt > 1:  # every attempt starts from freshly laid out inputs and an empty out/
            prepared.download = scratch.populate(store, datum, ctx.commits)
            faults.checkpoint("executor.datum.populated")
        result.download_bytes = prepared.download.bytes
        result.download_seconds = prepared.download.seconds
        env = dict(ctx.base_env)
        env.update(datum_vars(datum, pfs))
        env[PROGRESS_ENV] = str(slot.progress_file)
        proc = slot.launcher.run(
            cmd,
            stdin,
            env,
            cwd,
            spec.datum_timeout,
            t.accept_return_code,
            on_start,
            slot.progress_ticker(store, ctx),
            traced=ctx.pfs_mode.mode == PROOT,
        )
        slot.clear_progress()
        on_start = None
        result.process_seconds += proc.seconds
        result.lines.extend(proc.lines)
        if proc.ok:
            try:
                result.outputs = collect_outputs(root / "out", scratch.view(pfs))
                faults.checkpoint("executor.datum.outputs")
                result.state = jobsmod.D_SUCCESS
                persist(store, ctx, result)
                return result
            except InvalidNameError as exc:
                proc.reason = exc.message
        note = f"datum {datum.id} failed (attempt {attempt}/{tries}): {proc.reason}"
        result.lines.append(Line(note, "stderr", True))
        result.reason = proc.reason
        if t.err_cmd:
            err_cmd, err_cwd = ctx.launch(
                command_line(t.err_cmd, pfs, ctx.image_dir), root, ctx.working_dir(pfs)
            )
            err = slot.launcher.run(
                err_cmd,
                "\n".join(rewrite_pfs(s, pfs) for s in t.err_stdin),
                env,
                err_cwd,
                spec.datum_timeout,
                traced=ctx.pfs_mode.mode == PROOT,
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
    """Store output blobs and the datum's row, staged outputs and log lines in ONE transaction;
    nothing when the job was deleted meanwhile (DeleteJob while its datum ran)."""
    t0 = time.perf_counter()
    up_bytes = 0
    d = result.datum
    files = "\n".join(f"{i.name}:{i.file.path}" for i in d.inputs)
    with store.transaction():
        alive = store.db.execute(
            "SELECT 1 FROM jobs WHERE seq=? AND id=?", (ctx.job_seq, ctx.job_id)
        ).fetchone()
        if alive is None:
            return
        rows = []
        for path, local in result.outputs:
            if isinstance(local, StoredBlob):  # a symlink to an `empty_files` input
                digest, size = local.digest, local.size
            else:
                try:
                    digest, size = store.blobs.put_file(local)
                except OSError as exc:
                    raise StoreWriteError(f"cannot read output {local}: {exc.strerror}") from exc
            rows.append((ctx.job_seq, d.id, path, digest, size))
            faults.checkpoint("executor.persist.blob")
            up_bytes += size
        if rows:
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
            "upload_bytes=upload_bytes+?, process_seconds=process_seconds+?, "
            "datum_progress=NULL WHERE seq=?",
            (result.download_bytes, up_bytes, result.process_seconds, ctx.job_seq),
        )
        write_lines(store.db, ctx.spec.key, ctx.job_id, d.id, result.lines)
        faults.checkpoint("executor.persist.rows")
