"""`/pfs` at its literal path through PRoot, where no mount namespace can be had.

Without CAP_SYS_ADMIN (a laptop user, a container without it) `pfsmount` cannot bind the
scratch root on `/pfs`, and the `rewrite` fallback reaches only the `/pfs` words of the spec and
the paths Python code builds: a C program that opens a `/pfs` path it built itself (OpenCV's
`cv2.imread` on walked paths, `find`, `montage` given a glob) does not find it. PRoot
(https://proot-me.github.io, Debian package `proot`) translates paths in user space: it
ptrace()s the process and every process it starts, and rewrites the path arguments of their
system calls, so `proot -b <scratch root>:/pfs CMD` shows the scratch root at `/pfs` to CMD and
to all its descendants, C code included. It needs no root, no user namespaces and no setup.

PRoot 5.1 (Debian 12's) does not know `statx(2)`, which coreutils' `ls`, `stat`, `cp` call: its
path would reach the kernel untranslated. So PRoot is started (`start_hidden`) from a
short-lived thread that first installs on itself a seccomp filter answering `statx` with ENOSYS
(a filter is per thread and inherited by the processes it starts): glibc's `statx()` then falls
back to `fstatat`, which PRoot translates. The engine's own threads never get the filter, nor
the no_new_privs bit it needs; a thread costs ~0.1 ms per datum, PRoot ~4 ms.

Costs and limits, measured in benchmarks/RESULTS.md: every system call of a datum process
stops in the tracer (a datum that starts a Python interpreter pays ~tens of ms more). PRoot
waits for all the processes it traces, so a datum that leaves a background child running would
end only when that child does; elsewhere the datum ends when its process exits and the child is
killed with its group. `TraceeWatch` gives the same here: it waits for PRoot's own child (the
datum's command), then kills the rest of the group but PRoot, which then exits with the
command's exit status (a child that left the group with `setsid` is not found: PRoot, and so
the datum, waits for it, up to the datum's timeout).

Crash safety: PRoot is the process the engine starts in a new session, so it leads the datum's
process group, the one `orphans` records and kills (its tracees are in that group). PRoot 5.1
extracts its loader to `/tmp/prooted-<its pid>-*` (~9 KB, no setting moves it) and removes it
when it exits, not when killed: whoever kills a PRoot group removes it (`forget_loader`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

from capstone_cli.engine import procid

INSTALL_HINT = "install proot (Debian/Ubuntu: apt-get install proot)"
T = TypeVar("T")
_PROBE_SECONDS = 20.0


def find_proot() -> tuple[str | None, str]:
    """(absolute path of a working `proot` on this process's PATH, "") or (None, why not)."""
    return _probe(os.environ.get("PATH", os.defpath))


@cache
def _probe(path: str) -> tuple[str | None, str]:
    """Run the whole mechanism once per PATH: `ls` (statx) of a file of a temporary dir bound
    on `/pfs`."""
    exe = shutil.which("proot", path=path)
    if exe is None:
        return None, "proot is not installed (not on PATH)"
    exe = os.path.abspath(exe)
    with tempfile.TemporaryDirectory(prefix="capstone-proot-probe-") as probe:
        Path(probe, "probe").touch()
        argv = wrap(exe, Path(probe), ["ls", "/pfs/probe"], None)
        try:
            done = start_hidden(
                lambda: subprocess.run(
                    argv, capture_output=True, text=True, timeout=_PROBE_SECONDS, check=False
                )
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"{exe} does not work here: {exc}"
    if done.returncode != 0 or done.stdout != "/pfs/probe\n":
        said = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return None, f"{exe} does not work here: {said}"
    return exe, ""


def start_hidden(start: Callable[[], T]) -> T:
    """`start()` (which starts PRoot) on a short-lived thread whose processes get `statx`
    answered with ENOSYS; its exception, if any, is raised here."""
    done: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            _hide_statx()
            done.append(start())
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = threading.Thread(target=run, name="capstone-proot-start")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return done[0]


# seccomp-bpf: if the audit arch is ours and the syscall is statx, fail with ENOSYS
_STATX = {"x86_64": (0xC000003E, 332), "aarch64": (0xC00000B7, 291)}
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def _hide_statx() -> None:
    """Make `statx` fail with ENOSYS for this thread and every process it starts from now on
    (nothing on other architectures, where the need was not checked)."""
    arch = _STATX.get(platform.machine())
    if arch is not None:
        program = (_SockFilter * 6)(
            _SockFilter(0x20, 0, 0, 4),  # load seccomp_data.arch
            _SockFilter(0x15, 0, 3, arch[0]),  # another arch: allow
            _SockFilter(0x20, 0, 0, 0),  # load seccomp_data.nr
            _SockFilter(0x15, 0, 1, arch[1]),  # not statx: allow
            _SockFilter(0x06, 0, 0, 0x00050000 | errno.ENOSYS),  # SECCOMP_RET_ERRNO
            _SockFilter(0x06, 0, 0, 0x7FFF0000),  # SECCOMP_RET_ALLOW
        )
        prog = _SockFprog(len(program), program)
        libc = ctypes.CDLL(None, use_errno=True)
        # no_new_privs: what an unprivileged thread needs to install a filter
        if (
            libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog)) != 0
        ):
            err = ctypes.get_errno()
            raise OSError(err, f"prctl (hiding statx from PRoot): {os.strerror(err)}")


