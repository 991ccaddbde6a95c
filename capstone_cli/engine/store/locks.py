"""The run lock: one runner per store at a time, taken over automatically when it dies.

`fcntl.flock` on `CAPSTONE_HOME/run.lock` is released by the kernel when the holding process
exits or is killed, so a SIGKILLed run never leaves a stale claim behind. The holder's pid is
written into the file for `capstone status` and error messages.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from capstone_cli.errors import StoreBusyError


def lock_path(home: Path) -> Path:
    return home / "run.lock"


def holder_pid(home: Path) -> int | None:
    """The pid written by the current (or last) lock holder, if any."""
    try:
        text = lock_path(home).read_text().strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


def run_in_progress(home: Path) -> bool:
    """Whether another process holds the run lock now (a run is processing jobs)."""
    try:
        fd = os.open(lock_path(home), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


@contextmanager
def run_lock(home: Path, timeout: float | None = None, poll: float = 0.2) -> Iterator[None]:
    """Hold the run lock; waits for another runner (up to `timeout` seconds, None = forever)."""
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path(home), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    pid = holder_pid(home)
                    raise StoreBusyError(
                        f"another capstone run (pid {pid}) is processing jobs in {home}",
                        hint="wait for it to finish, or follow it with `capstone status`",
                    ) from None
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
