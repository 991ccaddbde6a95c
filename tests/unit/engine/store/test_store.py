"""The versioned store: commits, atomicity, names, concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from capstone_cli.engine.names import clean_file_path
from capstone_cli.engine.store.blobs import INLINE_MAX
from capstone_cli.engine.store.records import NewFile
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import ConflictError, InvalidNameError, NotFoundError


def read(store: Store, repo: str, ref: str, path: str) -> bytes:
    return b"".join(store.read_file(store.resolve(repo, ref), path))


def test_commits_chain_and_trees_are_immutable(store: Store) -> None:
    c1 = store.put_files("r", "master", [NewFile("/a.txt", b"one"), NewFile("/d/b", b"two")])
    c2 = store.put_files("r", "master", [NewFile("/a.txt", b"ONE")], delete_paths=["/d"])
    assert read(store, "r", c1.id, "/a.txt") == b"one"
    assert read(store, "r", c1.id, "/d/b") == b"two"
    assert read(store, "r", "master", "/a.txt") == b"ONE"
    assert [e.path for e in store.list_dir(store.resolve("r", "master"))] == ["/a.txt"]
    assert c2.parent == c1.rowid and c2.parent_id == c1.id
    assert [c.id for c in store.list_commits("r")] == [c2.id, c1.id]


def test_large_blobs_are_files_and_dedupe(store: Store, tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (INLINE_MAX + 10))
    store.put_files("r", "master", [NewFile("/x", source=big), NewFile("/y", source=big)])
    blob_files = [p for p in (store.home / "blobs").rglob("*") if p.is_file()]
    assert len(blob_files) == 1
    assert read(store, "r", "master", "/y") == big.read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/a/../b",
        "/./a",
        "/a*b",
        "/x?",
        "/[a]",
        "/{a}",
        "/a!b",
        "/(x)",
        "/a@b",
        "/a+b",
        "/a^b",
        "/caf\u00e9",
        "/tab\there",
    ],
)
def test_invalid_paths_are_refused_and_nothing_is_written(store: Store, path: str) -> None:
    store.put_files("r", "master", [NewFile("/ok", b"1")])
    before = store.head("r").id  # type: ignore[union-attr]
    with pytest.raises(InvalidNameError):
        store.put_files("r", "master", [NewFile("/fine", b"2"), NewFile(path, b"3")])
    assert store.head("r").id == before  # type: ignore[union-attr]
    assert len(store.list_commits("r")) == 1


@pytest.mark.parametrize("name", ["bad name", "a/b", "", "x.y", "é"])
def test_invalid_repo_names(store: Store, name: str) -> None:
    with pytest.raises(InvalidNameError):
        store.create_repo(name)
    assert store.list_repos() == []


def test_clean_path_normalises() -> None:
    assert clean_file_path("a//b/") == "/a/b"
    assert clean_file_path("/") == "/"


def test_file_directory_collision_is_refused(store: Store) -> None:
    store.put_files("r", "master", [NewFile("/a", b"file")])
    with pytest.raises(ConflictError, match="collision"):
        store.put_files("r", "master", [NewFile("/a/b", b"x")])
    assert read(store, "r", "master", "/a") == b"file"


def test_resolve_errors(store: Store) -> None:
    store.create_repo("r")
    with pytest.raises(NotFoundError, match="no commits"):
        store.resolve("r", "master")
    with pytest.raises(NotFoundError):
        store.get_repo("nope")


def test_walk_lists_dirs_with_hashes(store: Store) -> None:
    store.put_files(
        "r", "master", [NewFile("/a/1", b"x"), NewFile("/a/2", b"y"), NewFile("/b", b"z")]
    )
    infos = list(store.walk("r", "master"))
    assert [(f.path, f.is_dir) for f in infos] == [
        ("/", True),
        ("/a/", True),
        ("/a/1", False),
        ("/a/2", False),
        ("/b", False),
    ]
    store.put_files("r", "master", [NewFile("/a/2", b"changed")])
    after = {f.path: f.hash for f in store.walk("r", "master")}
    assert after["/a/"] != infos[1].hash and after["/b"] == infos[4].hash


def test_concurrent_writers_both_land(capstone_home: Path) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with Store(capstone_home) as s:
                s.put_files("r", "master", [NewFile(f"/w{n}/{i}", b"%d" % i) for i in range(500)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    Store(capstone_home).close()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Store(capstone_home) as s:
        head = s.resolve("r", "master")
        assert {e.path for e in s.list_dir(head)} == {"/w0", "/w1"}
        assert len(s.list_commits("r")) == 2


def test_skip_unchanged_makes_no_commit(store: Store) -> None:
    files = [NewFile("/a", b"1"), NewFile("/b", b"2")]
    first = store.put_files("r", "master", files)
    again = store.put_files("r", "master", files, delete_paths=["/"], skip_unchanged=True)
    assert again.id == first.id and len(store.list_commits("r")) == 1
    changed = store.put_files("r", "master", [NewFile("/b", b"3")], skip_unchanged=True)
    assert changed.id != first.id