def forget_loader(pid: int) -> None:
    """Remove the loader file a killed PRoot of process id `pid` left (none: nothing)."""
    for left in Path(_LOADER_DIR).glob(f"prooted-{pid}-*"):
        try:
            left.unlink()
        except OSError:
            pass


_LOADER_DIR = "/tmp"  # PRoot 5.1's, fixed at build time


def wrap(proot: str, root: Path, cmd: list[str], cwd: str | None) -> list[str]:
    """`cmd` run under PRoot with `root` at `/pfs`, started in `cwd` (a guest path, so it may be
    under `/pfs`; None: this process's directory). `-v -1`: PRoot's own notices (e.g. "pid N:
    terminated with signal 9") would land in the datum's log; fatal errors still do."""
    argv = [proot, "-v", "-1", "-b", f"{root}:/pfs"]
    if cwd is not None:
        argv += ["-w", cwd]
    return argv + cmd


class TraceeWatch:
    """The end of a datum run under PRoot: its command's exit, not PRoot's (see above).

    `wait(timeout)` may be called again after a timeout (`spawn` wakes up to read progress);
    True once PRoot has exited, so that its group can be killed and it can be reaped. Where
    pidfds (Linux < 5.3) or `/proc/<pid>/task/<tid>/children` are missing it waits for PRoot
    alone.
    """

    def __init__(self, proot_pid: int) -> None:
        self.pid = proot_pid
        self.command_done = False

    def wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            proot = os.pidfd_open(self.pid) if _CHILDREN_LISTED else -1
        except (AttributeError, OSError):
            proot = -1
        if proot < 0:
            return _wait_pid(self.pid, deadline)
        try:
            childless = 0
            while not self.command_done:
                command = self._command()
                if command is None:  # not started yet, or already gone
                    if _poll([proot], 0.001):
                        return True
                    if _past(deadline):
                        return False
                    childless += 1
                    # PRoot childless but not alone in its group: the command left strays
                    # (asked again after the scan: a command forked meanwhile is listed by
                    # then, and must not be taken for a stray)
                    if childless % 50 == 0 and self._strays() and self._command() is None:
                        self.command_done = True
                    continue
                try:
                    fd = os.pidfd_open(command)
                except OSError:  # exited (and reaped by PRoot) meanwhile
                    self.command_done = True
                    break
                try:
                    ready = _poll([proot, fd], _left(deadline))
                finally:
                    os.close(fd)
                if not ready:
                    return False
                if proot in ready:
                    return True
                self.command_done = True
            while not _poll([proot], 0.02):  # PRoot waits for the strays: kill them
                for pid in self._strays():
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                if _past(deadline):
                    return False
            return True
        finally:
            os.close(proot)

    def _strays(self) -> list[int]:
        return [p for p in procid.group_members({self.pid}) if p != self.pid]

    def _command(self) -> int | None:
        """PRoot's child: the datum's command (what it starts are the command's children)."""
        try:
            with os.scandir(f"/proc/{self.pid}/task") as tasks:
                for task in tasks:
                    with open(f"{task.path}/children") as f:
                        found = f.read().split()
                    if found:
                        return int(found[0])
        except (OSError, ValueError):
            pass
        return None


_CHILDREN_LISTED = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _poll(fds: list[int], timeout: float | None) -> list[int]:
    """The pidfds among `fds` whose process exited, waiting up to `timeout` (None: forever)."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return [fd for fd, _ev in poller.poll(None if timeout is None else timeout * 1000)]


def _wait_pid(pid: int, deadline: float | None) -> bool:
    """Without pidfds: wait, without reaping, until `pid` (a child) exits or `deadline`."""
    delay = 0.0005
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG) is None:
        if _past(deadline):
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    return True
