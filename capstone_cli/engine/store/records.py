"""The store's records (repos, commits, directory entries, files to write) and their clocks.

Kept apart from the `Store` class so the run layer and the backends can name a `Commit` without
pulling in the SQL that writes one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from capstone_cli.engine.inputs import Trigger
from capstone_cli.engine.names import RepoRef, ref_of

__all__ = ["Branch", "Commit", "Entry", "NewFile", "Repo", "Trigger"]


def now() -> str:
    """RFC 3339 UTC timestamp with microseconds (sortable as text)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """A commit-set (global) ID: 32 hex characters, like Pachyderm's."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Repo:
    id: int
    name: str  # the store key: `name` in project default, `project/name` elsewhere
    type: str
    description: str
    created: str

    @property
    def ref(self) -> RepoRef:
        return ref_of(self.name)


@dataclass(frozen=True)
class Commit:
    """A commit; `id` is its commit-set (global) ID, `rowid` the internal key."""

    rowid: int
    repo: str
    branch: str
    id: str
    parent: int | None
    origin: str
    description: str
    started: str
    finished: str | None
    error: str
    size: int
    parent_id: str | None = None  # the parent's commit-set ID


@dataclass(frozen=True)
class Branch:
    """A branch of a repo (by key): its head commit's rowid (None when empty) and trigger."""

    repo: str
    name: str
    head: int | None
    trigger: Trigger | None = None


@dataclass(frozen=True)
class Entry:
    """A file or an implicit directory under a listed path."""

    path: str
    type: str  # "file" | "dir"
    size: int


@dataclass(frozen=True)
class NewFile:
    """A file to write into a commit: content from bytes or a local path."""

    path: str
    data: bytes | None = None
    source: str | Path | None = None


COMMIT_COLS = (
    "c.id, r.name, c.branch, c.commit_set, c.parent, c.origin, c.description, c.started, "
    "c.finished, c.error, c.size, (SELECT p.commit_set FROM commits p WHERE p.id=c.parent)"
)


def commit_from_row(row: tuple[object, ...]) -> Commit:
    """A `Commit` from a row selected with `COMMIT_COLS`."""
    return Commit(*row)  # type: ignore[arg-type]
