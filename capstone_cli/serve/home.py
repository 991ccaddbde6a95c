"""The served CAPSTONE_HOME: one store connection per gRPC worker thread, and pachd's naming.

SQLite connections belong to the thread that opened them, and gRPC runs handlers on a pool of
threads, so each thread opens its own `Store` on the same directory (WAL mode lets them share).
Projects: the store keeps one namespace until projects land in the engine; `project_of` is the one
place that maps a request's project onto it (pachd defaults an empty name to "default").
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from capstone_cli.engine.store.records import Commit
from capstone_cli.engine.store.store import Store, open_store
from capstone_cli.errors import NotFoundError

DEFAULT_PROJECT = "default"


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


def project_of(msg: Any) -> str:
    """The project a Repo/Project message names ("" means pachd's "default")."""
    name = getattr(msg, "name", "") or DEFAULT_PROJECT
    if name != DEFAULT_PROJECT:
        raise NotFoundError(
            f"project {name!r} not found",
            hint="this store serves the default project only",
        )
    return name


def repo_of(repo: Any) -> str:
    """The store's repo name for a pfs.Repo message (its project checked)."""
    project_of(repo.project)
    return str(repo.name)


def timestamp(text: str | None) -> datetime | None:
    """A store timestamp (RFC 3339 text) as the datetime betterproto sends."""
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def commit_msg(pfs: Any, c: Commit, *, branch: bool = True) -> Any:
    """A pfs.Commit message (with its branch unless `branch=False`, as pachd's CommitInfo)."""
    project = pfs.Project(name=DEFAULT_PROJECT)
    repo = pfs.Repo(name=c.repo, type="user", project=project)
    msg = pfs.Commit(repo=repo, id=c.id)
    if branch:
        msg.branch = pfs.Branch(repo=repo, name=c.branch)
    return msg
