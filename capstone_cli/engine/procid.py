"""Process identity that survives pid reuse: a pid plus the process's start time.

A pid alone names a different process once the first one is gone and the kernel hands the
number out again, so anything that outlives a process and later acts on it (killing a worker a
SIGKILLed run left behind, removing a killed put's temporary file) records `(pid, start time)`.
The start time is field 22 of `/proc/<pid>/stat` (clock ticks since boot), fixed when the
process is created and never reused together with its pid.

Reading `/proc/<pid>/stat` of a process that was just spawned costs ~70 us here (it races
the child's exec), a tenth of a whole datum, so a parent that starts a process brackets its
start time instead: `boot_ticks()` (the same clock, `CLOCK_BOOTTIME` in clock ticks, a vDSO
call) read before and after the spawn gives `lo <= start time <= hi`, usually `lo == hi`.

Without `/proc` (not Linux) there is no start time: `start_time` returns None and callers
decide what is safe (orphan killing does nothing; temp-file cleanup falls back to "is the pid
gone", which can only keep a file too long, never remove a live writer's file).
"""

from __future__ import annotations

import os
import time

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
HAVE_PROC = os.path.exists("/proc/self/stat")
_own: tuple[int, int | None] | None = None  # (pid, start time) of this process, once read
_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)
try:
    _NS_PER_TICK = 10**9 // os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):
    _NS_PER_TICK = 10**7


def boot_ticks() -> int | None:
    """Now, in the unit and on the clock of a start time (None where there is no such clock):
    a process created between two calls has `first <= start time <= second`."""
    if _BOOTTIME is None or not HAVE_PROC:
        return None
    return time.clock_gettime_ns(_BOOTTIME) // _NS_PER_TICK  # the kernel truncates too


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (after the parenthesised command name), or None."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | _CLOEXEC)
    except OSError:
        return None
    try:
        data = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    # the command name may hold spaces and parentheses: the fields start after the LAST ')'
    end = data.rfind(b")")
    return data[end + 2 :].decode("ascii", "replace").split() if end >= 0 else None


def identify(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of process `pid`; None: no such process, or no /proc.
    State `Z` is a zombie: exited, not yet reaped by its parent (its pid is not reusable yet)."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    try:
        return fields[0], int(fields[19])  # fields[0] is field 3 (state), [19] is field 22
    except ValueError:
        return None


def group_members(pgids: set[int]) -> list[int]:
    """Live (not zombie) processes whose process group is one of `pgids`: one read of every
    `/proc/<pid>/stat`, so only for rare paths (after a crash)."""
    found: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields is None or len(fields) < 3 or fields[0] == "Z":
            continue
        if fields[2].isdigit() and int(fields[2]) in pgids:  # field 5: process group id
            found.append(int(name))
    return found


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot; None: no such process, or no /proc."""
    found = identify(pid)
    return None if found is None else found[1]


def own_start_time() -> int | None:
    """This process's start time (read once per process; a forked child reads its own)."""
    global _own
    pid = os.getpid()
    if _own is None or _own[0] != pid:
        _own = (pid, start_time(pid))
    return _own[1]


def is_running(pid: int, started: int) -> bool:
    """Whether `pid` is still the process that started at `started` and has not exited
    (a zombie counts as gone)."""
    found = identify(pid)
    return found is not None and found[0] != "Z" and found[1] == started


def pid_exists(pid: int) -> bool:
    """Whether some process has this pid (without /proc: signal 0; EPERM means it exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
