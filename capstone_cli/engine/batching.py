"""Datum batching: long-lived worker processes fed over Pachyderm's NextDatum gRPC method.

Each worker slot runs a real gRPC server (127.0.0.1, ephemeral port) implementing
`/pachyderm.worker.Worker/NextDatum`, starts `transform.cmd` once with `PPS_WORKER_GRPC_PORT`
pointing at it, and serves datums one by one with Pachyderm's semantics (reference 4.4):
- the response carries the datum's env (`K=V` lines). No `.env` file is written: the SDK
  reads the absolute `/pfs/.env`, which a rewritten root can never be, and writing a file per
  datum costs a quarter of the per-datum budget here;
- the NEXT call reports the previous datum's result: a non-empty `error` is a failed attempt,
  after which the process is killed and restarted;
- a process that exits on its own fails its datum ("user code exited prematurely");
- after the last datum, the pending call is answered CANCELLED and the process is killed.
The scratch root is a fixed path per slot (cmd's `/pfs` is rewritten once), re-populated for
every datum: fresh `<root>/<input name>` dirs and an empty `<root>/out`.
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
from pachyderm_sdk.api.worker import NextDatumRequest, NextDatumResponse

from capstone_cli.engine import jobs as J
from capstone_cli.engine.datums import Datum
from capstone_cli.engine.executor import (
    DatumResult,
    JobContext,
    command_line,
    datum_vars,
    kill_group,
    persist,
    run_process,
    slot_root,
)
from capstone_cli.engine.fanout import fan_out
from capstone_cli.engine.logs import Line, split_output
from capstone_cli.engine.scratch import collect_outputs
from capstone_cli.engine.store import Store
from capstone_cli.errors import InvalidNameError

PREMATURE = "user code exited prematurely"


class WorkerEndpoint:
    """The NextDatum server of one worker slot and the hand-over of one datum at a time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.offer: list[str] | None = None
        self.taken = False
        self.result: str | None = None
        self.stopping = False
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.method_handlers_generic_handler(
            "pachyderm.worker.Worker",
            {
                "NextDatum": grpc.unary_unary_rpc_method_handler(
                    self._next_datum,
                    request_deserializer=lambda b: NextDatumRequest().parse(b),
                    response_serializer=bytes,
                )
            },
        )
        self.server.add_generic_rpc_handlers((handler,))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def _next_datum(self, request: NextDatumRequest, context: Any) -> NextDatumResponse:
        with self.cond:
            if self.taken:
                self.result = request.error
                self.taken = False
                self.cond.notify_all()
            while self.offer is None and not self.stopping:
                if not context.is_active():
                    return NextDatumResponse()
                self.cond.wait(0.1)
            if self.stopping:
                context.abort(grpc.StatusCode.CANCELLED, "no more datums")
            env, self.offer, self.taken = self.offer, None, True
        return NextDatumResponse(env=env or [])

    def serve(
        self, env_lines: list[str], proc: subprocess.Popen[bytes], timeout: float | None
    ) -> str | None:
        """Offer one datum and wait for its result: None on success, else the reason."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.cond:
            self.offer, self.result = env_lines, None
            self.cond.notify_all()
            while self.result is None:
                if proc.poll() is not None:
                    self.offer, self.taken = None, False
                    return PREMATURE
                if deadline is not None and time.monotonic() > deadline:
                    self.offer, self.taken = None, False
                    return f"datum timed out after {timeout:g}s"
                self.cond.wait(0.05)
            result, self.result = self.result, None
        return result or None

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.server.stop(0.5)


class _Slot:
    """One worker process slot: its endpoint, fixed scratch root and log files."""

    def __init__(self, ctx: JobContext, index: int) -> None:
        self.ctx = ctx
        self.endpoint: WorkerEndpoint | None = None
        self.scratch = slot_root(ctx, f"batch{index}")
        self.root = self.scratch.path
        for stream in ("stdout", "stderr"):
            (self.root / ".scratch" / stream).touch()
        self.log_paths = {s: self.root / ".scratch" / s for s in ("stdout", "stderr")}
        self.offsets = {s: 0 for s in self.log_paths}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> tuple[subprocess.Popen[bytes], WorkerEndpoint]:
        """The running process and its endpoint; a new process gets a NEW endpoint (port), so a
        call left pending by a killed process can never take the next process's datum."""
        if self.proc is not None and self.endpoint is not None and self.proc.poll() is None:
            return self.proc, self.endpoint
        self.kill()
        self.endpoint = endpoint = WorkerEndpoint()
        env = dict(self.ctx.base_env)
        env.update(PPS_WORKER_GRPC_PORT=str(endpoint.port), CAPSTONE_PFS_ROOT=str(self.root))
        t = self.ctx.spec.transform
        cwd = t.working_dir or os.getcwd()
        with (
            open(self.log_paths["stdout"], "ab") as out,
            open(self.log_paths["stderr"], "ab") as err,
        ):
            self.proc = subprocess.Popen(
                command_line(t.cmd, self.root),
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        return self.proc, endpoint

    def kill(self) -> None:
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None
        if self.proc is not None:
            kill_group(self.proc.pid)
            self.proc.wait()
            self.proc = None

    def new_lines(self) -> list[Line]:
        lines: list[Line] = []
        for stream, path in self.log_paths.items():
            with open(path, "rb") as f:
                f.seek(self.offsets[stream])
                data = f.read()
            self.offsets[stream] += len(data)
            lines += split_output(data, stream)
        return lines

    def prepare(self, store: Store, datum: Datum) -> tuple[int, float]:
        dl = self.scratch.populate(store, datum, self.ctx.commits)
        return dl.bytes, dl.seconds

    def run(self, store: Store, datum: Datum, digest: str) -> DatumResult:
        _ctx, spec = self.ctx, self.ctx.spec
        result = DatumResult(datum, digest, J.D_FAILED)
        tries = max(1, spec.datum_tries)
        for attempt in range(1, tries + 1):
            result.attempts = attempt
            result.download_bytes, result.download_seconds = self.prepare(store, datum)
            env = dict(datum_vars(datum, self.root))
            lines = [f"{k}={v}" for k, v in env.items()]
            t0 = time.perf_counter()
            try:
                proc, endpoint = self.start()
            except OSError as exc:
                reason: str | None = f"cannot run {spec.transform.cmd[0]!r}: {exc.strerror}"
            else:
                reason = endpoint.serve(lines, proc, spec.datum_timeout)
            result.process_seconds += time.perf_counter() - t0
            if reason is not None:
                self.kill()  # on error the process is killed and restarted
            result.lines.extend(self.new_lines())
            if reason is None:
                try:
                    result.outputs = collect_outputs(self.root / "out")
                    result.state = J.D_SUCCESS
                    return result
                except InvalidNameError as exc:
                    reason = exc.message
            result.reason = reason
            note = f"datum {datum.id} failed (attempt {attempt}/{tries}): {reason}"
            result.lines.append(Line(note, "stderr", True))
            if spec.transform.err_cmd and self._recover(env, result):
                return result
        result.state = J.D_FAILED
        return result

    def _recover(self, datum_env: dict[str, str], result: DatumResult) -> bool:
        t = self.ctx.spec.transform
        env = dict(self.ctx.base_env)
        env.update(datum_env)
        err = run_process(
            command_line(t.err_cmd, self.root),
            "\n".join(t.err_stdin),
            env,
            os.getcwd(),
            self.ctx.spec.datum_timeout,
            self.root / ".scratch-err",
        )
        result.lines.extend(err.lines)
        if err.ok:
            result.state, result.outputs = J.D_RECOVERED, []
        return err.ok

    def close(self) -> None:
        self.kill()
        self.scratch.close()


def run_batched(
    ctx: JobContext,
    items: list[tuple[Datum, str]],
    slots: int,
    on_done: Callable[[DatumResult], None],
) -> None:
    """Serve `items` through `slots` long-lived worker processes; each result persists at once."""
    if not items:
        return

    def slot_main(
        index: int,
        take: Callable[[], tuple[Datum, str] | None],
        emit: Callable[[DatumResult], None],
    ) -> None:
        store = Store(ctx.home)
        slot = _Slot(ctx, index)
        try:
            while (item := take()) is not None:
                result = slot.run(store, item[0], item[1])
                persist(store, ctx, result)
                emit(result)
        finally:
            slot.close()
            store.close()

    fan_out(items, max(1, min(slots, len(items))), slot_main, on_done)
