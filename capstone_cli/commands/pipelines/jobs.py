"""`capstone jobs`, `capstone job inspect`, `capstone datum list`, `capstone logs`."""

from __future__ import annotations

from typing import Annotated

import typer

from capstone_cli import ui
from capstone_cli.commands import context
from capstone_cli.commands.options import AllOpt, JsonOpt
from capstone_cli.errors import UsageError
from capstone_cli.workflows.pipelines.lookup import check_pipeline, log_lines
from capstone_cli.workflows.pipelines.status import is_empty

SHORT_ID = 12  # as the status view; a unique prefix names a job everywhere

job_app = typer.Typer(help="Inspect jobs.", no_args_is_help=True)
datum_app = typer.Typer(help="List a job's datums.", no_args_is_help=True)

JOB_KEYS = (
    "pipeline",
    "id",
    "state",
    "data_total",
    "data_processed",
    "data_skipped",
    "data_failed",
    "data_recovered",
    "reason",
    "datum_progress",
)


def _pipeline_job(ref: str) -> tuple[str, str]:
    pipeline, at, job_id = ref.partition("@")
    if not at or not pipeline or not job_id:
        raise UsageError(
            f"expected PIPELINE@JOB_ID, got {ref!r}",
            hint="list jobs with `capstone jobs`, e.g. images@1f2e3d...",
        )
    return pipeline, job_id


def jobs(
    pipeline: Annotated[str | None, typer.Option("--pipeline", "-p", help="Only this one.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N jobs (0: all).")] = 0,
    all_: AllOpt = False,
    json_: JsonOpt = False,
) -> None:
    """List jobs, newest first, with Pachyderm's states and datum counts.

    IDs are shortened to 12 characters (any unique prefix names a job); --json has them whole.
    """
    backend = context.backend()
    if pipeline is not None:
        check_pipeline(backend, pipeline)
    items = [j for j in backend.list_jobs(pipeline) if all_ or not is_empty(j)]
    if limit:
        items = items[:limit]
    if json_:
        ui.render_json(
            [
                {k: j.to_json()[k] for k in JOB_KEYS}
                | {"created": j.created, "started": j.started, "finished": j.finished}
                for j in items
            ]
        )
        return
    ui.render_table(
        ["PIPELINE", "ID", "STATE", "PROGRESS", "FAILED", "CREATED", "REASON"],
        [
            (
                j.pipeline,
                j.id[:SHORT_ID],
                j.state,
                f"{j.data_processed + j.data_skipped + j.data_failed + j.data_recovered}"
                f"/{j.data_total}"
                + (f" ({ui.datum_progress_text(j)})" if j.datum_progress else ""),
                j.data_failed,
                j.created[5:19].replace("T", " "),
                j.reason,
            )
            for j in items
        ],
        empty="no jobs yet" if all_ else "no jobs with datums yet (--all: every job)",
    )


@job_app.command("inspect")
def job_inspect(
    ref: Annotated[str, typer.Argument(help="PIPELINE@JOB_ID")], json_: JsonOpt = False
) -> None:
    """One job: state, reason, counts, stats."""
    job = context.backend().inspect_job(*_pipeline_job(ref))
    if json_:
        ui.render_json(job.to_json())
        return
    ui.render_table(["FIELD", "VALUE"], list(job.to_json().items()))


@datum_app.command("list")
def datum_list(
    ref: Annotated[str, typer.Argument(help="PIPELINE@JOB_ID")], json_: JsonOpt = False
) -> None:
    """A job's datums with their state (SUCCESS, SKIPPED, FAILED, RECOVERED)."""
    items = context.backend().list_datums(*_pipeline_job(ref))
    if json_:
        ui.render_json([d.to_json() for d in items])
        return
    ui.render_table(
        ["ID", "FILES", "STATUS", "TIME", "REASON"],
        [(d.id, " ".join(d.files), d.state, f"{d.seconds:.2f}s", d.reason) for d in items],
        empty="no datums",
    )


def logs(
    pipeline: Annotated[
        str | None, typer.Option("--pipeline", "-p", help="Only this pipeline's logs.")
    ] = None,
    job: Annotated[
        str | None, typer.Option("--job", "-j", help="JOB_ID or PIPELINE@JOB_ID")
    ] = None,
    datum: Annotated[str | None, typer.Option("--datum", help="Datum ID.")] = None,
    master: Annotated[bool, typer.Option("--master", help="Orchestration lines only.")] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Logs of a pipeline, job or datum, as `pachctl logs`."""
    if job and "@" in job:
        pipeline, job = _pipeline_job(job)
    if master and not pipeline:
        raise UsageError("--master needs --pipeline", hint="e.g. capstone logs -p images --master")
    lines = log_lines(context.backend(), pipeline, job, datum, master, follow)
    try:
        for line in lines:
            if json_:
                ui.render_json_line(line.to_json())
            else:
                ui.render_text(
                    f"{line.ts[11:19]} {line.pipeline} {line.datum[:12] or 'master'} {line.message}"
                )
    except KeyboardInterrupt:
        if not follow:
            raise
        # Ctrl-C is how `logs -f` ends, as `pachctl logs -f`: a normal exit


def register(root: typer.Typer) -> None:
    root.command(rich_help_panel="Jobs")(jobs)
    root.add_typer(job_app, name="job", rich_help_panel="Jobs")
    root.add_typer(datum_app, name="datum", rich_help_panel="Jobs")
    root.command(rich_help_panel="Jobs")(logs)
