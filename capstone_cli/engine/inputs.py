"""Typed pipeline inputs and the file records that datums are made of.

These are the shared vocabulary between spec parsing (`spec.py`, which builds the tree from a
Pachyderm spec with defaults filled), datum computation (`datums.py`) and the runner. Field
names follow Pachyderm's proto (snake_case); defaults are Pachyderm's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from capstone_cli.engine.names import RepoRef


@dataclass(frozen=True)
class Trigger:
    """A branch trigger (pfs.Trigger): move this branch to the head of `branch` once the
    conditions hold (any of them, or all with `all`). `size` is a human size ("1MB")."""

    branch: str
    size: str = ""
    commits: int = 0
    all: bool = False


@dataclass(frozen=True)
class PfsInput:
    """`input.pfs`: a glob over one branch of one repo."""

    repo: str
    glob: str
    name: str = ""  # defaults to repo (filled by spec.py)
    branch: str = "master"
    project: str = "default"
    join_on: str = ""
    group_by: str = ""
    outer_join: bool = False
    lazy: bool = False
    empty_files: bool = False
    s3: bool = False
    reference: bool = False
    repo_type: str = "user"
    trigger: Trigger | None = None  # `pfs.trigger`: the input branch is created with it

    @property
    def input_name(self) -> str:
        return self.name or self.repo

    @property
    def repo_key(self) -> str:
        """The store key of the input repo (`names.RepoRef`): `repo`, or `project/repo`."""
        return RepoRef(self.project, self.repo).key


@dataclass(frozen=True)
class CronInput:
    """`input.cron`: ticks committed to the repo `<pipeline>_<name>`, datums from glob `/*`."""

    name: str
    spec: str
    repo: str = ""
    project: str = "default"
    overwrite: bool = False
    start: str = ""

    @property
    def input_name(self) -> str:
        return self.name


@dataclass(frozen=True)
class CrossInput:
    inputs: tuple[Input, ...]


@dataclass(frozen=True)
class UnionInput:
    inputs: tuple[Input, ...]


@dataclass(frozen=True)
class JoinInput:
    inputs: tuple[Input, ...]


@dataclass(frozen=True)
class GroupInput:
    inputs: tuple[Input, ...]


Input = PfsInput | CronInput | CrossInput | UnionInput | JoinInput | GroupInput


def input_name(node: Input) -> str:
    """Pachyderm's `InputName`: the first pfs/cron name in the sub-tree (used for sorting)."""
    if isinstance(node, PfsInput | CronInput):
        return node.input_name
    for child in node.inputs:
        name = input_name(child)
        if name:
            return name
    return ""


def leaf_inputs(node: Input) -> list[PfsInput | CronInput]:
    """Every pfs and cron leaf of an input tree, depth first, in tree order."""
    if isinstance(node, PfsInput | CronInput):
        return [node]
    out: list[PfsInput | CronInput] = []
    for child in node.inputs:
        out.extend(leaf_inputs(child))
    return out


@dataclass(frozen=True, slots=True)  # slots: datum listing holds millions of these
class FileInfo:
    """One file or directory of a commit, as glob matching sees it.

    `path` is absolute; directories end with `/` (the root is `/`). `hash` is a content hash:
    for files the blob's sha256, for directories a hash over the children's hashes in path
    order (names not included, as in Pachyderm). `size` is bytes (a directory's is the sum).
    """

    path: str
    is_dir: bool
    hash: str
    size: int = 0


class FileSource(Protocol):
    """What datum computation needs from a store: the files of a branch head."""

    def walk(self, repo: str, branch: str) -> Iterable[FileInfo]:
        """Every file and directory of the branch head, root `/` included, in path order.

        Raises `NotFoundError` when the repo or branch does not exist. An existing branch with
        no commit yields just the root.
        """
        ...

    def head_commit(self, repo: str, branch: str) -> str | None:
        """The ID of the branch head commit, or None when the branch has no commit."""
        ...
