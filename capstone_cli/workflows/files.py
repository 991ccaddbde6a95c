"""Taking data out of a repo without deleting the repo: pachctl's `delete file`."""

from __future__ import annotations

from capstone_cli.backends.base import Backend
from capstone_cli.errors import NotFoundError, UsageError
from capstone_cli.results import CommitInfo


def delete_file(backend: Backend, repo: str, branch: str, path: str) -> CommitInfo:
    """A new commit on `branch` without `path` (a directory goes with everything under it).

    A path that is not there is an error (exit 4), not an empty commit: a typo must not look
    like a deletion. The new commit triggers the pipelines reading the repo, as any commit.
    """
    if path == "/":
        raise UsageError(
            "refusing to delete every file of a repo",
            hint=f"name a path (e.g. {repo}@{branch}:/dir), or `capstone repo delete {repo}`",
        )
    backend.list_files(repo, branch, path)  # raises NotFoundError for a missing repo/branch/path
    if not any(True for _ in backend.walk_files(repo, branch, path)):
        raise NotFoundError(
            f"{repo}@{branch}:{path}: no such file or directory",
            hint=f"see `capstone ls {repo}@{branch}:/`",
        )
    return backend.put_files(
        repo, branch, [], delete_paths=[path], description=f"capstone delete file {path}"
    )
