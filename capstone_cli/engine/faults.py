"""Named fault points: crash-consistency and storage-fault tests inject failures here.

`checkpoint("store.commit.before")` marks a place where a crash or an I/O error is interesting.
It does nothing unless `CAPSTONE_FAULT` is set (read once, at import), so production pays one
global lookup per crossing. The variable holds `KIND:POINT[:N]` entries separated by commas;
at the N-th crossing (default 1) of POINT in this process:

- `kill`: the process SIGKILLs itself (a power cut as far as the store is concerned);
- `enospc`, `eio`, `erofs`, `eacces`: the crossing raises `OSError` with that errno, as the
  filesystem would (disk full, I/O error, read-only filesystem, permission denied);
- `count`: nothing happens; every crossing is appended to the file named by
  `CAPSTONE_FAULT_TRACE` (how the kill harness learns which points a command crosses).

A POINT ending in `*` matches every point with that prefix (counted together). Faults are
process-local: worker processes started by a job inherit the variable but cross no points.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from dataclasses import dataclass

from capstone_cli.errors import UsageError

ENV = "CAPSTONE_FAULT"
TRACE_ENV = "CAPSTONE_FAULT_TRACE"

ERRNOS = {
    "enospc": errno.ENOSPC,
    "eio": errno.EIO,
    "erofs": errno.EROFS,
    "eacces": errno.EACCES,
}
KINDS = ("kill", "count", *ERRNOS)


@dataclass
class Fault:
    kind: str
    point: str
    nth: int
    seen: int = 0

    def matches(self, name: str) -> bool:
        if self.point.endswith("*"):
            return name.startswith(self.point[:-1])
        return name == self.point


def parse(text: str) -> list[Fault]:
    """Parse `KIND:POINT[:N],...`; raises ValueError on a malformed entry."""
    faults: list[Fault] = []
    for entry in filter(None, (e.strip() for e in text.split(","))):
        parts = entry.split(":")
        if len(parts) not in (2, 3) or parts[0] not in KINDS or not parts[1]:
            raise ValueError(f"bad {ENV} entry {entry!r}: want KIND:POINT[:N], KIND in {KINDS}")
        nth = int(parts[2]) if len(parts) == 3 else 1
        if nth < 1:
            raise ValueError(f"bad {ENV} entry {entry!r}: N starts at 1")
        faults.append(Fault(parts[0], parts[1], nth))
    return faults


def _from_env() -> tuple[list[Fault] | None, UsageError | None]:
    """The faults configured in the environment, or the usage error of a malformed value.

    The error is raised at the first checkpoint, not at import: the CLI imports this module
    while it registers its commands, where an exception could not become a one-line error.
    """
    try:
        return parse(os.environ.get(ENV, "")) or None, None
    except ValueError as exc:
        hint = f"unset {ENV}, or see capstone_cli/engine/faults.py"
        return [], UsageError(str(exc), hint=hint)


_faults, _error = _from_env()
_trace = os.environ.get(TRACE_ENV, "")
_lock = threading.Lock()


def configure(text: str | None, trace: str = "") -> None:
    """Replace the active faults and trace file (tests that run in-process); None or ""
    disables them."""
    global _faults, _error, _trace
    _faults, _error, _trace = parse(text or "") or None, None, trace


def checkpoint(name: str) -> None:
    """A named point where a configured fault fires (no-op when none is configured)."""
    if _faults is None:
        return
    _cross(name)


def _cross(name: str) -> None:
    assert _faults is not None
    if _error is not None:
        raise _error
    fire: Fault | None = None
    with _lock:
        for fault in _faults:
            if not fault.matches(name):
                continue
            fault.seen += 1
            if fault.kind == "count":
                _record(name)
            elif fault.seen == fault.nth and fire is None:
                fire = fault
    if fire is None:
        return
    if fire.kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    code = ERRNOS[fire.kind]
    raise OSError(code, f"{os.strerror(code)} (injected at {name})")


def _record(name: str) -> None:
    if _trace:
        with open(_trace, "a", encoding="utf-8") as f:
            f.write(name + "\n")
