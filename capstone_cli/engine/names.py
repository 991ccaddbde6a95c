"""Pachyderm's naming rules for repos, branches, pipelines and file paths.

Checked before anything is written, so a bad name never leaves a half-made repo or commit.
File paths follow `ValidateFilename` (src/internal/storage/paths.go): printable ASCII only, no
glob characters, no `.` or `..` segments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from capstone_cli.errors import InvalidNameError

_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
GLOB_CHARS = frozenset("*?[]{}!()@+^")
MAX_PIPELINE_NAME = 51


def check_repo_name(name: str, what: str = "repo") -> str:
    """Repo and branch names: `^[a-zA-Z0-9_-]+$`."""
    if not _NAME.match(name or ""):
        raise InvalidNameError(
            f"invalid {what} name {name!r}: only letters, digits, '_' and '-' are allowed",
            hint=f"rename the {what}, e.g. {re.sub(r'[^a-zA-Z0-9_-]+', '-', name or 'x')!r}",
        )
    return name


def check_branch_name(name: str) -> str:
    return check_repo_name(name, "branch")


def check_project_name(name: str) -> str:
    return check_repo_name(name, "project")


DEFAULT_PROJECT = "default"


@dataclass(frozen=True)
class RepoRef:
    """A repo (or a pipeline, whose output repo it names) as Pachyderm identifies it: a project
    and a name. The same name in two projects is two repos.

    The store keys a repo by `key`: the bare name in the project `default` (so stores made before
    projects existed keep their keys) and `project/name` elsewhere, which is also how a user
    writes it in a reference (`staging/edges@master:/a`).
    """

    project: str
    name: str

    @property
    def key(self) -> str:
        return self.name if self.project == DEFAULT_PROJECT else f"{self.project}/{self.name}"

    def __str__(self) -> str:
        return f"{self.project}/{self.name}"

    def check(self) -> RepoRef:
        """Itself, once both names are valid (InvalidNameError otherwise)."""
        check_project_name(self.project)
        check_repo_name(self.name)
        return self

    @classmethod
    def parse(cls, text: str, project: str = DEFAULT_PROJECT) -> RepoRef:
        """`name` (in `project`) or `project/name`; both names checked."""
        proj, sep, name = text.rpartition("/")
        ref = cls(proj if sep else project, name)
        if "/" in proj:
            raise InvalidNameError(
                f"invalid repo reference {text!r}: at most one '/' (PROJECT/REPO)",
                hint="write the repo as NAME or PROJECT/NAME",
            )
        return ref.check()


def ref_of(text: str, project: str = DEFAULT_PROJECT) -> RepoRef:
    """The repo or pipeline the user wrote as `name` (in `project`) or `project/name`;
    unchecked, so that looking up a bad name says "not found" (`RepoRef.check` checks)."""
    proj, sep, name = text.rpartition("/")
    return RepoRef(proj if sep else project, name)


def key_of(text: str, project: str = DEFAULT_PROJECT) -> str:
    """`ref_of(text, project).key`."""
    return ref_of(text, project).key


def check_pipeline_name(name: str) -> str:
    """Pipeline names also start alphanumeric and are at most 51 characters."""
    check_repo_name(name, "pipeline")
    if not name[0].isalnum():
        raise InvalidNameError(
            f"invalid pipeline name {name!r}: it must start with a letter or digit",
            hint="rename the pipeline",
        )
    if len(name) > MAX_PIPELINE_NAME:
        raise InvalidNameError(
            f"invalid pipeline name {name!r}: longer than {MAX_PIPELINE_NAME} characters",
            hint="use a shorter name",
        )
    return name


# Already-clean paths (the common case) are accepted by one regex match.
_CLEAN = re.compile(r"(?:/[A-Za-z0-9_\-.,=:;#%&~$'\"<>|` ]+)+")


def clean_file_path(path: str) -> str:
    """Normalise a repo path to `/a/b` form and validate it; `/` is the root.

    Raises InvalidNameError for anything Pachyderm would refuse.
    """
    if _CLEAN.fullmatch(path) and "/." not in path:
        return path
    if path is None:
        raise InvalidNameError("empty file path")
    # a backslash is a character of the name, as in Pachyderm: `a\b` and `a/b` are two files
    parts = [p for p in path.split("/") if p != ""]
    for part in parts:
        if part in (".", ".."):
            raise InvalidNameError(
                f"invalid path {path!r}: '.' and '..' segments are not allowed",
                hint="give the path inside the repo without '.' or '..'",
            )
        bad = sorted({c for c in part if c in GLOB_CHARS})
        if bad:
            raise InvalidNameError(
                f"invalid path {path!r}: glob characters {''.join(bad)!r} are not allowed in"
                " file names",
                hint="rename the file; Pachyderm reserves * ? [ ] { } ! ( ) @ + ^ for globs",
            )
        if any(not (" " <= c <= "~") for c in part):
            raise InvalidNameError(
                f"invalid path {path!r}: only printable ASCII characters are allowed",
                hint="rename the file using ASCII letters, digits and punctuation",
            )
    return "/" + "/".join(parts)


def parent_dirs(path: str) -> list[str]:
    """`/a/b/c` -> [`/a`, `/a/b`] (ancestors without the root)."""
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]
