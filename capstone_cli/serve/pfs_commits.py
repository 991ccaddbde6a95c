"""PFS commits and commit sets: an open commit spans RPCs (StartCommit, ModifyFile...,
FinishCommit) as in pachd, kept as an unfinished row of the store until it is finished.

The branch head moves when the commit finishes (the store's rule: readers never see a half
commit); an open commit is found by its ID or as its branch's open commit. Finishing runs the same
checks and job propagation as `capstone put`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from pachyderm_sdk.api import pfs

from capstone_cli.engine.run.propagation import on_input_commit
from capstone_cli.engine.store import dircache
from capstone_cli.engine.store.records import COMMIT_COLS, Commit, commit_from_row
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import NotFoundError
from capstone_cli.serve.home import Home, client_waiting, commit_msg, repo_key
from capstone_cli.serve.home import timestamp as ts
from capstone_cli.serve.status import PreconditionError

EMPTY = pfs.betterproto_lib_google_protobuf.Empty
POLL_S = 0.05


def open_commit(store: Store, repo: str, branch: str) -> Commit | None:
    """The unfinished commit on `repo@branch`, if any."""
    row = store.db.execute(
        f"SELECT {COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id "
        "WHERE r.name=? AND c.branch=? AND c.finished IS NULL ORDER BY c.id DESC LIMIT 1",
        (repo, branch),
    ).fetchone()
    return commit_from_row(row) if row else None


def find_commit(store: Store, msg: Any) -> Commit:
    """The commit a pfs.Commit names: by ID, else its branch's open commit, else the head."""
    repo = repo_key(msg.repo if msg.repo.name else msg.branch.repo)
    if msg.id:
        return store.resolve(repo, msg.id)
    branch = msg.branch.name or "master"
    found = open_commit(store, repo, branch) or store.head(repo, branch)
    if found is None:
        raise NotFoundError(f"commit {repo}@{branch} not found")
    return found


def finish(store: Store, commit: Commit, error: str = "") -> Commit:
    """Finish an open commit as `capstone put` does: path checks, head move, downstream jobs."""
    with store.transaction():
        store.check_collisions(commit.rowid)
        done = store.finish_commit(commit, error=error)
        if not error:
            on_input_commit(store)(done)
    return done


