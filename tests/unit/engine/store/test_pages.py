"""Keyset-paged directory listing: the pages, joined, are `Store.list_dir` in pachd's order."""

from __future__ import annotations

import pytest

from capstone_cli.engine.store.pages import UNKNOWN_SIZE, list_dir_page
from capstone_cli.engine.store.store import NewFile, Store

FILES = [
    "/a.txt",
    "/d/x/1",
    "/d/x/2",
    "/d/x.txt",  # sorts between the /d/x/ subtree's siblings: '.' < '/'
    "/d/x0",  # the first path past the /d/x/ subtree
    "/d/y/deep/er/z",
    "/d/z.txt",
    "/e",
]


def walk_pages(store: Store, path: str, limit: int) -> list[tuple[str, str]]:
    commit = store.resolve("r", "master")
    out, after = [], ""
    while True:
        page = list_dir_page(store.db, commit.rowid, path, after, limit)
        assert page is not None
        assert len(page.entries) <= limit
        out += [(e.path, e.type) for e in page.entries]
        if page.next_after is None:
            return out
        after = page.next_after


@pytest.mark.parametrize("limit", [1, 2, 3, 100])
@pytest.mark.parametrize("path", ["/", "/d", "/d/x", "/d/y"])
def test_pages_equal_list_dir(store: Store, path: str, limit: int) -> None:
    store.put_files("r", "master", [NewFile(p, p.encode()) for p in FILES])
    entries = store.list_dir(store.resolve("r", "master"), path)
    # pachd's order: a directory sorts as `name/`, so `/d/x.txt` precedes the directory `/d/x`
    ordered = sorted(entries, key=lambda e: e.path + ("/" if e.type == "dir" else ""))
    expected = [(e.path, e.type) for e in ordered]
    assert walk_pages(store, path, limit) == expected


def test_file_path_missing_path_and_sizes(store: Store) -> None:
    store.put_files("r", "master", [NewFile(p, p.encode()) for p in FILES])
    commit = store.resolve("r", "master")
    page = list_dir_page(store.db, commit.rowid, "/d/z.txt")
    assert page is not None and [(e.path, e.type, e.size) for e in page.entries] == [
        ("/d/z.txt", "file", len("/d/z.txt"))
    ]
    assert list_dir_page(store.db, commit.rowid, "/nope") is None
    # directory totals come from the dircache once a walk has cached them, never summed here
    root = list_dir_page(store.db, commit.rowid, "/")
    assert root is not None and {e.size for e in root.entries if e.type == "dir"} == {UNKNOWN_SIZE}
    list(store.walk("r", "master"))  # fills the cache
    cached = list_dir_page(store.db, commit.rowid, "/")
    assert cached is not None
    sizes = {e.path: e.size for e in cached.entries}
    assert sizes["/d"] == sum(len(p) for p in FILES if p.startswith("/d/"))
