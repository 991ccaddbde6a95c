"""The only module that writes to the terminal.

Data (tables, JSON, file content) goes to stdout; progress, diagnostics and errors go to
stderr, so `capstone jobs --json | jq` always works. Colour and animation only on a TTY; Rich
honours NO_COLOR. When stderr is not a TTY (CI, pipes) progress is printed as plain lines.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table

from capstone_cli.errors import CapstoneError
from capstone_cli.results import TERMINAL_JOB_STATES


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """A closed pipe (`capstone logs | head`) means the reader is done: raise it for the app
        to end quietly with 0 (`app.py`), where Rich would exit 1."""
        self.quiet = True
        raise BrokenPipeError


_width = int(os.environ["CAPSTONE_WIDTH"]) if os.environ.get("CAPSTONE_WIDTH") else None
# NO_COLOR (no-color.org): Rich drops only colours; bold and italic go too, as users expect.
_colours: Any = None if os.environ.get("NO_COLOR") else "auto"
out = _Console(highlight=False, width=_width, color_system=_colours)
if _width is None and not out.is_terminal:  # pipes and CI: no folding at 80 columns
    out = _Console(highlight=False, width=200, color_system=_colours)
err = _Console(stderr=True, width=_width, highlight=False, soft_wrap=True, color_system=_colours)


def is_tty() -> bool:
    return err.is_terminal


# -- data -------------------------------------------------------------------------------
def render_json(obj: Any) -> None:
    """Machine-readable output: stable snake_case keys, one document."""
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def render_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    empty: str | None = None,
) -> None:
    """A table on stdout; `empty` is said on stderr when there are no rows."""
    if not rows and empty:
        info(empty)
        return
    table = Table(title=title, show_edge=False, pad_edge=False, box=None, header_style="bold")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


def render_text(text: str) -> None:
    out.print(text, markup=False, highlight=False)


def write_bytes(data: bytes) -> None:
    sys.stdout.buffer.write(data)


# -- diagnostics ------------------------------------------------------------------------
def info(message: str) -> None:
    err.print(message, markup=False, highlight=False)


def success(message: str) -> None:
    err.print(f"[green]✓[/green] {_escape(message)}")


def warn(message: str) -> None:
    err.print(f"[yellow]warning:[/yellow] {_escape(message)}")


def error(exc: BaseException, *, debug: bool = False) -> None:
    """`error: <message>` then the cause chain (with --debug) and `hint: <next step>`."""
    if isinstance(exc, CapstoneError):
        err.print(f"[bold red]error:[/bold red] {_escape(exc.message)}")
        if debug:
            cause = exc.__cause__
            while cause is not None:
                err.print(f"  caused by: {_escape(repr(cause))}")
                cause = cause.__cause__
        if exc.hint:
            err.print(f"[cyan]hint:[/cyan] {_escape(exc.hint)}")
    else:
        err.print(f"[bold red]error:[/bold red] {_escape(f'{type(exc).__name__}: {exc}')}")
        err.print(
            "[cyan]hint:[/cyan] this is a bug in capstone; run again with --debug for the"
            " traceback and report it"
        )


def traceback() -> None:
    err.print_exception(show_locals=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


# -- progress ---------------------------------------------------------------------------
@contextmanager
def byte_progress(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar for uploads/downloads on a TTY; a start/end line otherwise."""
    if not is_tty() or (total is not None and total < 8 << 20):
        start = time.monotonic()
        done = 0

        def add_plain(n: int) -> None:
            nonlocal done
            done += n

        yield add_plain
        if total is None or total >= 8 << 20:
            info(f"{description}: {_human(done)} in {time.monotonic() - start:.1f}s")
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)

        def add(n: int) -> None:
            progress.advance(task, n)

        yield add


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def human_bytes(n: float) -> str:
    return _human(n)


