"""Repos, branches, commits and commit sets: the metadata half of the store.

A commit is opened with `start_commit` (its tree copied from the parent in one `INSERT ...
SELECT`) and closed with `finish_commit`, which moves the branch head in the same transaction.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Self

from capstone_cli.engine import faults
from capstone_cli.engine.names import RepoRef, check_branch_name, check_repo_name, ref_of
from capstone_cli.engine.store import db as dbmod
from capstone_cli.engine.store import dircache, space
from capstone_cli.engine.store.blobs import BlobStore
from capstone_cli.engine.store.projects import ProjectStore, repo_keys_sql
from capstone_cli.engine.store.records import (
    COMMIT_COLS,
    Branch,
    Commit,
    Repo,
    Trigger,
    commit_from_row,
    new_id,
    now,
)
from capstone_cli.errors import ConflictError, InputError, NotFoundError


def as_key(repo: str | RepoRef) -> str:
    """The store key of a repo given as a RepoRef or already as a key (`name`, `proj/name`)."""
    return repo.key if isinstance(repo, RepoRef) else repo


def checked_key(repo: str | RepoRef) -> str:
    """The key of a repo to create or write: a RepoRef, or a plain name in project default;
    InvalidNameError for a bad name (`a/b` as text is one: write RepoRef("a", "b"))."""
    return repo.check().key if isinstance(repo, RepoRef) else check_repo_name(repo)


class CommitStore(ProjectStore):
    """Repos, branches and commits of an embedded store rooted at a directory (CAPSTONE_HOME).

    The file half (writing and reading trees) is `store.Store`, which extends this class. A repo
    is named by a `RepoRef` or by its key (see `names.RepoRef`) in every method.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        try:  # private whatever the umask: 0700, and store.db 0600 (SQLite's WAL copies it)
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(home / "store.db", os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise InputError(
                f"cannot create the store directory {home}: {exc.strerror}",
                hint="set CAPSTONE_HOME to a writable directory",
            ) from exc
        self.db = dbmod.connect(home / "store.db")
        self.blobs = BlobStore(self.db, home / "blobs")
        space.ensure_reserve(home)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One atomic write on this store (see `db.transaction`)."""
        return dbmod.transaction(self.db)

    # -- repos ---------------------------------------------------------------------------
    def create_repo(
        self,
        name: str | RepoRef,
        *,
        type: str = "user",
        description: str = "",
        exist_ok: bool = False,
    ) -> Repo:
        name = checked_key(name)
        with dbmod.transaction(self.db):
            existing = self._repo_or_none(name)
            if existing is not None:
                if exist_ok:
                    return existing
                raise ConflictError(
                    f"repo {name!r} already exists",
                    hint=f"use it as it is, or `capstone repo delete {name}` first",
                )
            repo = self._insert_repo(name, type, description)
        return repo

    def _insert_repo(self, name: str, type: str, description: str) -> Repo:
        """Insert a repo with an empty master branch (inside the caller's transaction)."""
        self.get_project(ref_of(name).project)
        self.db.execute(
            "INSERT INTO repos(name, type, description, created) VALUES(?,?,?,?)",
            (name, type, description, now()),
        )
        repo = self.get_repo(name)
        self.db.execute(
            "INSERT INTO branches(repo_id, name, head) VALUES(?, 'master', NULL)", (repo.id,)
        )
        return repo

    def _repo_or_none(self, name: str) -> Repo | None:
        row = self.db.execute(
            "SELECT id, name, type, description, created FROM repos WHERE name=?", (name,)
        ).fetchone()
        return Repo(*row) if row else None

    def get_repo(self, name: str | RepoRef) -> Repo:
        name = as_key(name)
        repo = self._repo_or_none(name)
        if repo is None:
            raise NotFoundError(
                f"repo {name!r} not found",
                hint="list repos with `capstone repo list`, or create it with "
                f"`capstone repo create {name}`",
            )
        return repo

    def list_repos(self, include_hidden: bool = False, project: str | None = None) -> list[Repo]:
        """Repos, newest first: all of them, or those of `project`."""
        where, args = repo_keys_sql(project) if project is not None else ("1", ())
        rows = self.db.execute(
            "SELECT id, name, type, description, created FROM repos "
            f"WHERE {where} ORDER BY created DESC, name",
            args,
        ).fetchall()
        repos = [Repo(*r) for r in rows]
        return repos if include_hidden else [r for r in repos if r.type == "user"]

    def delete_repo(self, name: str | RepoRef) -> None:
        """Delete a repo with its branches, commits and file rows, and give their space back
        (blobs no other commit uses); works on a full disk (see `space`)."""
        digests = space.on_full_disk_release_reserve(self.home, lambda: self._delete_repo(name))
        space.reclaim(self.db, self.blobs, digests)
        space.ensure_reserve(self.home)

    def _delete_repo(self, name: str | RepoRef) -> list[bytes]:
        with dbmod.transaction(self.db):
            repo = self.get_repo(name)
            commit_ids = [
                r[0] for r in self.db.execute("SELECT id FROM commits WHERE repo_id=?", (repo.id,))
            ]
            digests = [
                bytes(r[0])
                for r in self.db.execute(
                    "SELECT DISTINCT f.blob FROM files f JOIN commits c ON c.id=f.commit_id "
                    "WHERE c.repo_id=?",
                    (repo.id,),
                )
            ]
            for cid in commit_ids:
                self.db.execute("DELETE FROM files WHERE commit_id=?", (cid,))
                dircache.delete_rows(self.db, cid)
            self.db.execute("DELETE FROM branches WHERE repo_id=?", (repo.id,))
            self.db.execute("UPDATE commits SET parent=NULL WHERE repo_id=?", (repo.id,))
            self.db.execute("DELETE FROM commits WHERE repo_id=?", (repo.id,))
            self.db.execute("DELETE FROM repos WHERE id=?", (repo.id,))
        return digests

    def repo_size(self, name: str | RepoRef, branch: str = "master") -> int:
        head = self.head(name, branch)
        return head.size if head else 0

    # -- branches and commits ------------------------------------------------------------
    def branches(self, repo: str | RepoRef) -> list[str]:
        r = self.get_repo(repo)
        return [
            row[0]
            for row in self.db.execute(
                "SELECT name FROM branches WHERE repo_id=? ORDER BY name", (r.id,)
            )
        ]

    def list_branches(self, repo: str | RepoRef) -> list[Branch]:
        """The branches of a repo with their heads and triggers, by name."""
        r = self.get_repo(repo)
        rows = self.db.execute(
            "SELECT name, head, trigger FROM branches WHERE repo_id=? ORDER BY name", (r.id,)
        )
        return [
            Branch(r.name, name, head, Trigger(**json.loads(trig)) if trig else None)
            for name, head, trig in rows
        ]

    def set_branch(
        self, repo: str | RepoRef, branch: str, head: int | None, trigger: Trigger | None
    ) -> None:
        """Create or overwrite a branch: its head (a commit of this repo) and its trigger
        (inside a transaction). Moving a head starts nothing here: see `run.branches`."""
        check_branch_name(branch)
        r = self.get_repo(repo)
        self.db.execute(
            "INSERT INTO branches(repo_id, name, head, trigger) VALUES(?,?,?,?) "
            "ON CONFLICT(repo_id, name) DO UPDATE SET head=excluded.head, "
            "trigger=excluded.trigger",
            (r.id, branch, head, json.dumps(dataclasses.asdict(trigger)) if trigger else None),
        )

    def delete_branch(self, repo: str | RepoRef, branch: str) -> None:
        """Delete a branch; its commits stay (as pachd keeps them, reachable by ID)."""
        r = self.get_repo(repo)
        self.head(repo, branch)  # NotFoundError for a missing branch
        self.db.execute("DELETE FROM branches WHERE repo_id=? AND name=?", (r.id, branch))

    def ensure_branch(self, repo: str | RepoRef, branch: str) -> None:
        """Create an empty branch when missing (inside or outside a transaction)."""
        check_branch_name(branch)
        r = self.get_repo(repo)
        self.db.execute(
            "INSERT OR IGNORE INTO branches(repo_id, name, head) VALUES(?,?,NULL)", (r.id, branch)
        )

    def head(self, repo: str | RepoRef, branch: str = "master") -> Commit | None:
        repo = as_key(repo)
        r = self.get_repo(repo)
        row = self.db.execute(
            "SELECT head FROM branches WHERE repo_id=? AND name=?", (r.id, branch)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"branch {branch!r} not found in repo {repo!r}",
                hint=f"list branches with `capstone repo inspect {repo}`",
            )
        return self.commit_by_rowid(row[0]) if row[0] is not None else None

    def commit_by_rowid(self, rowid: int) -> Commit:
        row = self.db.execute(
            f"SELECT {COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id WHERE c.id=?",
            (rowid,),
        ).fetchone()
        if row is None:
            raise NotFoundError(f"commit #{rowid} not found")
        return commit_from_row(row)

    def resolve(self, repo: str | RepoRef, ref: str) -> Commit:
        """A commit from a branch name (its head) or a commit-set ID (or unique prefix)."""
        repo = as_key(repo)
        r = self.get_repo(repo)
        row = self.db.execute(
            "SELECT head FROM branches WHERE repo_id=? AND name=?", (r.id, ref)
        ).fetchone()
        if row is not None:
            if row[0] is None:
                raise NotFoundError(
                    f"branch {repo}@{ref} has no commits yet",
                    hint=f"put files with `capstone put {repo}@{ref} FILE...`",
                )
            return self.commit_by_rowid(row[0])
        rows = self.db.execute(
            f"SELECT {COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id "
            "WHERE c.repo_id=? AND c.commit_set LIKE ? LIMIT 2",
            (r.id, ref.lower() + "%"),
        ).fetchall()
        if len(rows) == 1 and len(ref) >= 6:
            return commit_from_row(rows[0])
        raise NotFoundError(
            f"no branch or commit {ref!r} in repo {repo!r}",
            hint=f"list commits with `capstone commits {repo}`",
        )

    def list_commits(
        self, repo: str | RepoRef, branch: str | None = None, limit: int = 0
    ) -> list[Commit]:
        r = self.get_repo(repo)
        sql = (
            f"SELECT {COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id WHERE c.repo_id=?"
        )
        args: list[object] = [r.id]
        if branch is not None:
            sql += " AND c.branch=?"
            args.append(branch)
        sql += " ORDER BY c.id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [commit_from_row(row) for row in self.db.execute(sql, args)]

    def commits_in_set(self, commit_set: str) -> list[Commit]:
        rows = self.db.execute(
            f"SELECT {COMMIT_COLS} FROM commits c JOIN repos r ON r.id=c.repo_id "
            "WHERE c.commit_set=? ORDER BY c.id",
            (commit_set,),
        ).fetchall()
        return [commit_from_row(row) for row in rows]

    def start_commit(
        self,
        repo: str | RepoRef,
        branch: str = "master",
        *,
        commit_set: str | None = None,
        origin: str = "USER",
        description: str = "",
        parent: int | str | None = "head",
    ) -> Commit:
        """Open a commit (must run inside a transaction); its tree starts as the parent's.

        `parent="head"` uses the branch head; the branch head moves only in `finish_commit`.
        """
        repo = as_key(repo)
        r = self.get_repo(repo)
        self.ensure_branch(repo, branch)
        if parent == "head":
            head = self.head(repo, branch)
            parent_id: int | None = head.rowid if head else None
        else:
            parent_id = parent  # type: ignore[assignment]
        cur = self.db.execute(
            "INSERT INTO commits(repo_id, branch, commit_set, parent, origin, description, started)"
            " VALUES(?,?,?,?,?,?,?)",
            (r.id, branch, commit_set or new_id(), parent_id, origin, description, now()),
        )
        rowid = int(cur.lastrowid or 0)
        if parent_id is not None:
            self.db.execute(
                "INSERT INTO files(commit_id, path, blob, size, datum) "
                "SELECT ?, path, blob, size, datum FROM files WHERE commit_id=?",
                (rowid, parent_id),
            )
        return self.commit_by_rowid(rowid)

    def finish_commit(self, commit: Commit, *, error: str = "", move_head: bool = True) -> Commit:
        """Finish a commit (inside a transaction): size, finished time, branch head."""
        faults.checkpoint("store.finish_commit")
        size = self.db.execute(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE commit_id=?", (commit.rowid,)
        ).fetchone()[0]
        self.db.execute(
            "UPDATE commits SET finished=?, error=?, size=? WHERE id=?",
            (now(), error, size, commit.rowid),
        )
        dircache.delete_rows(self.db, commit.rowid)  # none expected: only finished ones cache
        if move_head:
            self.db.execute(
                "UPDATE branches SET head=? WHERE repo_id=(SELECT repo_id FROM commits WHERE id=?)"
                " AND name=?",
                (commit.rowid, commit.rowid, commit.branch),
            )
        faults.checkpoint("store.head_moved")
        return self.commit_by_rowid(commit.rowid)
