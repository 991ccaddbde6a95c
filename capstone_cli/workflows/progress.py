"""What a workflow tells its caller while it works: the progress-callback protocol.

Workflows are the library API (`from capstone_cli.workflows.train import train`); they never
print. They report through a `Progress` object instead: the CLI passes one that draws the Rich
live display, a notebook or a test passes its own (see `tests/e2e/test_library_api.py`), and
`SILENT` ignores everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from capstone_cli.results import JobInfo


class Progress(Protocol):
    """Callbacks a long-running workflow makes, in this order per group of jobs:
    `jobs_started(title)`, `jobs_updated(jobs)` any number of times, `jobs_finished()`."""

    def jobs_started(self, title: str) -> None:
        """A group of jobs (one commit set) starts being followed; `title` names it."""

    def jobs_updated(self, jobs: Sequence[JobInfo]) -> None:
        """The current state of the group's jobs, in pipeline (DAG) order."""

    def jobs_finished(self) -> None:
        """Every job of the group is terminal."""

    def upload_bytes(self, n: int) -> None:
        """`n` more bytes were uploaded."""

    def message(self, text: str) -> None:
        """Something worth saying that is not a problem (e.g. "resuming the interrupted run")."""

    def warning(self, text: str) -> None:
        """Something the user should look at (a skipped line, a rejected image)."""


class SilentProgress:
    """A `Progress` that ignores everything: the default of every workflow."""

    def jobs_started(self, title: str) -> None:
        pass

    def jobs_updated(self, jobs: Sequence[JobInfo]) -> None:
        pass

    def jobs_finished(self) -> None:
        pass

    def upload_bytes(self, n: int) -> None:
        pass

    def message(self, text: str) -> None:
        pass

    def warning(self, text: str) -> None:
        pass


SILENT: Progress = SilentProgress()