# -- live job display -------------------------------------------------------------------
class JobsDisplay:
    """Per pipeline: state, datums processed/skipped/failed/total, rate, ETA.

    On a TTY a Rich Live table redrawn in place; elsewhere one plain line per change of state
    or every few seconds, so CI logs stay readable.
    """

    def __init__(self, title: str = "jobs") -> None:
        self.title = title
        self.started = time.monotonic()
        self.first_seen: dict[str, tuple[float, int]] = {}
        self.last_plain: dict[str, tuple[str, int, str]] = {}
        self.last_plain_at = 0.0
        self.live: Any = None
        self.extra: dict[str, str] = {}
        self.final_rate: dict[str, str] = {}

    def __enter__(self) -> JobsDisplay:
        if is_tty():
            from rich.live import Live

            self.live = Live(console=err, refresh_per_second=4, transient=False)
            self.live.__enter__()
        else:
            info(self.title)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def note(self, pipeline: str, text: str) -> None:
        """Extra per-pipeline detail (e.g. images rejected by reason)."""
        self.extra[pipeline] = text

    def _rate_eta(self, job: Any) -> tuple[str, str]:
        key = job.id + job.pipeline
        if key in self.final_rate:  # a finished job's rate is what it was when it finished
            return self.final_rate[key], ""
        done = job.data_processed + job.data_skipped + job.data_failed + job.data_recovered
        total, unit = job.data_total, ""
        inner = job.datum_progress
        if inner and job.state not in TERMINAL_JOB_STATES:  # one long datum: its own steps
            done, total, unit = int(inner["done"]), int(inner["total"]), f" {inner['unit']}"
            key += f"/{inner['unit']}"
        now = time.monotonic()
        t0, d0 = self.first_seen.setdefault(key, (now, done))
        rate_text, eta = "", ""
        if now - t0 >= 0.5 and done > d0:
            rate = (done - d0) / (now - t0)
            left = max(total - done, 0)
            rate_text = f"{rate:.1f}{unit}/s"
            eta = f"{left / rate:.0f}s" if rate > 0 and left else ""
        if job.state in TERMINAL_JOB_STATES:
            self.final_rate[key] = rate_text
        return rate_text, eta

    def update(self, jobs: Sequence[Any]) -> None:
        if self.live is not None:
            table = Table(title=self.title, box=None, header_style="bold")
            for col in (
                "PIPELINE",
                "STATE",
                "PROCESSED",
                "SKIPPED",
                "FAILED",
                "TOTAL",
                "RATE",
                "ETA",
                "",
            ):
                table.add_column(col)
            for job in jobs:
                rate, eta = self._rate_eta(job)
                style = {
                    "JOB_SUCCESS": "green",
                    "JOB_FAILURE": "red",
                    "JOB_UNRUNNABLE": "red",
                    "JOB_KILLED": "red",
                }.get(job.state, "yellow")
                table.add_row(
                    job.pipeline,
                    f"[{style}]{job.state}[/{style}]",
                    str(job.data_processed),
                    str(job.data_skipped),
                    str(job.data_failed),
                    str(job.data_total),
                    rate,
                    eta,
                    _escape(_detail(job, self.extra.get(job.pipeline, ""))),
                )
            self.live.update(table)
            return
        now = time.monotonic()
        for job in jobs:
            done = job.data_processed + job.data_skipped + job.data_failed
            key = (job.state, done, datum_progress_text(job))
            prev = self.last_plain.get(job.pipeline)
            if (
                prev is None
                or prev[0] != job.state
                or (now - self.last_plain_at > 5 and prev != key)
            ):
                self.last_plain[job.pipeline] = key
                self.last_plain_at = now
                extra = _detail(job, self.extra.get(job.pipeline, ""))
                info(
                    f"{job.pipeline}: {job.state} processed={job.data_processed} "
                    f"skipped={job.data_skipped} failed={job.data_failed} "
                    f"total={job.data_total}" + (f" {extra}" if extra else "")
                )


def datum_progress_text(job: Any) -> str:
    """A running job's datum progress as `epoch 12/60`, or "" when it reports none."""
    inner = job.datum_progress
    if not inner or job.state in TERMINAL_JOB_STATES:
        return ""
    return f"{inner['unit']} {inner['done']}/{inner['total']}"


def _detail(job: Any, extra: str) -> str:
    return " ".join(part for part in (datum_progress_text(job), extra) if part)


def render_json_line(obj: Any) -> None:
    """One compact JSON object per line (streams such as `logs --json`)."""
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


_STATE_STYLE = {
    "JOB_SUCCESS": "green",
    "JOB_FAILURE": "red",
    "JOB_UNRUNNABLE": "red",
    "JOB_KILLED": "red",
    "": "dim",
}


def render_status(report: Any) -> None:
    """The `capstone status` view: pipelines, running jobs, recent jobs, failures."""
    render_table(
        ["PIPELINE", "STATE", "LAST JOB", "INPUT"],
        [(p.name, p.state, p.last_job_state, ", ".join(p.inputs)) for p in report.pipelines],
        title="pipelines",
        empty="no pipelines yet: run `capstone train --tsv FILE`",
    )
    if report.running:
        render_table(
            ["PIPELINE", "JOB", "STATE", "PROGRESS"],
            [
                (
                    j.pipeline,
                    j.id[:12],
                    j.state,
                    f"{j.data_processed + j.data_skipped + j.data_failed}/{j.data_total}",
                )
                for j in report.running
            ],
            title="running",
        )
    if report.recent_jobs:
        render_table(
            ["PIPELINE", "JOB", "STATE", "PROCESSED", "SKIPPED", "FAILED", "TOTAL", "REASON"],
            [
                (
                    j.pipeline,
                    j.id[:12],
                    j.state,
                    j.data_processed,
                    j.data_skipped,
                    j.data_failed,
                    j.data_total,
                    j.reason,
                )
                for j in report.recent_jobs
            ],
            title="recent jobs",
        )
    for job in report.failed_jobs:
        out.print(
            f"[red]failed job[/red] {job.pipeline}@{job.id}: {_escape(job.reason or job.state)}"
        )
    for failed in report.failed:
        out.print(
            f"[red]failed datum[/red] {failed.job.pipeline}@{failed.job.id[:12]} "
            f"{failed.datum.id[:12]}: {_escape(failed.datum.reason)}"
        )
        for line in failed.log_tail:
            out.print(f"    {_escape(line)}")


def render_dag(pipelines: Sequence[Any]) -> None:
    """A terminal drawing of the DAG: one line per pipeline, inputs on the left."""
    produced = {p.name for p in pipelines}
    for p in pipelines:
        style = _STATE_STYLE.get(p.last_job_state, "yellow")
        sources = ", ".join(
            f"[bold]{i}[/bold]" if i in produced else f"[cyan]{i}[/cyan]" for i in p.inputs
        )
        out.print(
            f"{sources} ──▶ [{style}]{p.name}[/{style}] [dim]({p.last_job_state or p.state})[/dim]"
        )
