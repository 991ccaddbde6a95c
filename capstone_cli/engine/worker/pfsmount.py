"""`/pfs` at its literal path: a private mount namespace per worker thread, or path rewriting.

In a Pachyderm worker, user code reads `/pfs/<input name>/...` and writes `/pfs/out`. Here each
worker slot runs on its own thread; on Linux with CAP_SYS_ADMIN that thread leaves the
process's mount namespace once (`unshare(CLONE_NEWNS)`, which Linux allows per thread, as Go's
runtime does on a locked OS thread), makes its mounts private, and bind-mounts the datum's
scratch root onto `/pfs`. Every process the thread starts (posix_spawn, Popen) inherits that
namespace, so `/pfs` literals, `find -L /pfs`, globs and symlinks into `/pfs` work unmodified,
at the cost of one mount(2) per datum (~10 us) instead of a fork+exec of a wrapper.

Crash safety: nothing is mounted in the machine's namespace (only the empty mount point `/pfs`
is created once, if missing); a namespace dies with the last process in it, so a SIGKILLed run
leaves no mount behind, and its datum processes are killed by `orphans` as before.

Where this is impossible (not Linux, no CAP_SYS_ADMIN, no `/pfs` mount point and no right to
create one), the next best is `proot` (`pfsproot`): each datum process runs under PRoot, which
shows the scratch root at `/pfs` by translating paths in user space, C code included, at a cost
per system call. Where PRoot is missing or does not work either, or `CAPSTONE_PFS_MODE=rewrite`
asks for it, the mode is `rewrite`: `/pfs` at the start of a word in `cmd`, `stdin` and
`working_dir` is rewritten to the scratch root (`scratch.rewrite_pfs`), and Python processes get
the `pfsshim` on their PYTHONPATH, which maps the `/pfs` paths Python code builds itself; other
programs that build `/pfs` paths (and C extensions opening paths themselves) then do not find
them. `CAPSTONE_PFS_MODE=proot` skips the mount namespace. Either fallback is told to the caller
once per invocation (`on_fallback`), and each job's log says which mode it runs in.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from capstone_cli.engine.worker.pfsproot import INSTALL_HINT, find_proot

PFS = Path("/pfs")
_PFS_B = b"/pfs"
MODE_ENV = "CAPSTONE_PFS_MODE"
LITERAL = "literal"
PROOT = "proot"
REWRITE = "rewrite"

_CLONE_NEWNS = 0x00020000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18
_MNT_DETACH = 2


@dataclass(frozen=True)
class PfsMode:
    """How datum processes see `/pfs`; `reason` says why the mode is not `literal`;
    `proot`: the PRoot executable in mode `proot`."""

    mode: str
    reason: str = ""
    proot: str = ""

    @property
    def at_pfs(self) -> bool:
        """Whether datum processes find their files at `/pfs` itself (no rewriting)."""
        return self.mode != REWRITE

    def describe(self) -> str:
        """One line: how datum processes see `/pfs`, and why when not at its literal path."""
        if self.mode == LITERAL:
            return "/pfs: literal (a private mount namespace per worker)"
        if self.mode == PROOT:
            return f"/pfs: through proot (ptrace path translation, {self.proot}): {self.reason}"
        return f"/pfs: rewritten to a scratch dir ({self.reason})"

    def to_json(self) -> dict[str, str]:
        return {"mode": self.mode, "reason": self.reason}


class _Thread(threading.local):
    unshared = False
    bound: str | None = None


_THREAD = _Thread()
_FALLBACK: list[Callable[[PfsMode], None]] = []  # at most one listener, until told


def on_fallback(listener: Callable[[PfsMode], None] | None) -> None:
    """Call `listener` once, when the next job runs in a fallback mode (None: nobody)."""
    _FALLBACK[:] = [listener] if listener is not None else []


def announce_fallback(mode: PfsMode) -> None:
    """A job is about to run in the `proot` or `rewrite` mode: tell the listener, once."""
    if mode.mode != LITERAL:
        try:
            listener = _FALLBACK.pop()  # atomic: parallel jobs tell it once
        except IndexError:
            return
        listener(mode)


def pfs_mode() -> PfsMode:
    """The mode of this process: `CAPSTONE_PFS_MODE` (`rewrite`, `proot`) if set, else the
    best the OS allows: `literal`, else `proot`, else `rewrite`."""
    wanted = os.environ.get(MODE_ENV, "").strip().lower()
    if wanted == REWRITE:
        return PfsMode(REWRITE, f"{MODE_ENV}=rewrite")
    found = _probe() if wanted != PROOT else PfsMode(REWRITE, f"{MODE_ENV}=proot")
    if found.mode == LITERAL:
        return found
    proot, why_not = find_proot()
    if proot is not None:
        return PfsMode(PROOT, found.reason, proot)
    return PfsMode(REWRITE, f"{found.reason}; {why_not}: {INSTALL_HINT} for C programs")


@cache
def _probe() -> PfsMode:
    """Try the whole mechanism once, on a throwaway thread (its namespace dies with it)."""
    if not sys.platform.startswith("linux"):
        return PfsMode(REWRITE, f"no mount namespaces on {sys.platform}")
    reason: list[str] = []

    def attempt() -> None:
        try:
            with tempfile.TemporaryDirectory(prefix="capstone-pfs-probe-") as probe:
                bind_pfs(Path(probe))
                if not (PFS / ".").samefile(probe):
                    reason.append("the bind mount on /pfs is not visible")
        except OSError as exc:
            reason.append(str(exc))

    thread = threading.Thread(target=attempt, name="capstone-pfs-probe")
    thread.start()
    thread.join()
    return PfsMode(REWRITE, reason[0]) if reason else PfsMode(LITERAL)


@cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def bind_pfs(root: Path) -> None:
    """Make `/pfs` show `root` for this thread and the processes it starts from now on."""
    target = str(root)
    if _THREAD.bound == target:
        return
    libc = _libc()
    if not _THREAD.unshared:
        if not PFS.is_dir():
            try:
                PFS.mkdir(mode=0o755)
            except OSError as exc:
                raise OSError(
                    exc.errno, f"cannot create the mount point /pfs: {exc.strerror}"
                ) from exc
        _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        _THREAD.unshared = True
        # private: the bind mounts below must not propagate to the machine's namespace
        _check(
            libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /"
        )
    if _THREAD.bound is not None:
        libc.umount2(_PFS_B, _MNT_DETACH)
        _THREAD.bound = None
    _check(libc.mount(target.encode(), _PFS_B, None, _MS_BIND, None), f"bind {target} on /pfs")
    _THREAD.bound = target


def unbind_pfs() -> None:
    """Drop this thread's `/pfs` bind (the scratch root is about to be removed)."""
    if _THREAD.bound is not None:
        _libc().umount2(_PFS_B, _MNT_DETACH)
        _THREAD.bound = None


def datum_pfs(root: Path, at_pfs: bool) -> Path:
    """The path a datum's process knows its scratch root by."""
    return PFS if at_pfs else root
