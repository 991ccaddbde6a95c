"""Datum batching: long-lived worker processes fed over Pachyderm's NextDatum gRPC method.

Each worker slot runs a real gRPC server (127.0.0.1, ephemeral port) implementing
`/pachyderm.worker.Worker/NextDatum`, starts `transform.cmd` once with `PPS_WORKER_GRPC_PORT`
pointing at it, and serves datums one by one with Pachyderm's semantics (reference 4.4):
- the response carries the datum's env (`K=V` lines), and with `/pfs` at its literal path
  (`pfsmount`: mount namespace or PRoot) so does `/pfs/.env`, which pachyderm_sdk's
  `batch_datum()` loads after each call. When `/pfs` is rewritten no `.env` is written: the
  SDK's absolute `/pfs/.env` cannot be rewritten, and a file per datum costs a quarter of the
  per-datum budget here;
- the NEXT call reports the previous datum's result: a non-empty `error` is a failed attempt,
  after which the process is killed and restarted;
- a process that exits on its own fails its datum ("user code exited prematurely");
- after the last datum, the pending call is answered CANCELLED and the process is killed.
The scratch root is a fixed path per slot (bound on `/pfs` once, given to PRoot as `/pfs` once
when the worker starts, or cmd's `/pfs` rewritten once), re-populated for every datum: fresh
`<root>/<input name>` dirs and an empty `<root>/out` (PRoot translates by path, so it sees
each datum's new dirs under the same root). The messages are encoded by
`capstone_cli.protocol.nextdatum` (the same wire bytes as pachyderm_sdk, without its import
cost).

Per datum the worker waits on one gRPC round trip (~0.3 ms here) plus what the engine does
between a result and the next offer (collect outputs, re-populate), so the rest is moved out of
that window: a successful result is persisted while the worker already runs the next datum
(`_Slot.flush`). Crash safety therefore reads: a datum's result is committed (one transaction)
before the NEXT datum's result is taken; a killed run loses at most the datum in flight and the
one before it per slot, and the resumed run processes those again (tested with SIGKILL).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc

from capstone_cli.engine import faults, procid
from capstone_cli.engine.datums.listing import Datum
from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run.fanout import fan_out
from capstone_cli.engine.run.logs import Line, split_output
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.executor import (
    DatumResult,
    JobContext,
    Slot,
    command_line,
    datum_vars,
    persist,
)
from capstone_cli.engine.worker.orphans import WorkerRecord
from capstone_cli.engine.worker.outputs import Output, StoredBlob, collect_outputs
from capstone_cli.engine.worker.pfsmount import PROOT
from capstone_cli.engine.worker.pfsproot import forget_loader, start_hidden
from capstone_cli.engine.worker.pfsshim.sitecustomize import ROOT_ENV
from capstone_cli.engine.worker.scratch import remove_tree, rewrite_pfs
from capstone_cli.engine.worker.spawn import TICK_SECONDS, kill_group
from capstone_cli.errors import InvalidNameError
from capstone_cli.protocol.nextdatum import decode_request, encode_response
from capstone_cli.protocol.progress import PROGRESS_ENV

PREMATURE = "user code exited prematurely"


class WorkerEndpoint:
    """The NextDatum server of one worker slot and the hand-over of one datum at a time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.offer_env: list[str] | None = None
        self.offered_at = 0.0
        self.taken = False
        self.result: str | None = None
        self.stopping = False
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.method_handlers_generic_handler(
            "pachyderm.worker.Worker",
            {
                "NextDatum": grpc.unary_unary_rpc_method_handler(
                    self._next_datum,
                    request_deserializer=decode_request,
                    response_serializer=encode_response,
                )
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _next_datum(self, error: str, context: Any) -> list[str]:
        """NextDatumRequest.error in, NextDatumResponse.env out (see `protocol.nextdatum`)."""
        with self.cond:
            if self.taken:
                self.result = error
                self.taken = False
                self.cond.notify_all()
            while self.offer_env is None and not self.stopping:
                if not context.is_active():
                    return []
                self.cond.wait(0.1)
            if self.stopping:
                context.abort(grpc.StatusCode.CANCELLED, "no more datums")
            env, self.offer_env, self.taken = self.offer_env, None, True
        return env or []

    def offer(self, env_lines: list[str]) -> None:
        """Hand one datum to the worker's (pending or next) NextDatum call."""
        with self.cond:
            self.offer_env, self.result = env_lines, None
            self.offered_at = time.monotonic()
            self.cond.notify_all()

    def wait_result(
        self,
        proc: subprocess.Popen[bytes],
        timeout: float | None,
        tick: Callable[[], None] | None = None,
    ) -> str | None:
        """Wait for the offered datum's result: None on success, else the reason. `tick` runs
        every `TICK_SECONDS` meanwhile (without the lock: the worker may report its result)."""
        deadline = None if timeout is None else self.offered_at + timeout
        next_tick = time.monotonic() + TICK_SECONDS
        while True:
            with self.cond:
                while self.result is None:
                    if proc.poll() is not None:
                        self.offer_env, self.taken = None, False
                        return PREMATURE
                    now = time.monotonic()
                    if deadline is not None and now > deadline:
                        self.offer_env, self.taken = None, False
                        return f"datum timed out after {timeout:g}s"
                    if tick is not None and now >= next_tick:
                        break
                    self.cond.wait(0.05)
                else:
                    result, self.result = self.result, None
                    return result or None
            assert tick is not None
            tick()
            next_tick = time.monotonic() + TICK_SECONDS

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.server.stop(0.5)


class _Slot:
    """One worker process slot: its endpoint, fixed scratch root and log files.

    A successful datum's result is persisted while the worker already processes the next datum
    (`flush`, called right after the next offer): its output files are first hard-linked into
    `<root>-held/` (symlinks resolved), since re-populating the root for the next datum empties
    `out/` and replaces the inputs an output may link to.
    """

    def __init__(
        self, ctx: JobContext, index: int, report: Callable[[], None] | None = None
    ) -> None:
        self.ctx = ctx
        self.endpoint: WorkerEndpoint | None = None
        # its launcher serves err_cmd; its progress file is the worker's, one datum at a time
        self.slot = Slot(ctx, f"batch{index}", roots=1, report=report)
        self.scratch = self.slot.roots[0]
        self.root = self.slot.root
        self.pfs = ctx.pfs(self.root)  # fixed for the slot: bound once, on the slot's thread
        # beside the root, not in it: a datum must not see the previous datum's outputs
        self.held = self.root.with_name(self.root.name + "-held")
        self.held.mkdir()
        logs = self.root.with_name(self.root.name + "-logs")
        logs.mkdir()
        self.side_dirs = (self.held, logs)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self.log_fds = {s: os.open(logs / s, flags, 0o600) for s in ("stdout", "stderr")}
        self.offsets = {s: 0 for s in self.log_fds}
        self.record = WorkerRecord(logs)  # the worker's pid, for a runner after a crash
        self.proc: subprocess.Popen[bytes] | None = None
        self.pending: DatumResult | None = None  # finished, not yet persisted

    def start(self) -> tuple[subprocess.Popen[bytes], WorkerEndpoint]:
        """The running process and its endpoint; a new process gets a NEW endpoint (port), so a
        call left pending by a killed process can never take the next process's datum."""
        if self.proc is not None and self.endpoint is not None and self.proc.poll() is None:
            return self.proc, self.endpoint
        self.kill()
        self.endpoint = endpoint = WorkerEndpoint()
        env = dict(self.ctx.base_env)
        env.update(PPS_WORKER_GRPC_PORT=str(endpoint.port), **{ROOT_ENV: str(self.pfs)})
        env[PROGRESS_ENV] = str(self.slot.progress_file)
        t = self.ctx.spec.transform
        cmd, cwd = self.ctx.launch(
            command_line(t.cmd, self.pfs, self.ctx.image_dir),
            self.root,
            self.ctx.working_dir(self.pfs),
        )
        lo = procid.boot_ticks()

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                cmd,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self.log_fds["stdout"],
                stderr=self.log_fds["stderr"],
                start_new_session=True,
            )

        proc = start_hidden(start) if self.ctx.pfs_mode.mode == PROOT else start()
        self.proc = proc
        self.record.started(proc.pid, lo, procid.boot_ticks())
        faults.checkpoint("batching.worker.spawned")
        return proc, endpoint

    def kill(self) -> None:
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        if self.proc is not None:
            kill_group(self.proc.pid)
            self.proc.wait()
            forget_loader(self.proc.pid)  # a PRoot's (none in the other modes)
            self.record.reaped()
            self.proc = None

    def new_lines(self) -> list[Line]:
        """What the worker wrote since the last call (pread: no open/seek per datum)."""
        lines: list[Line] = []
        for stream, fd in self.log_fds.items():
            size = os.fstat(fd).st_size
            start = self.offsets[stream]
            if size > start:
                data = os.pread(fd, size - start, start)
                self.offsets[stream] = start + len(data)
                lines += split_output(data, stream)
        return lines

    def run(
        self, store: Store, datum: Datum, digest: str, emit: Callable[[DatumResult], None]
    ) -> None:
        """Bring a datum to a result; results reach `flush` (and `emit`) in datum order."""
        spec = self.ctx.spec
        result = DatumResult(datum, digest, J.D_FAILED)
        tries = max(1, spec.datum_tries)
        for attempt in range(1, tries + 1):
            result.attempts = attempt
            dl = self.scratch.populate(store, datum, self.ctx.commits)
            result.download_bytes, result.download_seconds = dl.bytes, dl.seconds
            env = dict(datum_vars(datum, self.pfs))
            lines = [f"{k}={v}" for k, v in env.items()]
            if self.ctx.pfs_mode.at_pfs:  # pachyderm_sdk's batch_datum() loads /pfs/.env
                (self.root / ".env").write_text("".join(line + "\n" for line in lines))
            t0 = time.perf_counter()
            try:
                proc, endpoint = self.start()
            except OSError as exc:
                reason: str | None = f"cannot run {spec.transform.cmd[0]!r}: {exc.strerror}"
            else:
                self.slot.clear_progress()  # the previous datum's, if it reported any
                endpoint.offer(lines)
                self.flush(store, emit)  # the previous datum, while the worker runs this one
                reason = endpoint.wait_result(
                    proc, spec.datum_timeout, self.slot.progress_ticker(store, self.ctx)
                )
            result.process_seconds += time.perf_counter() - t0
            if reason is not None:
                self.kill()  # on error the process is killed and restarted
            result.lines.extend(self.new_lines())
            if reason is None:
                try:
                    result.outputs = collect_outputs(self.root / "out", self.scratch.view(self.pfs))
                    result.state = J.D_SUCCESS
                except InvalidNameError as exc:
                    reason = exc.message
                else:
                    self._hold(store, result, emit)
                    return
            result.reason = reason
            note = f"datum {datum.id} failed (attempt {attempt}/{tries}): {reason}"
            result.lines.append(Line(note, "stderr", True))
            if spec.transform.err_cmd and self._recover(env, result):
                break
        else:
            result.state = J.D_FAILED
        self.flush(store, emit)
        persist(store, self.ctx, result)
        emit(result)

    def _hold(self, store: Store, result: DatumResult, emit: Callable[[DatumResult], None]) -> None:
        """Keep a successful result's outputs past the next populate, to persist it later."""
        self.flush(store, emit)
        held: list[Output] = []
        try:
            for i, (path, local) in enumerate(result.outputs):
                if isinstance(local, StoredBlob):  # already in the store
                    held.append((path, local))
                    continue
                dest = self.held / str(i)
                # realpath: os.link's follow_symlinks is not honoured by Linux link(2)
                os.link(os.path.realpath(local), dest)
                held.append((path, dest))
        except OSError:  # e.g. a symlink to another filesystem: persist it now instead
            self._clear_held()
            persist(store, self.ctx, result)
            emit(result)
            return
        result.outputs = held
        self.pending = result

    def flush(self, store: Store, emit: Callable[[DatumResult], None]) -> None:
        """Persist the held result, if any, then drop its held files."""
        result, self.pending = self.pending, None
        if result is None:
            return
        persist(store, self.ctx, result)
        if result.outputs:
            self._clear_held()
        emit(result)

    def _clear_held(self) -> None:
        with os.scandir(self.held) as entries:
            for entry in entries:
                os.unlink(entry.path)

    def _recover(self, datum_env: dict[str, str], result: DatumResult) -> bool:
        t = self.ctx.spec.transform
        env = dict(self.ctx.base_env)
        env.update(datum_env)
        cmd, cwd = self.ctx.launch(
            command_line(t.err_cmd, self.pfs, self.ctx.image_dir),
            self.root,
            self.ctx.working_dir(self.pfs),
        )
        err = self.slot.launcher.run(
            cmd,
            "\n".join(rewrite_pfs(s, self.pfs) for s in t.err_stdin),
            env,
            cwd,
            self.ctx.spec.datum_timeout,
            traced=self.ctx.pfs_mode.mode == PROOT,
        )
        result.lines.extend(err.lines)
        if err.ok:
            result.state, result.outputs = J.D_RECOVERED, []
        return err.ok

    def close(self) -> None:
        self.kill()
        for fd in self.log_fds.values():
            os.close(fd)
        self.record.close()
        for side in self.side_dirs:
            remove_tree(side)
        self.slot.close()


def run_batched(
    ctx: JobContext,
    items: list[tuple[Datum, str]],
    slots: int,
    on_done: Callable[[DatumResult], None],
    on_tick: Callable[[], None] | None = None,
) -> None:
    """Serve `items` through `slots` long-lived worker processes (`on_tick`: as `execute`'s).

    A result is persisted at the latest while the slot's NEXT datum runs, before that datum's
    result is taken: a crash loses at most two datums per slot (the one in flight and the one
    before it), which a resumed run processes again.
    """
    if not items:
        return
    threads = max(1, min(slots, len(items)))

    def slot_main(
        index: int,
        take: Callable[[], tuple[Datum, str] | None],
        emit: Callable[[DatumResult], None],
    ) -> None:
        store = Store(ctx.home)
        slot = _Slot(ctx, index, on_tick if threads == 1 else None)
        try:
            while (item := take()) is not None:
                slot.run(store, item[0], item[1], emit)
            slot.flush(store, emit)
        finally:
            slot.close()
            store.close()

    if threads == 1:  # on this thread: no hand-over of every result to a waiting caller
        pending = iter(items)
        slot_main(0, lambda: next(pending, None), on_done)
        return
    fan_out(items, threads, slot_main, on_done)
