"""One page of a directory listing, read in time proportional to the page, not the directory.

`Store.list_dir` reads every file under a path to build its entries, which is right for `ls` but
not for a dashboard showing the first 200 of 660,000 chunks. Here the listing seeks the
`files` primary key (commit_id, path): the files directly under the directory come in path
order from one range query, and a child directory costs one seek past its subtree (every path
below `/d/x/` sorts before `/d/x0`, since '/' < '0'). A page resumes after the last path of the
previous one, so paging is keyset paging: page N costs what page 1 costs.

A child directory's total size comes from the commit's cached directories (`dircache`) when a
walk has cached them; otherwise it is reported as -1 (unknown) rather than summed over what
may be millions of rows.
"""

from __future__ import annotations

import bisect
import itertools
import sqlite3
from array import array
from dataclasses import dataclass

from capstone_cli.engine.names import clean_file_path
from capstone_cli.engine.store import dircache

UNKNOWN_SIZE = -1


@dataclass(frozen=True)
class PageEntry:
    path: str
    type: str  # "file" | "dir"
    size: int  # bytes; UNKNOWN_SIZE for a directory whose total is not cached


@dataclass(frozen=True)
class DirPage:
    entries: list[PageEntry]
    next_after: str | None  # the cursor to pass as `after` for the next page; None on the last


def list_dir_page(
    db: sqlite3.Connection, commit_rowid: int, path: str, after: str = "", limit: int = 200
) -> DirPage | None:
    """Up to `limit` entries directly under `path`, from the cursor `after` ("" = the start).

    Returns None when nothing lies at or under `path` (the caller raises its not-found error);
    a file path gives a page holding the file alone.
    """
    path = clean_file_path(path)
    if path != "/":
        row = db.execute(
            "SELECT size FROM files WHERE commit_id=? AND path=?", (commit_rowid, path)
        ).fetchone()
        if row is not None:
            return DirPage([PageEntry(path, "file", int(row[0]))], None)
    prefix = "/" if path == "/" else path + "/"
    end = prefix[:-1] + "0"
    inclusive, cursor = after[:1] == "=", after[1:]
    if cursor < prefix:
        inclusive, cursor = False, prefix
    sizes = _DirSizes(db, commit_rowid)
    entries: list[PageEntry] = []
    while len(entries) < limit:
        rows = db.execute(
            f"SELECT path, size FROM files WHERE commit_id=? AND path{'>=' if inclusive else '>'}?"
            " AND path<? ORDER BY path LIMIT ?",
            (commit_rowid, cursor, end, limit - len(entries)),
        ).fetchall()
        if not rows:
            break
        for file_path, size in rows:
            head, sep, _rest = file_path[len(prefix) :].partition("/")
            if not sep:
                entries.append(PageEntry(file_path, "file", int(size)))
                inclusive, cursor = False, file_path
                continue
            child = prefix + head
            entries.append(PageEntry(child, "dir", sizes.get(child + "/")))
            inclusive, cursor = True, child + "0"  # past the subtree: seek again from there
            break
    if not entries and not after and path != "/":
        return None
    more = len(entries) == limit and _exists(db, commit_rowid, cursor, inclusive, end)
    return DirPage(entries, ("=" if inclusive else ">") + cursor if more else None)


def _exists(
    db: sqlite3.Connection, commit_rowid: int, cursor: str, inclusive: bool, end: str
) -> bool:
    row = db.execute(
        f"SELECT 1 FROM files WHERE commit_id=? AND path{'>=' if inclusive else '>'}? AND path<?"
        " LIMIT 1",
        (commit_rowid, cursor, end),
    ).fetchone()
    return row is not None


class _DirSizes:
    """Directory sizes from the dircache rows, loaded on first use (never computed here).

    Looked up by binary search over each chunk's path-sorted directories, slicing only the
    paths it compares: a commit with 600,000 directories costs one pass over the lengths."""

    def __init__(self, db: sqlite3.Connection, commit_rowid: int) -> None:
        self._db, self._rowid = db, commit_rowid
        self._chunks: list[tuple[array[int], dircache.Dirs]] | None = None

    def get(self, dir_path: str) -> int:
        if self._chunks is None:
            loaded = dircache.load(self._db, self._rowid) or []
            self._chunks = [
                (array("q", itertools.accumulate(d.lengths, initial=0)), d) for d in loaded
            ]
        for offsets, dirs in self._chunks:

            def path(i: int, text: str = dirs.text, offsets: array[int] = offsets) -> str:
                return text[offsets[i] : offsets[i + 1]]

            i = bisect.bisect_left(range(len(dirs)), dir_path, key=path)
            if i < len(dirs) and path(i) == dir_path:
                return int(dirs.sizes[i])
        return UNKNOWN_SIZE
