"""The CLI's `Progress`: workflow callbacks drawn by the UI module (a live jobs table on a TTY,
plain lines elsewhere; messages and warnings on stderr)."""

from __future__ import annotations

from collections.abc import Sequence

from capstone_cli import ui
from capstone_cli.results import JobInfo


class TerminalProgress:
    """Implements `capstone_cli.workflows.progress.Progress` for a terminal."""

    def __init__(self) -> None:
        self.display: ui.JobsDisplay | None = None

    def jobs_started(self, title: str) -> None:
        self.jobs_finished()
        self.display = ui.JobsDisplay(title).__enter__()

    def jobs_updated(self, jobs: Sequence[JobInfo]) -> None:
        if self.display is not None:
            self.display.update(jobs)

    def jobs_finished(self) -> None:
        if self.display is not None:
            self.display.__exit__(None, None, None)
            self.display = None

    def upload_bytes(self, n: int) -> None:
        pass  # train streams its split (size unknown up front); `put` draws its own byte bar

    def message(self, text: str) -> None:
        ui.info(text)

    def warning(self, text: str) -> None:
        ui.warn(text)
