"""Starting a user process, waiting for it, and capturing its output, in few system calls.

A no-op datum's budget over a bare `subprocess.run` is a few hundred microseconds, and each
open/close/mkdir costs ~10-50 us here, so a worker slot's `Launcher` opens its capture files
ONCE and truncates them per attempt, instead of creating a directory and four files per datum.

Processes start with `os.posix_spawn` (glibc: clone(CLONE_VM|CLONE_VFORK), ~0.09 ms less per
process than `subprocess.Popen`, measured) in a new session, so the process is the leader of its
own process group. `Popen`'s other duties are done explicitly: the executable is looked up on the
CHILD's `PATH` (once per slot, not per datum: `Popen` makes the child try every `PATH` entry),
SIGPIPE/SIGXFSZ are reset to their defaults (`restore_signals`), and nothing but stdin, stdout
and stderr is inherited (`close_fds`: descriptors this process inherited itself are listed once
per slot and closed in the child; every descriptor Python, SQLite and gRPC open is
close-on-exec; a test checks what the user process sees). A `working_dir` (rare) needs a
chdir, which posix_spawn cannot do portably, so that case uses `Popen`.

`Launcher.run` waits WITHOUT reaping (`waitid(WNOWAIT)`, or a pidfd when there is a timeout),
kills the whole process group while the exited leader is still a zombie (so its pid, which is
the group id, cannot have been reused), then reaps it. Stray children never outlive their datum,
and a timeout is noticed at once instead of by `Popen.wait`'s sleep-and-poll loop.

A process run under PRoot (`traced`, proot mode) is started by `pfsproot.start_hidden`, and
ends when PRoot's child, the datum's command, exits: `pfsproot.TraceeWatch` then kills its
strays, which PRoot would wait for.

While a process runs, the slot's `orphans.WorkerRecord` (a file beside the capture files) holds
its pid and start time, so the next runner can kill it if this one is SIGKILLed meanwhile.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from capstone_cli.engine import faults, procid
from capstone_cli.engine.run.logs import Line, split_output
from capstone_cli.engine.worker.orphans import WorkerRecord
from capstone_cli.engine.worker.pfsproot import TraceeWatch, forget_loader, start_hidden

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WAITID = hasattr(os, "waitid") and hasattr(os, "WNOWAIT")
# the fast path is Linux-only (setsid support, /proc/self/fd); elsewhere Popen does it all
_POSIX_SPAWN = sys.platform.startswith("linux") and hasattr(os, "posix_spawn") and _WAITID
# what `Popen(restore_signals=True)` resets: Python itself ignores these
_RESTORE_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGPIPE", "SIGXFZ", "SIGXFSZ") if hasattr(signal, name)
)


@dataclass
class ProcessResult:
    ok: bool
    reason: str
    lines: list[Line]
    seconds: float


class Launcher:
    """A worker slot's process starter: capture files opened once, executables looked up once.

    stdout/stderr are files (not pipes, which would need a reader thread per process) that are
    truncated before every attempt and read back after it.
    """

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | os.O_TRUNC | _CLOEXEC
        self.dir = directory
        self.stdout = os.open(directory / "stdout", flags, 0o600)
        self.stderr = os.open(directory / "stderr", flags, 0o600)
        self.record = WorkerRecord(directory)
        self._stdin: tuple[str, int] | None = None  # (text, fd of a file holding it)
        self._devnull: int | None = None
        self._exe: dict[tuple[str, str | None], str | None] = {}
        self._written = True  # whether the capture files may hold bytes
        self._close = (
            [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()] if _POSIX_SPAWN else []
        )

    def run(
        self,
        cmd: list[str],
        stdin: str,
        env: dict[str, str],
        cwd: str | None,
        timeout: float | None,
        accept: tuple[int, ...] = (),
        on_start: Callable[[], None] | None = None,
        tick: Callable[[], None] | None = None,
        traced: bool = False,
    ) -> ProcessResult:
        """Run one attempt in a fresh process group (`cwd` None: this process's directory).

        `on_start` runs while the process runs (the caller's chance to overlap its own work);
        `tick` runs every `TICK_SECONDS` while it still runs (e.g. to read its progress);
        `traced`: `cmd` is PRoot's, and the attempt ends with the command PRoot runs.
        """
        if self._written:
            for fd in (self.stdout, self.stderr):
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
            self._written = False
        t0 = time.perf_counter()
        limit = timeout
        lo = procid.boot_ticks()
        try:
            stdin_fd = self._stdin_fd(stdin)
            if traced:
                child = start_hidden(lambda: self._start(cmd, stdin_fd, env, cwd))
                child.watch = TraceeWatch(child.pid)
            else:
                child = self._start(cmd, stdin_fd, env, cwd)
        except OSError as exc:
            return ProcessResult(False, f"cannot run {cmd[0]!r}: {exc.strerror}", [], 0.0)
        exited = False
        try:
            self.record.started(child.pid, lo, procid.boot_ticks())
            faults.checkpoint("executor.datum.spawned")
            if on_start is not None:
                on_start()
                if timeout is not None:
                    timeout = max(0.0, timeout - (time.perf_counter() - t0))
            exited = _wait(child, timeout, tick)
        finally:
            kill_group(child.pid)
            rc = child.reap()
            if traced and not exited:  # PRoot itself was killed (it cleans up when it exits)
                forget_loader(child.pid)
            self.record.reaped()
        seconds = time.perf_counter() - t0
        ok = exited and (rc == 0 or rc in accept)
        if not exited:
            reason = f"datum timed out after {limit:g}s"
        elif not ok:
            reason = f"user code exited with code {rc}"
        else:
            reason = ""
        return ProcessResult(ok, reason, self.lines(), seconds)

    def lines(self) -> list[Line]:
        """What the last attempt wrote: stdout lines, then stderr lines."""
        out, err = _read(self.stdout), _read(self.stderr)
        self._written = bool(out or err)
        return split_output(out, "stdout") + split_output(err, "stderr")

    def _start(self, cmd: list[str], stdin: int, env: dict[str, str], cwd: str | None) -> _Child:
        # with a cwd, Popen looks a relative executable up from there: leave it to Popen
        exe = self._executable(cmd[0], env.get("PATH")) if cwd is None else None
        if cwd is None and _POSIX_SPAWN and exe is not None and min(stdin, self.stdout) > 2:
            pid = os.posix_spawn(
                exe,
                cmd,
                env,
                file_actions=[
                    *self._close,
                    (os.POSIX_SPAWN_DUP2, stdin, 0),
                    (os.POSIX_SPAWN_DUP2, self.stdout, 1),
                    (os.POSIX_SPAWN_DUP2, self.stderr, 2),
                ],
                setsid=True,
                setsigdef=_RESTORE_SIGNALS,
            )
            return _Child(pid)
        proc = subprocess.Popen(
            cmd,
            executable=exe,
            env=env,
            cwd=cwd,
            stdin=stdin,
            stdout=self.stdout,
            stderr=self.stderr,
            start_new_session=True,
        )
        return _Child(proc.pid, proc)

    def _executable(self, name: str, path: str | None) -> str | None:
        """`name` looked up as exec*p would, on the child's PATH; None: let Popen report it."""
        key = (name, path)
        if key not in self._exe:
            found = shutil.which(name, path=path if path is not None else os.defpath)
            self._exe[key] = os.path.abspath(found) if found else None
        return self._exe[key]

    def _stdin_fd(self, text: str) -> int:
        """A descriptor at offset 0 for the child's stdin: /dev/null, or a file with `text`."""
        if not text:
            if self._devnull is None:
                self._devnull = os.open(os.devnull, os.O_RDONLY | _CLOEXEC)
            return self._devnull
        if self._stdin is None or self._stdin[0] != text:
            if self._stdin is not None:
                os.close(self._stdin[1])
                self._stdin = None
            path = self.dir / "stdin"
            path.write_text(text)
            self._stdin = (text, os.open(path, os.O_RDONLY | _CLOEXEC))
        os.lseek(self._stdin[1], 0, os.SEEK_SET)
        return self._stdin[1]

    def close(self) -> None:
        stdin = self._stdin[1] if self._stdin else None
        for fd in (self.stdout, self.stderr, self._devnull, stdin):
            if fd is not None:
                os.close(fd)
        self.record.close()
        self._stdin = self._devnull = None


class _Child:
    """A started process, by pid; `proc` when Popen started it (Popen must reap its own)."""

    def __init__(self, pid: int, proc: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.proc = proc
        self.watch: TraceeWatch | None = None

    def wait_exit(self, timeout: float | None) -> bool:
        """Wait until the process exits, WITHOUT reaping it; False when `timeout` passed."""
        if self.watch is not None and _WAITID:
            return self.watch.wait(timeout)
        if not _WAITID:  # cannot wait without reaping: reap, then the group is killed after
            assert self.proc is not None  # no posix_spawn without waitid
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        if timeout is None:
            os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT)
            return True
        try:
            fd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):  # no pidfds (old kernel, not Linux): poll
            return self._poll_exit(timeout)
        try:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(max(0.0, timeout) * 1000))
        finally:
            os.close(fd)

    def _poll_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        delay = 0.0005
        while True:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            if info is not None:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.05)

    def reap(self) -> int:
        """Collect the exit status (a negative signal number when killed, as Popen reports)."""
        if self.proc is not None:
            return self.proc.wait()
        _pid, status = os.waitpid(self.pid, 0)
        return os.waitstatus_to_exitcode(status)


TICK_SECONDS = 0.5


def _wait(child: _Child, timeout: float | None, tick: Callable[[], None] | None) -> bool:
    """`child.wait_exit(timeout)`, waking every `TICK_SECONDS` to call `tick`."""
    if tick is None:
        return child.wait_exit(timeout)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        step = TICK_SECONDS
        if deadline is not None:
            step = min(step, max(0.0, deadline - time.monotonic()))
        if child.wait_exit(step):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        tick()


def _inherited_fds() -> list[int]:
    """Descriptors above 2 that a child would inherit: this process got them from its parent
    (a shell, make's jobserver, a CI runner); Python, SQLite and gRPC open everything else
    close-on-exec. `Popen(close_fds=True)` closes them in the child, and so do we."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = [str(fd) for fd in range(3, 256)]
    fds = []
    for name in names:
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                fds.append(fd)
        except OSError:
            continue  # closed meanwhile (e.g. the descriptor listdir used)
    return fds


def _read(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