class CommitService:
    def __init__(self, home: Home) -> None:
        self.home = home

    def _info(self, c: Commit) -> pfs.CommitInfo:
        info = pfs.CommitInfo(
            commit=commit_msg(pfs, c, branch=False),  # pachd names the commit by ID alone
            origin=pfs.CommitOrigin(
                kind=pfs.OriginKind.USER if c.origin == "USER" else pfs.OriginKind.AUTO
            ),
            description=c.description,
            started=ts(c.started),
            finishing=ts(c.finished),
            finished=ts(c.finished),
            error=c.error,
            size_bytes_upper_bound=c.size,
            details=pfs.CommitInfoDetails(size_bytes=c.size),
        )
        if c.parent is not None:
            info.parent_commit = commit_msg(pfs, self.home.store.commit_by_rowid(c.parent))
        return info

    def start_commit(self, req: pfs.StartCommitRequest, _ctx: Any) -> pfs.Commit:
        store = self.home.store
        repo = repo_key(req.branch.repo)
        branch = req.branch.name or "master"
        with store.transaction():
            store.get_repo(repo)
            still_open = open_commit(store, repo, branch)
            if still_open is not None:
                raise PreconditionError(f"parent commit {still_open.id} has not been finished")
            parent: int | str | None = "head"
            if req.parent.id or req.parent.branch.name:
                parent = find_commit(store, req.parent).rowid
            commit = store.start_commit(repo, branch, description=req.description, parent=parent)
        return commit_msg(pfs, commit)

    def finish_commit(self, req: pfs.FinishCommitRequest, _ctx: Any) -> Any:
        store = self.home.store
        commit = find_commit(store, req.commit)
        if commit.finished is not None:
            raise PreconditionError(f"commit {commit.id} is already finished")
        if req.description:
            store.db.execute(
                "UPDATE commits SET description=? WHERE id=?", (req.description, commit.rowid)
            )
        finish(store, commit, req.error)
        return EMPTY()

    def _wait(self, commit: Commit, state: pfs.CommitState, ctx: Any) -> Commit:
        """Block until the commit reaches `state` (FINISHING/FINISHED are the same here) or
        the client leaves."""
        store = self.home.store
        while (
            state >= pfs.CommitState.FINISHING and commit.finished is None and client_waiting(ctx)
        ):
            time.sleep(POLL_S)
            commit = store.commit_by_rowid(commit.rowid)
        return commit

    def inspect_commit(self, req: pfs.InspectCommitRequest, ctx: Any) -> pfs.CommitInfo:
        commit = find_commit(self.home.store, req.commit)
        return self._info(self._wait(commit, req.wait, ctx))

    def list_commit(self, req: pfs.ListCommitRequest, _ctx: Any) -> Iterator[pfs.CommitInfo]:
        store = self.home.store
        repo = repo_key(req.repo)
        commits = store.list_commits(repo)
        if req.to.id or req.to.branch.name:
            top = find_commit(store, req.to)
            commits = [c for c in commits if c.rowid <= top.rowid and c.branch == top.branch]
        if req.reverse:
            commits.reverse()
        if req.number:
            commits = commits[: req.number]
        for c in commits:
            yield self._info(c)

    def subscribe_commit(
        self, req: pfs.SubscribeCommitRequest, ctx: Any
    ) -> Iterator[pfs.CommitInfo]:
        store = self.home.store
        repo = repo_key(req.repo)
        seen: set[int] = set()
        if req.from_.id:
            start = find_commit(store, req.from_)
            seen.update(c.rowid for c in store.list_commits(repo) if c.rowid < start.rowid)
        while client_waiting(ctx):
            for c in reversed(store.list_commits(repo, req.branch or None)):
                if c.rowid in seen:
                    continue
                if req.state >= pfs.CommitState.FINISHING and c.finished is None:
                    continue
                seen.add(c.rowid)
                yield self._info(c)
            time.sleep(POLL_S * 4)

    def _delete_commits(self, commits: list[Commit]) -> None:
        """Drop commits: heads move back to the parent, then the rows go (newest first)."""
        store = self.home.store
        with store.transaction():
            for c in sorted(commits, key=lambda c: -c.rowid):
                store.db.execute("UPDATE branches SET head=? WHERE head=?", (c.parent, c.rowid))
                store.db.execute("UPDATE commits SET parent=? WHERE parent=?", (c.parent, c.rowid))
                store.db.execute("DELETE FROM files WHERE commit_id=?", (c.rowid,))
                dircache.delete_rows(store.db, c.rowid)
                store.db.execute("DELETE FROM commits WHERE id=?", (c.rowid,))

    def drop_commit(self, req: pfs.DropCommitRequest, _ctx: Any) -> Any:
        self._delete_commits([find_commit(self.home.store, req.commit)])
        return EMPTY()

    def squash_commit(self, req: pfs.SquashCommitRequest, _ctx: Any) -> Any:
        # every commit holds its whole tree, so squashing a commit into its child is dropping it
        # while its children keep their trees
        commit = find_commit(self.home.store, req.commit)
        if self.home.store.head(commit.repo, commit.branch) == commit:
            raise PreconditionError(f"cannot squash commit {commit.id}: it is a branch head")
        self._delete_commits([commit])
        return EMPTY()

    # -- commit sets ---------------------------------------------------------------------
    def inspect_commit_set(
        self, req: pfs.InspectCommitSetRequest, ctx: Any
    ) -> Iterator[pfs.CommitInfo]:
        commits = self.home.store.commits_in_set(req.commit_set.id)
        if not commits:
            raise NotFoundError(f"commitset {req.commit_set.id} not found")
        for c in commits:
            yield self._info(self._wait(c, pfs.CommitState.FINISHED, ctx) if req.wait else c)

    def list_commit_set(self, _req: Any, _ctx: Any) -> Iterator[pfs.CommitSetInfo]:
        store = self.home.store
        sets = [
            r[0]
            for r in store.db.execute(
                "SELECT commit_set FROM commits GROUP BY commit_set ORDER BY MAX(id) DESC"
            )
        ]
        for s in sets:
            yield pfs.CommitSetInfo(
                commit_set=pfs.CommitSet(id=s),
                commits=[self._info(c) for c in store.commits_in_set(s)],
            )

    def drop_commit_set(self, req: pfs.DropCommitSetRequest, _ctx: Any) -> Any:
        commits = self.home.store.commits_in_set(req.commit_set.id)
        if not commits:
            raise NotFoundError(f"commitset {req.commit_set.id} not found")
        self._delete_commits(commits)
        return EMPTY()

    def squash_commit_set(self, req: pfs.SquashCommitSetRequest, _ctx: Any) -> Any:
        # every commit holds its whole tree, so squashing into the children is dropping; a
        # branch head has no child to squash into (pachd refuses it too)
        store = self.home.store
        commits = store.commits_in_set(req.commit_set.id)
        if not commits:
            raise NotFoundError(f"commitset {req.commit_set.id} not found")
        for c in commits:
            if store.head(c.repo, c.branch) == c:
                raise PreconditionError(
                    f"cannot squash commitset {req.commit_set.id}: commit {c.repo}@{c.id} is"
                    " the head of a branch"
                )
        self._delete_commits(commits)
        return EMPTY()
