"""Branches as pachd has them: heads moved with `--head` start the jobs downstream (in the head
commit's commit set), `input.pfs.branch`, `output_branch`, and triggers (size, commits, all,
chains) as `isTriggered` in src/server/pfs/server/master_trigger.go."""

from __future__ import annotations

import pytest

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.run.branches import create_branch, delete_branch, list_branches
from capstone_cli.engine.run.pipelines import create_pipeline
from capstone_cli.engine.run.propagation import on_input_commit
from capstone_cli.engine.run.triggers import parse_size
from capstone_cli.engine.store.records import NewFile, Trigger
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import (
    ConflictError,
    InvalidNameError,
    NotFoundError,
    SpecError,
    UsageError,
)
from tests.unit.engine.run.engine_helpers import make_spec, pfs, tree

COPY = ["sh", "-c", "cp -r /pfs/data/. /pfs/out/"]


def put(store: Store, branch: str, files: dict[str, bytes], repo: str = "data") -> str:
    commit = store.put_files(
        repo,
        branch,
        [NewFile(p, data=d) for p, d in files.items()],
        on_commit=on_input_commit(store),
    )
    return commit.id


def jobs_of(store: Store, pipeline: str) -> list[tuple[str, int]]:
    """(job ID, datums total) of a pipeline's jobs, oldest first."""
    return [(j.id, j.data_total) for j in reversed(J.list_jobs(store, pipeline))]


def heads(store: Store, repo: str = "data") -> dict[str, str | None]:
    return {b.name: b.head for b in list_branches(store, repo)}


def test_deferred_processing_master_moved_to_dev(store: Store) -> None:
    store.create_repo("data")
    create_pipeline(store, make_spec("copy", COPY, pfs("data", "/*", branch="master")))
    first = put(store, "dev", {"/a": b"1"})
    second = put(store, "dev", {"/b": b"2"})
    R.run_pending(store)
    assert [n for _id, n in jobs_of(store, "copy")] == [0]  # only the creation job: dev is deferred
    move = create_branch(store, "data", "master", head="dev")
    assert (move.commit_set, move.pipelines) == (second, ("copy",))
    assert heads(store)["master"] == second
    R.run_pending(store)
    assert jobs_of(store, "copy")[-1] == (second, 2)  # the job ID is the dev commit's ID
    assert tree(store, "copy") == {"/a": b"1", "/b": b"2"}
    again = create_branch(store, "data", "master", head=first)  # back to an older commit
    assert again.commit_set == first
    R.run_pending(store)
    assert tree(store, "copy") == {"/a": b"1"}
    same = create_branch(store, "data", "master", head=first)  # not moved: nothing starts
    assert (same.commit_set, same.pipelines) == (None, ())


def test_output_branch_and_a_pipeline_on_its_master(store: Store) -> None:
    """deferred_processing_plus_transactions: edges_dp writes dev; montage reads master."""
    store.create_repo("data")
    edges = make_spec("edges", COPY, pfs("data", "/*"), outputBranch="dev")
    create_pipeline(store, edges)
    create_pipeline(
        store, make_spec("montage", ["sh", "-c", "ls /pfs/edges > /pfs/out/ls"], pfs("edges", "/"))
    )
    put(store, "master", {"/a": b"1"})
    R.run_pending(store)
    dev = heads(store, "edges")["dev"]
    assert heads(store, "edges")["master"] is None and dev is not None
    assert len(jobs_of(store, "montage")) == 1  # its creation job only
    assert list_branches(store, "edges")[0].provenance == ("data@master",)
    move = create_branch(store, "edges", "master", head="dev")
    R.run_pending(store)
    assert move.commit_set == dev and jobs_of(store, "montage")[-1] == (dev, 1)
    assert tree(store, "montage") == {"/ls": b"a\n"}


def _trigger_case(store: Store, trigger: Trigger, puts: list[dict[str, bytes]]) -> list[bool]:
    """After each put to `staging`, whether `master` (triggered on staging) moved."""
    store.create_repo("data")
    create_branch(store, "data", "master", trigger=trigger)
    moved = []
    for files in puts:
        before = heads(store)["master"]
        put(store, "staging", files)
        moved.append(heads(store)["master"] != before)
    return moved


KB = b"x" * 1000


@pytest.mark.parametrize(
    ("trigger", "puts", "moved"),
    [
        (Trigger("staging", commits=2), [{"/1": b""}] * 5, [False, True, False, True, False]),
        (
            Trigger("staging", size="2KB"),
            [{"/1": KB}, {"/2": KB}, {"/3": KB}],
            [False, True, False],
        ),
        (Trigger("staging", size="1K"), [{"/1": KB * 2}], [True]),
        # any condition fires; with `all`, every one must hold
        (
            Trigger("staging", size="2KB", commits=3),
            [{"/1": KB * 2}, {"/2": b""}],
            [True, False],
        ),
        (
            Trigger("staging", size="2KB", commits=2, all=True),
            [{"/1": KB * 2}, {"/2": b""}, {"/3": KB * 2}, {"/4": KB * 2}],
            [False, True, False, True],
        ),
        (Trigger("staging"), [{"/1": KB}], [False]),  # no condition: never, as pachd
        (Trigger("staging", all=True), [{"/1": KB}, {"/2": KB}], [True, True]),
    ],
)
def test_triggers(
    store: Store, trigger: Trigger, puts: list[dict[str, bytes]], moved: list[bool]
) -> None:
    assert _trigger_case(store, trigger, puts) == moved


