"""Creating, moving and deleting branches, as pachd's CreateBranch/DeleteBranch.

`create_branch(..., head=REF)` points a branch at a commit (REF: a branch, whose head it takes,
or a commit ID), creating the branch when missing; a branch created without a head gets an
empty finished commit, as pachd gives every branch a head. A head that moves starts what a new
commit would: the triggers watching the branch and the jobs of the pipelines downstream of it,
in the head commit's commit set (see `propagation.heads_moved`). This is Pachyderm's deferred
processing: commit to `data@dev` as often as you like, and a pipeline on `data@master` runs
when master is moved to dev.
"""

from __future__ import annotations

from dataclasses import dataclass

from capstone_cli.engine.inputs import PfsInput, leaf_inputs
from capstone_cli.engine.names import RepoRef, check_branch_name
from capstone_cli.engine.run.pipeline_records import find_pipeline, list_pipelines
from capstone_cli.engine.run.propagation import heads_moved
from capstone_cli.engine.run.triggers import check_trigger
from capstone_cli.engine.store.records import Branch, Trigger
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import ConflictError


@dataclass(frozen=True)
class BranchState:
    """A branch as `branch list` shows it: head commit ID, trigger, direct provenance."""

    repo: str
    name: str
    head: str | None
    trigger: Trigger | None
    provenance: tuple[str, ...]  # `repo@branch` of the inputs, for a pipeline's output branch


@dataclass(frozen=True)
class BranchMove:
    """What `create_branch` did: the branch, and the commit set of the jobs it started."""

    branch: BranchState
    commit_set: str | None
    pipelines: tuple[str, ...]


def provenance(store: Store, repo: str, branch: str) -> tuple[str, ...]:
    """The input branches of the pipeline whose output branch this is (pachd's direct
    provenance), else none."""
    rec = find_pipeline(store, repo)
    if rec is None or rec.spec.output_branch != branch or rec.spec.input is None:
        return ()
    leaves = [x for x in leaf_inputs(rec.spec.input) if isinstance(x, PfsInput)]
    return tuple(dict.fromkeys(f"{x.repo_key}@{x.branch}" for x in leaves))


def _state(store: Store, b: Branch) -> BranchState:
    head = store.commit_by_rowid(b.head).id if b.head is not None else None
    return BranchState(b.repo, b.name, head, b.trigger, provenance(store, b.repo, b.name))


def list_branches(store: Store, repo: str | RepoRef) -> list[BranchState]:
    return [_state(store, b) for b in store.list_branches(repo)]


def create_branch(
    store: Store,
    repo: str | RepoRef,
    branch: str,
    *,
    head: str | None = None,
    trigger: Trigger | None = None,
) -> BranchMove:
    """Create a branch or move it to `head`; set its trigger when one is given (an existing
    trigger is kept otherwise, as pachd does)."""
    check_branch_name(branch)
    with store.transaction():
        key = store.get_repo(repo).name
        old = {b.name: b for b in store.list_branches(key)}.get(branch)
        if trigger is not None:
            check_trigger(store, key, branch, trigger)
        commit = store.resolve(key, head) if head is not None else None
        if commit is None and (old is None or old.head is None):
            # pachd's makeEmptyCommit: a branch always has a head, a new one an empty commit
            commit = store.finish_commit(
                store.start_commit(key, branch, origin="AUTO", parent=None)
            )
        new_head = commit.rowid if commit is not None else (old.head if old else None)
        store.set_branch(key, branch, new_head, trigger or (old.trigger if old else None))
        commit_set: str | None = None
        started: list[str] = []
        if commit is not None and (old is None or old.head != commit.rowid):
            commit_set, started = heads_moved(store, commit, [branch])
        state = next(_state(store, b) for b in store.list_branches(key) if b.name == branch)
    return BranchMove(state, commit_set, tuple(started))


def delete_branch(store: Store, repo: str | RepoRef, branch: str) -> None:
    """Delete a branch, refusing one that a pipeline reads or writes (pachd refuses a branch
    with subvenance or provenance): delete or update the pipeline first."""
    with store.transaction():
        key = store.get_repo(repo).name
        store.head(key, branch)  # NotFoundError for a missing branch
        for rec in list_pipelines(store):
            reads = rec.spec.input is not None and any(
                isinstance(x, PfsInput) and (x.repo_key, x.branch) == (key, branch)
                for x in leaf_inputs(rec.spec.input)
            )
            writes = (rec.name, rec.spec.output_branch) == (key, branch)
            if reads or writes:
                raise ConflictError(
                    f"cannot delete branch {key}@{branch}: pipeline {rec.name} "
                    f"{'reads' if reads else 'writes'} it",
                    hint=f"delete or update pipeline {rec.name} first",
                )
        store.delete_branch(key, branch)
