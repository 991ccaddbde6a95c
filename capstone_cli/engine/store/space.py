"""Disk space: deletes that work on a full disk, and space given back after them.

A full disk must not stop the user from freeing it, yet in WAL mode even a DELETE appends to
`store.db-wal` first. Every writable store therefore keeps `reserve`, a small file of zeros
(created when space allows): a delete that fails for lack of space releases it and tries once
more, and the reserve is recreated afterwards. Deleted data gives its space back at once: the
blobs no file row refers to any more are removed (rows and files), freed database pages are
returned to the filesystem (`auto_vacuum=INCREMENTAL`, set on every new store) and the WAL is
truncated.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from capstone_cli.engine.store import db as dbmod
from capstone_cli.engine.store.blobs import BlobStore
from capstone_cli.errors import StoreWriteError

RESERVE = "reserve"
RESERVE_BYTES = 4 << 20
T = TypeVar("T")


def ensure_reserve(home: Path) -> None:
    """Create the reserve file when it is missing and the disk has room (else skip quietly)."""
    path = home / RESERVE
    if path.exists():
        return
    tmp = home / (RESERVE + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def on_full_disk_release_reserve(home: Path, action: Callable[[], T]) -> T:
    """Run a delete; when the disk is full, release the reserve and run it once more."""
    try:
        return action()
    except StoreWriteError as exc:
        if "no space left" not in exc.message or not (home / RESERVE).exists():
            raise
        (home / RESERVE).unlink()
        return action()


def reclaim(db: sqlite3.Connection, blobs: BlobStore, digests: Iterable[bytes]) -> None:
    """Give back the space of `digests` that nothing refers to any more, then free pages.

    A blob is kept while a file row or a staged datum output refers to it; the check and the
    delete are one transaction, so a concurrent put that reuses the blob either lands before
    (and keeps it) or after (and writes it again).
    """
    candidates = list(digests)
    with dbmod.transaction(db):
        gone = [
            d
            for d in candidates
            if not db.execute(
                "SELECT EXISTS(SELECT 1 FROM files WHERE blob=?) OR "
                "EXISTS(SELECT 1 FROM datum_outputs WHERE blob=?)",
                (d, d),
            ).fetchone()[0]
        ]
        db.executemany("DELETE FROM blobs WHERE hash=?", [(d,) for d in gone])
        for digest in gone:
            blobs.path_of(digest).unlink(missing_ok=True)
    give_back_pages(db)


def give_back_pages(db: sqlite3.Connection) -> None:
    """Return free database pages to the filesystem and truncate the WAL (best effort)."""
    with contextlib.suppress(sqlite3.Error):
        # one page per step, and `execute` steps a pragma without result columns only once
        db.executescript("PRAGMA incremental_vacuum;")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
