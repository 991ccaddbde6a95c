"""Store walks over cached directory entries: identical to `walk_tree`, cached once per commit."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from capstone_cli.engine.datums.listing import list_datums
from capstone_cli.engine.inputs import FileInfo, JoinInput, PfsInput
from capstone_cli.engine.store import dircache
from capstone_cli.engine.store.records import Commit, NewFile
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.store.tree import walk_tree
from capstone_cli.errors import NotFoundError

NESTED = {
    "/a-b": b"dash sorts before slash",
    "/a/y": b"3",
    "/a/z/w": b"45",
    "/a/z/v/deep/er/file": b"deep",
    "/a/z/x": b"",
    "/a0": b"zero sorts after slash",
    "/b/x": b"12",
    "/b/y/1": b"same",
    "/b/y/2": b"same",
    "/c": b"top-level file",
    "/a b/~x": b"space and tilde",
    "/A/x": b"upper case sorts first",
}


def reference(store: Store, commit: Commit) -> list[FileInfo]:
    """What `Store.walk` yielded before the cache: `walk_tree` over every file row."""
    return list(walk_tree((p, d, s) for p, d, s, _ in store.iter_files(commit, "/")))


def depth(info: FileInfo) -> int:
    return info.path.rstrip("/").count("/")


def cached_rows(store: Store, commit: Commit) -> int:
    """How many directories the cache holds for `commit` (0: not cached)."""
    chunks = dircache.load(store.db, commit.rowid)
    return sum(len(chunk) for chunk in chunks) if chunks else 0


@pytest.mark.parametrize(
    "files",
    [
        NESTED,
        {"/only": b"one file at the root"},
        {f"/test.tsv/{i:016x}": b"chunk %d" % i for i in range(40)},
        {f"/{i:04x}/{j}.npy": b"f%d" % (i * 5 + j) for i in range(12) for j in range(5)},
    ],
    ids=["nested", "root-file", "chunks", "feature-dirs"],
)
def test_walk_equals_walk_tree_at_every_depth(store: Store, files: dict[str, bytes]) -> None:
    store.put_files("r", "master", [NewFile(p, d) for p, d in files.items()])
    head = store.resolve("r", "master")
    expected = reference(store, head)
    assert cached_rows(store, head) == 0
    assert list(store.walk("r", "master")) == expected  # cold: fills the cache
    dirs = [f for f in expected if f.is_dir]
    assert cached_rows(store, head) == len(dirs)
    assert list(store.walk("r", "master")) == expected  # warm: read back from the cache
    for max_depth in range(8):
        limited = list(store.walk_to_depth("r", "master", max_depth))
        assert limited == [f for f in expected if depth(f) <= max_depth], max_depth


def test_depth_limited_walk_fills_the_cache_too(store: Store) -> None:
    store.put_files("r", "master", [NewFile(p, d) for p, d in NESTED.items()])
    head = store.resolve("r", "master")
    expected = reference(store, head)
    assert list(store.walk_to_depth("r", "master", 1)) == [f for f in expected if depth(f) <= 1]
    assert cached_rows(store, head) == sum(f.is_dir for f in expected)


def test_every_commit_keeps_its_own_hashes(store: Store) -> None:
    c1 = store.put_files("r", "master", [NewFile(p, d) for p, d in NESTED.items()])
    before = list(store.walk("r", "master"))
    c2 = store.put_files("r", "master", [NewFile("/a/z/w", b"changed")], delete_paths=["/b"])
    after = list(store.walk("r", "master"))
    assert after == reference(store, c2)
    assert list(store.walk_commit(c1)) == before == reference(store, c1)
    changed = {f.path for f in after} ^ {f.path for f in before}
    assert "/b/" in changed
    old, new = ({f.path: f.hash for f in walk} for walk in (before, after))
    assert old["/a/z/"] != new["/a/z/"] and old["/a/"] != new["/a/"]
    assert old["/c"] == new["/c"]


def test_empty_repo_and_empty_commit(store: Store) -> None:
    store.create_repo("empty")
    root_of_nothing = FileInfo("/", True, hashlib.sha256(b"").hexdigest(), 0)
    assert list(store.walk("empty", "master")) == [root_of_nothing]
    assert list(store.walk_to_depth("empty", "master", 3)) == [root_of_nothing]
    store.put_files("r", "master", [NewFile("/a/b", b"x")])
    emptied = store.put_files("r", "master", [], delete_paths=["/"])
    assert list(store.walk("r", "master")) == reference(store, emptied) == list(walk_tree([]))
    assert list(store.walk_to_depth("r", "master", 1)) == list(walk_tree([]))


def test_missing_repo_or_branch_raises_at_the_call(store: Store) -> None:
    store.create_repo("r")
    with pytest.raises(NotFoundError):
        store.walk_to_depth("r", "dev", 1)
    with pytest.raises(NotFoundError):
        store.walk("nope", "master")


def test_open_commit_is_walked_but_not_cached(store: Store) -> None:
    store.create_repo("r")
    with store.transaction():
        commit = store.start_commit("r")
        store.write_file_rows(commit.rowid, [("/d/f", hashlib.sha256(b"x").digest(), 1, "")])
        walked = list(store.walk_commit(store.commit_by_rowid(commit.rowid)))
        assert walked == reference(store, commit)
        assert cached_rows(store, commit) == 0
        store.write_file_rows(commit.rowid, [("/d/g", hashlib.sha256(b"y").digest(), 1, "")])
        assert list(store.walk_commit(commit)) == reference(store, commit) != walked


def test_walk_inside_a_transaction_caches_with_it(store: Store) -> None:
    head = store.put_files("r", "master", [NewFile(p, d) for p, d in NESTED.items()])
    with pytest.raises(RuntimeError), store.transaction():
        assert list(store.walk("r", "master")) == reference(store, head)
        assert cached_rows(store, head) > 0
        raise RuntimeError("roll back")
    assert cached_rows(store, head) == 0  # rolled back together with the caller's work
    assert list(store.walk("r", "master")) == reference(store, head)
    assert cached_rows(store, head) > 0


def test_busy_store_walks_without_waiting_or_caching(capstone_home: Path) -> None:
    with Store(capstone_home) as store:
        head = store.put_files("r", "master", [NewFile(p, d) for p, d in NESTED.items()])
        expected = reference(store, head)
    writer = sqlite3.connect(capstone_home / "store.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with Store(capstone_home) as store:
            assert list(store.walk("r", "master")) == expected
            assert cached_rows(store, head) == 0
            timeout = store.db.execute("PRAGMA busy_timeout").fetchone()[0]
            assert timeout >= 1000  # restored after the attempt
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    with Store(capstone_home) as store:
        assert list(store.walk("r", "master")) == expected
        assert cached_rows(store, head) == len([f for f in expected if f.is_dir])


def test_deleting_a_repo_removes_its_cache_rows(store: Store) -> None:
    store.put_files("r", "master", [NewFile(p, d) for p, d in NESTED.items()])
    store.put_files("r", "master", [NewFile("/new", b"n")])
    store.put_files("keep", "master", [NewFile("/k/x", b"k")])
    for repo in ("r", "keep"):
        list(store.walk(repo, "master"))
    kept = store.resolve("keep", "master")
    store.delete_repo("r")
    rows = store.db.execute("SELECT DISTINCT commit_id FROM dir_cache").fetchall()
    assert rows == [(kept.rowid,)]


def test_build_hashes_children_in_path_order() -> None:
    digest = {name: hashlib.sha256(name.encode()).digest() for name in ("1", "2", "3")}
    files = [("/a/1", digest["1"], 1), ("/a/b/2", digest["2"], 2), ("/c", digest["3"], 3)]
    dirs = dircache.build(files)
    inner = hashlib.blake2b(digest["2"], digest_size=32).digest()
    outer = hashlib.blake2b(digest["1"] + inner, digest_size=32).digest()
    root = hashlib.blake2b(outer + digest["3"], digest_size=32).digest()
    expected = [("/", root.hex(), 6), ("/a/", outer.hex(), 3), ("/a/b/", inner.hex(), 2)]
    assert list(dirs.entries(None)) == expected
    assert (list(dirs.depths), list(dirs.files)) == ([0, 1, 2], [1, 1, 1])
    assert dirs.holders(1) == ["/"] and dirs.holders(2) == ["/", "/a/"]


def test_large_listings_are_stored_in_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dircache, "CHUNK", 4)
    files = [NewFile(f"/d{i:02d}/{j}", b"%d.%d" % (i, j)) for i in range(10) for j in range(2)]
    head = store.put_files("r", "master", [*files, NewFile("/top", b"t")])
    expected = reference(store, head)
    assert list(store.walk("r", "master")) == expected  # cold
    rows = store.db.execute("SELECT COUNT(*) FROM dir_cache WHERE commit_id=?", (head.rowid,))
    assert rows.fetchone()[0] == 3  # 11 directories
    assert list(store.walk("r", "master")) == expected  # warm, from 3 chunks
    assert list(store.walk_to_depth("r", "master", 1)) == [f for f in expected if depth(f) <= 1]


def test_datums_from_the_store_match_a_full_walk(store: Store) -> None:
    """Depth-limited listing gives the datums the full walk gives (join of the tutorial)."""
    store.put_files("rawdata", "master", [NewFile(f"/t.tsv/{i:04x}", b"%d" % i) for i in range(30)])
    store.put_files(
        "features",
        "master",
        [
            NewFile(f"/{i:04x}/{j}.npy", b"%d.%d" % (i, j))
            for i in range(0, 30, 2)
            for j in range(3)
        ],
    )
    join = JoinInput(
        (
            PfsInput(repo="features", glob="/(*)", join_on="$1"),
            PfsInput(repo="rawdata", glob="/*/(*)", join_on="$1"),
        )
    )

    class FullWalk:
        """The same store without the depth-limited fast path."""

        def walk(self, repo: str, branch: str) -> list[FileInfo]:
            return reference(store, store.resolve(repo, branch))

        def head_commit(self, repo: str, branch: str) -> str | None:
            return store.head_commit(repo, branch)

    fast = list_datums(join, store)
    assert fast == list_datums(join, FullWalk())
    assert len(fast) == 15
    for glob in ("/", "/*", "/*/*", "/**"):
        node = PfsInput(repo="features", glob=glob)
        assert list_datums(node, store) == list_datums(node, FullWalk()), glob


def test_many_file_holding_dirs_are_read_in_one_filtered_scan(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = [NewFile(f"/d{i}/x/{j}", b"%d.%d" % (i, j)) for i in range(5) for j in range(2)]
    files += [NewFile(f"/d{i}/f", b"%d" % i) for i in range(5)]
    head = store.put_files("r", "master", files)
    expected = reference(store, head)
    for max_ranges in (256, 1):  # one range query per /dN/, then a single scan of everything
        monkeypatch.setattr(dircache, "MAX_RANGES", max_ranges)
        for max_depth in (2, 3):
            limited = list(store.walk_to_depth("r", "master", max_depth))
            assert limited == [f for f in expected if depth(f) <= max_depth]
