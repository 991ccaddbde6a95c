"""The served CAPSTONE_HOME: one store connection per gRPC worker thread, and pachd's naming.

SQLite connections belong to the thread that opened them, and gRPC runs handlers on a pool of
threads, so each thread opens its own `Store` on the same directory (WAL mode lets them share).
Names: `repo_key` is the one place that maps a request's (project, name) onto the store's repo
and pipeline keys (`names.RepoRef`; pachd defaults an empty project to "default"), and
`repo_msg` maps a key back.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capstone_cli.engine.names import DEFAULT_PROJECT, RepoRef, ref_of
from capstone_cli.engine.store.records import Commit
from capstone_cli.engine.store.store import Store, open_store


class Home:
    """The store directory a server serves, opened lazily per thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self.created = datetime.now(UTC)
        # metadata edits (EditMetadata), in memory until the store keeps them
        self.metadata: dict[tuple[str, str], dict[str, str]] = {}
        open_store(path).close()  # fail at start, not at the first request

    @property
    def store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = open_store(self.path)
            self._local.store = store
        return store


def client_waiting(ctx: Any) -> bool:
    """Whether the caller of a blocking handler still waits for its answer (None: an internal
    call). A handler that polls stops when its client leaves, or its thread is lost to the
    server's pool for as long as the awaited state takes, forever for a commit never finished."""
    return ctx is None or bool(ctx.is_active())


def project_of(msg: Any) -> str:
    """The project a Project message names ("" means pachd's "default")."""
    return str(getattr(msg, "name", "") or DEFAULT_PROJECT)


def repo_ref(msg: Any) -> RepoRef:
    """The repo or pipeline a pfs.Repo / pps.Pipeline message names."""
    return RepoRef(project_of(msg.project), str(msg.name))


def repo_key(msg: Any) -> str:
    """The store key of the repo or pipeline a pfs.Repo / pps.Pipeline message names."""
    return repo_ref(msg).key


def repo_msg(pfs: Any, key: str, type: str = "user") -> Any:
    """The pfs.Repo message of a store key."""
    ref = ref_of(key)
    return pfs.Repo(name=ref.name, type=type, project=pfs.Project(name=ref.project))


def timestamp(text: str | None) -> datetime | None:
    """A store timestamp (RFC 3339 text) as the datetime betterproto sends."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def commit_msg(pfs: Any, c: Commit, *, branch: bool = True) -> Any:
    """A pfs.Commit message (with its branch unless `branch=False`, as pachd's CommitInfo)."""
    repo = repo_msg(pfs, c.repo)
    msg = pfs.Commit(repo=repo, id=c.id)
    if branch:
        msg.branch = pfs.Branch(repo=repo, name=c.branch)
    return msg
