"""Projects in the store: the same repo name in two projects is two repos; `default` holds
every repo of a store made before projects existed; an empty project alone is deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.engine.names import RepoRef, key_of, ref_of
from capstone_cli.engine.run import runner
from capstone_cli.engine.run.pipelines import create_pipeline
from capstone_cli.engine.store.records import NewFile
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import ConflictError, InvalidNameError, NotFoundError
from capstone_cli.specs.parse import parse_spec


@pytest.mark.parametrize(
    ("text", "project", "ref", "key"),
    [
        ("edges", "default", RepoRef("default", "edges"), "edges"),
        ("edges", "staging", RepoRef("staging", "edges"), "staging/edges"),
        ("staging/edges", "default", RepoRef("staging", "edges"), "staging/edges"),
        ("default/edges", "staging", RepoRef("default", "edges"), "edges"),
    ],
)
def test_refs_and_keys(text: str, project: str, ref: RepoRef, key: str) -> None:
    assert ref_of(text, project) == ref == RepoRef.parse(text, project)
    assert key_of(text, project) == ref.key == key
    assert str(ref) == f"{ref.project}/{ref.name}"


@pytest.mark.parametrize("text", ["a/b/c", "bad name/x", "x/bad name", "/x", "x/"])
def test_bad_refs(text: str) -> None:
    with pytest.raises(InvalidNameError):
        RepoRef.parse(text)


def test_same_name_in_two_projects_is_two_repos(store: Store) -> None:
    store.create_project("staging", description="for tests")
    store.put_files("edges", "master", [NewFile("/a", b"default")])
    store.put_files(RepoRef("staging", "edges"), "master", [NewFile("/a", b"staging")])
    read = {
        ref: b"".join(store.read_file(store.resolve(ref, "master"), "/a"))
        for ref in (RepoRef("default", "edges"), RepoRef("staging", "edges"))
    }
    assert read == {
        RepoRef("default", "edges"): b"default",
        RepoRef("staging", "edges"): b"staging",
    }
    assert [r.name for r in store.list_repos(project="default")] == ["edges"]
    assert [r.name for r in store.list_repos(project="staging")] == ["staging/edges"]
    assert store.get_repo("staging/edges").ref == RepoRef("staging", "edges")
    assert [(p.name, p.description) for p in store.list_projects()] == [
        ("default", ""),
        ("staging", "for tests"),
    ]


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda s: s.create_repo(RepoRef("nope", "r")), NotFoundError),
        (
            lambda s: s.put_files(RepoRef("nope", "r"), "master", [NewFile("/a", b"1")]),
            NotFoundError,
        ),
        (lambda s: s.create_project("bad name"), InvalidNameError),
        (lambda s: s.create_project("default"), ConflictError),
        (lambda s: s.delete_project("default"), ConflictError),
        (lambda s: s.delete_project("nope"), NotFoundError),
        (lambda s: s.get_project("nope"), NotFoundError),
    ],
)
def test_refusals(store: Store, action: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        action(store)  # type: ignore[operator]
    assert store.list_repos(include_hidden=True) == []
    assert [p.name for p in store.list_projects()] == ["default"]


def test_delete_project_only_when_empty(store: Store) -> None:
    store.create_project("p")
    store.create_repo(RepoRef("p", "r"))
    with pytest.raises(ConflictError, match="p/r"):
        store.delete_project("p")
    store.delete_repo(RepoRef("p", "r"))
    store.delete_project("p")
    assert [p.name for p in store.list_projects()] == ["default"]


def test_pipeline_in_a_project_reads_that_projects_repo(store: Store) -> None:
    store.create_project("p")
    store.put_files("data", "master", [NewFile("/x", b"default")])
    store.put_files(RepoRef("p", "data"), "master", [NewFile("/x", b"project p")])
    doc = {
        "pipeline": {"name": "copy", "project": {"name": "p"}},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["sh", "-c", "cp /pfs/data/x /pfs/out/x"]},
    }
    spec = parse_spec(doc, "copy.json")
    assert (spec.key, spec.input.repo_key) == ("p/copy", "p/data")  # type: ignore[union-attr]
    create_pipeline(store, spec)
    runner.run_pending(store)
    head = store.head(RepoRef("p", "copy"))
    assert head is not None
    assert b"".join(store.read_file(head, "/x")) == b"project p"
    assert store.list_repos(project="default")[0].name == "data"  # no `copy` in default


def test_an_older_store_migrates_into_default(capstone_home: Path) -> None:
    with Store(capstone_home) as old:
        old.put_files("r", "master", [NewFile("/a", b"1")])
        with old.transaction():  # the store as it was before projects
            old.db.execute("DROP TABLE projects")
            old.db.execute("DELETE FROM _migrations WHERE name='m005_projects'")
    with Store(capstone_home) as store:
        assert [p.name for p in store.list_projects()] == ["default"]
        assert [r.ref for r in store.list_repos(project="default")] == [RepoRef("default", "r")]
        assert store.project_repo_names("default") == ["r"]
