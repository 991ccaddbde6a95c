"""Commit sets: a finished input commit opens a commit on every downstream output branch.

As in Pachyderm, one commit set (global ID) spans the input commit and an AUTO commit on the
output branch of every pipeline downstream of it, transitively; each of those pipelines gets a
job whose ID is the commit-set ID. Everything here runs inside the caller's transaction (the
store's `put_files(on_commit=...)`, or a pipeline create/update), so the input commit and its
jobs appear together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from capstone_cli.engine.inputs import PfsInput, leaf_inputs
from capstone_cli.engine.run import jobs as jobsmod
from capstone_cli.engine.run import triggers
from capstone_cli.engine.run.pipeline_records import PipelineRecord, list_pipelines
from capstone_cli.engine.store.records import Commit, new_id
from capstone_cli.engine.store.store import Store


def _input_branches(rec: PipelineRecord) -> list[tuple[str, str]]:
    if rec.spec.input is None:
        return []
    leaves = [leaf for leaf in leaf_inputs(rec.spec.input) if isinstance(leaf, PfsInput)]
    return list(dict.fromkeys((leaf.repo_key, leaf.branch) for leaf in leaves))


def downstream_order(
    records: list[PipelineRecord],
    changed: Iterable[tuple[str, str]],
    forced: Iterable[str],
) -> list[PipelineRecord]:
    """Pipelines reached from `changed` branches or `forced` pipelines, upstream first."""
    reached = set(changed)
    affected = {name for name in forced}
    by_name = {r.name: r for r in records}
    for name in affected:
        if name in by_name:
            reached.add((name, by_name[name].spec.output_branch))
    grew = True
    while grew:
        grew = False
        for rec in records:
            if rec.name not in affected and reached & set(_input_branches(rec)):
                affected.add(rec.name)
                reached.add((rec.name, rec.spec.output_branch))
                grew = True
    order: list[PipelineRecord] = []
    placed: set[str] = set()
    pending = [by_name[n] for n in sorted(affected) if n in by_name]
    while pending:
        for rec in pending:
            upstream = {repo for repo, _ in _input_branches(rec)} & {p.name for p in pending}
            if not (upstream - placed - {rec.name}):
                order.append(rec)
                placed.add(rec.name)
                pending.remove(rec)
                break
        else:  # a cycle (refused at create time); keep a deterministic order anyway
            order.extend(pending)
            break
    return order


def propagate(
    store: Store,
    commit_set: str,
    *,
    changed: Iterable[tuple[str, str]] = (),
    forced: Iterable[str] = (),
) -> list[str]:
    """Open output commits and JOB_CREATED jobs in `commit_set`; returns the pipelines."""
    records = list_pipelines(store)
    started: list[str] = []
    for rec in downstream_order(records, changed, forced):
        inputs: list[tuple[str, str, int | None]] = []
        for repo, branch in _input_branches(rec):
            store.ensure_branch(repo, branch)
            in_set = store.db.execute(
                "SELECT c.id FROM commits c JOIN repos r ON r.id=c.repo_id "
                "WHERE r.name=? AND c.branch=? AND c.commit_set=?",
                (repo, branch, commit_set),
            ).fetchone()
            if in_set is not None:
                inputs.append((repo, branch, int(in_set[0])))
            else:
                head = store.head(repo, branch)
                inputs.append((repo, branch, head.rowid if head else None))
        head = store.head(rec.name, rec.spec.output_branch)
        out = store.start_commit(
            rec.name, rec.spec.output_branch, commit_set=commit_set, origin="AUTO", parent=None
        )
        if head is not None:  # parent for history only; the tree is assembled by the runner
            store.db.execute("UPDATE commits SET parent=? WHERE id=?", (head.rowid, out.rowid))
        jobsmod.create_job(store, rec.name, commit_set, rec.version, out.rowid, inputs)
        started.append(rec.name)
    return started


def heads_moved(
    store: Store, commit: Commit, branches: Iterable[str], *, started: bool = False
) -> tuple[str | None, list[str]]:
    """`commit` became the head of `branches` of its repo: fire the triggers watching them and
    start the jobs downstream of every branch that moved (of `branches` too unless `started`:
    an output commit's downstream jobs exist already). Returns the commit set of the jobs
    started (None when none) and their pipelines.

    As in pachd, the jobs join the head commit's commit set (a pipeline on `data@master` gets
    job ID = the ID of the `data@dev` commit that master moved to), or a new commit set when
    a downstream repo already has a commit in that one.
    """
    branches = list(branches)
    fired = triggers.fire(store, commit.repo, {b: commit for b in branches})
    changed = [(commit.repo, b) for b in ([] if started else branches) + fired]
    if not changed:
        return None, []
    downstream = downstream_order(list_pipelines(store), changed, ())
    taken = any(
        store.db.execute(
            "SELECT 1 FROM commits c JOIN repos r ON r.id=c.repo_id "
            "WHERE r.name=? AND c.commit_set=?",
            (rec.name, commit.id),
        ).fetchone()
        for rec in downstream
    )
    commit_set = new_id() if taken else commit.id
    pipelines = propagate(store, commit_set, changed=changed)
    return (commit_set if pipelines else None), pipelines


def on_input_commit(store: Store) -> Callable[[Commit], None]:
    """The `put_files(on_commit=...)` hook: start the jobs downstream of a new commit."""

    def hook(commit: Commit) -> None:
        heads_moved(store, commit, [commit.branch])

    return hook
