"""The one exception tree of capstone and the one table of exit codes.

Every expected failure is a `CapstoneError`: a one-line message saying what happened and an
optional hint with the next command to run. The CLI maps the class's `exit_code` to the process
exit status in one place (`app.py`); the engine raises these without knowing about the CLI.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Process exit statuses, listed in the README."""

    OK = 0
    ERROR = 1
    USAGE = 2
    INVALID_SPEC = 3
    NOT_FOUND = 4
    JOB_FAILED = 5
    UNREACHABLE = 6
    CONFLICT = 7
    BUSY = 8
    CORRUPT = 9
    AUTH = 10
    INTERRUPTED = 130


class CapstoneError(Exception):
    """Base of every expected error: a message, a hint, an exit code."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if not message:
            raise ValueError("CapstoneError needs a message")
        super().__init__(message)
        self.message = message
        self.hint = hint
        # What a workflow knew when it failed (e.g. train's rejected images), for `--json`.
        self.details: dict[str, Any] = {}

    def __str__(self) -> str:
        return self.message


class UsageError(CapstoneError):
    """The command line itself is wrong (bad reference, conflicting options)."""

    exit_code = ExitCode.USAGE


class InvalidNameError(UsageError):
    """A repo, branch, pipeline or file name breaks Pachyderm's naming rules."""


class SpecError(CapstoneError):
    """A pipeline spec or stage definition is invalid."""

    exit_code = ExitCode.INVALID_SPEC


class InputError(CapstoneError):
    """Input data (a TSV, an image, a file to upload) cannot be used."""

    exit_code = ExitCode.ERROR


class NotFoundError(CapstoneError):
    """A repo, branch, commit, file, pipeline, job or datum does not exist."""

    exit_code = ExitCode.NOT_FOUND


class ConflictError(CapstoneError):
    """The request conflicts with existing state (the repo exists, a pipeline owns it)."""

    exit_code = ExitCode.CONFLICT


class StoreBusyError(CapstoneError):
    """Another capstone process holds the store's write lock for too long."""

    exit_code = ExitCode.BUSY


class StoreCorruptError(CapstoneError):
    """The store's files disagree with its metadata (a missing or damaged blob)."""

    exit_code = ExitCode.CORRUPT


class StoreWriteError(CapstoneError):
    """The store cannot be written (disk full, read-only filesystem, permissions)."""

    exit_code = ExitCode.ERROR


class JobFailedError(CapstoneError):
    """A pipeline job ended in JOB_FAILURE, JOB_KILLED or JOB_UNRUNNABLE."""

    exit_code = ExitCode.JOB_FAILED


class ModelError(CapstoneError):
    """No trained model, or a model that cannot be loaded or used."""

    exit_code = ExitCode.NOT_FOUND


class PachydermError(CapstoneError):
    """A Pachyderm cluster answered with an error."""

    exit_code = ExitCode.ERROR


class UnreachableError(PachydermError):
    """pachd cannot be reached at the configured address."""

    exit_code = ExitCode.UNREACHABLE


class AuthError(PachydermError):
    """pachd refused the caller: UNAUTHENTICATED (log in) or PERMISSION_DENIED (no access)."""

    exit_code = ExitCode.AUTH


class Interrupted(CapstoneError):
    """The user pressed Ctrl-C; what finished is kept and a re-run resumes."""

    exit_code = ExitCode.INTERRUPTED
