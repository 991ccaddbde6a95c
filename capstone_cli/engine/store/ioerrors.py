"""What a failing disk or a damaged database means to the user: one translation, used everywhere.

SQLite and the filesystem fail with their own exceptions (`sqlite3.OperationalError: database
or disk is full`, `OSError(EIO)`, `sqlite3.DatabaseError: database disk image is malformed`).
Wherever the engine writes (a transaction, a blob file, a job's scratch directory) or a command
reads the database, these become capstone errors that say what happened and what to do: a full
or read-only disk, an I/O error or missing permissions are store-write errors (exit 1); a
database SQLite cannot read is a corrupt store (exit 9) that `capstone fsck` diagnoses. None is
ever "a bug in capstone".
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from capstone_cli.errors import CapstoneError, StoreBusyError, StoreCorruptError, StoreWriteError

FSCK_HINT = "run `capstone fsck` to see what is damaged and what can be saved"
_CORRUPT = ("malformed", "not a database", "file is encrypted", "database corrupt")
_OS_TEXT = {
    errno.ENOSPC: "disk is full",
    errno.EDQUOT: "disk is full",
    errno.EROFS: "readonly",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EIO: "disk i/o error",
}


def is_corrupt(exc: BaseException) -> bool:
    """Whether SQLite says the database file itself is damaged."""
    return isinstance(exc, sqlite3.DatabaseError) and any(w in str(exc).lower() for w in _CORRUPT)


def translate_error(
    exc: sqlite3.Error | OSError, path: Path | None = None, *, committed: bool = False
) -> CapstoneError:
    """The capstone error for a storage failure; `committed`: it came after a COMMIT."""
    text = str(exc).lower()
    if isinstance(exc, OSError):
        text = _OS_TEXT.get(exc.errno or 0, text)
    where = f" ({path})" if path else ""
    kept = (
        "the last step was committed; run the command again to go on"
        if committed
        else "nothing was committed"
    )
    if is_corrupt(exc):
        return StoreCorruptError(
            f"the store is corrupt: {exc}{where}; `capstone fsck` diagnoses it",
            hint=salvage_note(path) if path and path.suffix == ".db" else FSCK_HINT,
        )
    if "locked" in text or "busy" in text:
        return StoreBusyError(
            f"the store is busy: another capstone process is writing{where}",
            hint="wait for it to finish (see `capstone status`) and run the command again",
        )
    if "readonly" in text or "read-only" in text:
        return StoreWriteError(
            f"the store is read-only{where}",
            hint="check the permissions of CAPSTONE_HOME or point it at a writable directory",
        )
    if "full" in text:
        return StoreWriteError(
            f"no space left on the device holding the store{where}",
            hint=f"free some disk space (`capstone repo delete` gives space back); {kept}",
        )
    if "permission denied" in text:
        return StoreWriteError(
            f"cannot write to the store: permission denied{where}",
            hint=f"check the permissions of CAPSTONE_HOME; {kept}",
        )
    if "i/o error" in text:
        return StoreWriteError(
            f"I/O error on the device holding the store{where}",
            hint=f"check the disk (`dmesg`), then `capstone fsck`; {kept}",
        )
    if "unable to open" in text:
        return StoreWriteError(
            f"cannot open the store database{where}",
            hint="check that CAPSTONE_HOME exists and is writable",
        )
    return StoreWriteError(f"store error: {exc}{where}", hint=f"`capstone fsck`; {kept}")


def salvage_note(db_file: Path) -> str:
    """What can be saved from a store whose database is damaged (read from the disk only)."""
    root = db_file.parent / "blobs"
    files = sum(1 for sub in root.glob("??") for _ in sub.iterdir()) if root.exists() else 0
    return (
        f"what can be saved: {files} large file(s) under {root} are intact copies (named by"
        f" their SHA-256); `sqlite3 {db_file} .recover` rebuilds the rows SQLite can"
        " still read (copy the directory aside first)"
    )


@contextmanager
def storage_errors(path: Path | None = None) -> Iterator[None]:
    """Translate SQLite and filesystem errors raised inside the block (see `translate_error`)."""
    try:
        yield
    except (sqlite3.Error, OSError) as exc:
        raise translate_error(exc, path) from exc