def test_a_trigger_chain_and_the_jobs_it_starts(store: Store) -> None:
    store.create_repo("data")
    create_branch(store, "data", "dev", trigger=Trigger("staging", commits=1))
    create_branch(store, "data", "master", trigger=Trigger("dev", commits=2))
    empty = heads(store)["master"]  # a new branch's head: an empty commit, as pachd
    create_pipeline(store, make_spec("copy", COPY, pfs("data", "/*")))
    put(store, "staging", {"/a": b"1"})
    assert heads(store)["dev"] == heads(store)["staging"] and heads(store)["master"] == empty
    last = put(store, "staging", {"/b": b"2"})
    assert heads(store)["master"] == last  # dev moved twice: master's 2 commits
    R.run_pending(store)
    assert jobs_of(store, "copy")[-1] == (last, 2)
    assert tree(store, "copy") == {"/a": b"1", "/b": b"2"}


def test_a_trigger_on_a_pipelines_output_branch(store: Store) -> None:
    store.create_repo("data")
    create_pipeline(store, make_spec("copy", COPY, pfs("data", "/*")))
    create_branch(store, "copy", "release", trigger=Trigger("master", commits=2))
    empty = heads(store, "copy")["release"]
    R.run_pending(store)  # the creation job's (empty, AUTO) commit is not counted
    put(store, "master", {"/a": b"1"})
    R.run_pending(store)
    assert heads(store, "copy")["release"] == empty
    put(store, "master", {"/b": b"2"})
    R.run_pending(store)
    assert heads(store, "copy")["release"] == heads(store, "copy")["master"]


@pytest.mark.parametrize(
    ("action", "error"),
    [
        (lambda s: create_branch(s, "data", "bad name"), InvalidNameError),
        (lambda s: create_branch(s, "nope", "dev"), NotFoundError),
        (lambda s: create_branch(s, "data", "dev", head="nope"), NotFoundError),
        (lambda s: create_branch(s, "data", "m", trigger=Trigger("m", commits=1)), UsageError),
        (
            lambda s: create_branch(s, "data", "empty", trigger=Trigger("t", size="lots")),
            UsageError,
        ),
        (lambda s: create_branch(s, "data", "t", trigger=Trigger("empty", commits=1)), UsageError),
        (lambda s: create_branch(s, "data", "x", trigger=Trigger("y", commits=-1)), UsageError),
        (lambda s: delete_branch(s, "data", "nope"), NotFoundError),
        (lambda s: delete_branch(s, "data", "master"), ConflictError),  # `copy` reads it
        (lambda s: delete_branch(s, "copy", "master"), ConflictError),  # `copy` writes it
    ],
)
def test_refusals_change_nothing(store: Store, action: object, error: type[Exception]) -> None:
    store.create_repo("data")
    create_branch(store, "data", "empty", trigger=Trigger("t", commits=1))
    create_pipeline(store, make_spec("copy", COPY, pfs("data", "/*")))
    before = [list_branches(store, r) for r in ("data", "copy")]
    with pytest.raises(error):
        action(store)  # type: ignore[operator]
    assert [list_branches(store, r) for r in ("data", "copy")] == before


def test_delete_branch_keeps_commits(store: Store) -> None:
    commit = put(store, "dev", {"/a": b"1"})
    delete_branch(store, "data", "dev")
    assert "dev" not in heads(store)
    assert store.resolve("data", commit).id == commit


@pytest.mark.parametrize(
    ("text", "size"),
    [("1", 1), ("1KB", 1000), ("2 MB", 2 * 10**6), ("1MiB", 10**6), ("1.5g", 1_500_000_000)],
)
def test_sizes_as_go_units(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_a_pipeline_input_with_a_trigger(store: Store) -> None:
    """`pfs.trigger` without a branch: pachd reads `<pipeline>-trigger-1`, triggered on master."""
    store.create_repo("data")
    spec = make_spec("copy", COPY, pfs("data", "/*", trigger={"commits": 2}))
    assert (spec.input.branch, spec.input.trigger) == (  # type: ignore[union-attr]
        "copy-trigger-1",
        Trigger("master", commits=2),
    )
    create_pipeline(store, spec)
    assert {b.name: b.trigger for b in store.list_branches("data")}["copy-trigger-1"] == Trigger(
        "master", commits=2
    )
    put(store, "master", {"/a": b"1"})
    R.run_pending(store)
    assert [n for _id, n in jobs_of(store, "copy")] == [0]
    last = put(store, "master", {"/b": b"2"})
    R.run_pending(store)
    assert jobs_of(store, "copy")[-1] == (last, 2)
    assert tree(store, "copy") == {"/a": b"1", "/b": b"2"}


@pytest.mark.parametrize(
    ("trigger", "refusal"),
    [
        ({"rateLimitSpec": "@every 1m"}, "input.pfs.trigger.rateLimitSpec: a timed trigger"),
        ({"cronSpec": "@every 1m"}, "input.pfs.trigger.cronSpec: a timed trigger"),
    ],
)
def test_timed_triggers_are_refused(store: Store, trigger: dict[str, str], refusal: str) -> None:
    store.create_repo("data")
    with pytest.raises(SpecError, match=refusal):
        create_pipeline(store, make_spec("copy", COPY, pfs("data", "/*", trigger=trigger)))
    assert [b.name for b in store.list_branches("data")] == ["master"]
