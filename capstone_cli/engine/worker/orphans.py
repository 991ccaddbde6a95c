"""Worker process groups recorded under CAPSTONE_HOME, so a later run can kill what a killed
run left behind.

Datum processes run in their own session (`spawn`, `batching`): killing the `capstone` process,
or its process group, does not reach them, and a SIGKILLed run's workers would keep running
(and writing into its scratch dirs) until they finish. Pachyderm's pods die with their worker;
here every worker slot keeps ONE small record file in its scratch dir (`worker.pgid`, opened
once per slot) that holds `<pid> <lo> <hi>` while the slot's process runs (its start time,
field 22 of `/proc/<pid>/stat`, lies in [lo, hi]: `procid.boot_ticks()` read around the spawn)
and is blanked when the process is reaped: two `pwrite`s of 32 bytes per process, ~2 us (an
`ftruncate` cost 8 us, reading the child's `/proc/<pid>/stat` right after the spawn ~70 us).

A runner that takes the run lock removes the scratch dirs of killed runs (`scratch.
clean_orphans`, also `fsck --fix`); before that, `kill_orphans` SIGKILLs each recorded group
whose leader is still the recorded process (same pid AND a start time within the recorded
bracket: a reused pid is never killed, since a pid is handed out again only after the kernel
went through all others), and waits briefly until every process of the group is dead, so
nothing writes into a dir being removed.

Limits, by design: a process killed between its spawn and its record (a few microseconds) is
not recorded; stray children whose group leader already exited and was reaped are not found
(the group's id can then no longer be checked against a start time); without `/proc` (not
Linux) nothing is recorded and nothing is killed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable
from pathlib import Path

from capstone_cli.engine import procid
from capstone_cli.engine.worker.pfsproot import forget_loader

RECORD = "worker.pgid"
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WIDTH = 48  # fixed-width records: a new one always overwrites the whole previous one
_BLANK = b" " * (_WIDTH - 1) + b"\n"


class WorkerRecord:
    """A slot's record file: `<pid> <lo> <hi>` while its process runs, blank otherwise.

    Recording is best effort: a failure to write the record (disk full) must not fail the
    datum; it only means that this process would not be found after a crash.
    """

    def __init__(self, directory: Path) -> None:
        self.fd = os.open(directory / RECORD, os.O_RDWR | os.O_CREAT | os.O_TRUNC | _CLOEXEC, 0o600)
        self._set = False

    def started(self, pid: int, lo: int | None, hi: int | None) -> None:
        """Record the group led by `pid` (a process started in its own session), created
        between the `procid.boot_ticks()` readings `lo` and `hi`."""
        if lo is None or hi is None:  # no /proc: nothing could be checked before a kill
            return
        try:
            os.pwrite(self.fd, f"{pid} {lo} {hi}".ljust(_WIDTH - 1).encode() + b"\n", 0)
            self._set = True
        except OSError:
            pass

    def reaped(self) -> None:
        """The recorded process was reaped: forget it."""
        if self._set:
            try:
                os.pwrite(self.fd, _BLANK, 0)
                self._set = False
            except OSError:
                pass  # a stale record is harmless: the start time no longer matches

    def close(self) -> None:
        os.close(self.fd)


def read_record(directory: Path) -> tuple[int, int, int] | None:
    """(pid, lo, hi) recorded in `directory`, or None (no record, blank, or garbled)."""
    try:
        text = (directory / RECORD).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    parts = text.split()
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    pid, lo, hi = (int(p) for p in parts)
    return (pid, lo, hi) if pid > 1 and lo <= hi else None


def kill_orphans(directories: Iterable[Path], wait: float = 2.0) -> list[int]:
    """SIGKILL the process groups recorded in `directories` that still run; returns their
    group ids. Waits (up to `wait` seconds) until no process of those groups runs."""
    if not procid.HAVE_PROC:
        return []
    killed: list[int] = []
    for directory in directories:
        record = read_record(directory)
        if record is None:
            continue
        pid, lo, hi = record
        found = procid.identify(pid)
        # a zombie leader still matches: its pid is not reusable, and its group may hold strays
        if found is None or not lo <= found[1] <= hi or pid == os.getpgrp():
            continue
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        killed.append(pid)
    deadline = time.monotonic() + wait
    # a process in the middle of a system call finishes it before dying: wait for all of them
    while killed and procid.group_members(set(killed)) and time.monotonic() < deadline:
        time.sleep(0.005)
    for pid in killed:  # a group led by PRoot (proot mode) leaves its loader file
        forget_loader(pid)
    return killed
