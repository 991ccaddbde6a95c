"""Parse `[PROJECT/]REPO[@BRANCH_OR_COMMIT][:PATH]` references, as pachctl writes them.

`repo` keeps the `PROJECT/` part when given; the backend places a bare name in its project.
"""

from __future__ import annotations

from dataclasses import dataclass

from capstone_cli.engine.names import RepoRef, clean_file_path
from capstone_cli.errors import UsageError


@dataclass(frozen=True)
class FileRef:
    repo: str
    ref: str  # branch name or commit ID
    path: str  # cleaned, "/" when absent


def parse_ref(text: str, *, default_path: str = "/") -> FileRef:
    """`images@master:/a/b.png` -> FileRef("images", "master", "/a/b.png")."""
    if not text:
        raise UsageError("empty reference", hint="write REPO@BRANCH[:PATH], e.g. images@master:/")
    head, sep, path = text.partition(":")
    repo, at, ref = head.partition("@")
    if at and not ref:
        raise UsageError(
            f"missing branch after '@' in {text!r}", hint="write REPO@BRANCH, e.g. rawdata@master"
        )
    try:
        RepoRef.parse(repo)
    except UsageError as exc:
        raise UsageError(
            f"invalid reference {text!r}: {exc.message}",
            hint="write [PROJECT/]REPO@BRANCH[:PATH], e.g. images@master:/",
        ) from None
    return FileRef(repo, ref or "master", clean_file_path(path if sep else default_path))
