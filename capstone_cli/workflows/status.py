"""`capstone status` and `capstone dag`: what the pipelines are doing, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from capstone_cli.backends.base import Backend
from capstone_cli.results import DatumInfo, JobInfo, PipelineInfo


@dataclass
class FailedDatum:
    job: JobInfo
    datum: DatumInfo
    log_tail: list[str]


@dataclass
class StatusReport:
    pipelines: list[PipelineInfo]
    recent_jobs: list[JobInfo]
    running: list[JobInfo]
    failed: list[FailedDatum] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "pipelines": [p.to_json() for p in self.pipelines],
            "running": [j.to_json() for j in self.running],
            "recent_jobs": [j.to_json() for j in self.recent_jobs],
            "failed_datums": [
                {
                    "pipeline": f.job.pipeline,
                    "job": f.job.id,
                    "datum": f.datum.id,
                    "reason": f.datum.reason,
                    "log_tail": f.log_tail,
                }
                for f in self.failed
            ],
        }


def status_report(backend: Backend, *, recent: int = 10, tail: int = 5) -> StatusReport:
    """Pipelines, running and recent jobs, and failed datums of failed jobs with log tails."""
    pipelines = backend.list_pipelines()
    jobs = backend.list_jobs()
    running = [j for j in jobs if not j.terminal]
    report = StatusReport(pipelines, jobs[:recent], running)
    latest: dict[str, JobInfo] = {}
    for job in jobs:
        latest.setdefault(job.pipeline, job)
    for job in latest.values():
        if job.state != "JOB_FAILURE" or not job.data_failed:
            continue
        for datum in backend.list_datums(job.pipeline, job.id):
            if datum.state == "FAILED":
                lines = [
                    line.message
                    for line in backend.logs(job.pipeline, job.id, datum.id, False, False)
                ]
                report.failed.append(FailedDatum(job, datum, lines[-tail:]))
    return report


def dag_edges(pipelines: list[PipelineInfo]) -> list[tuple[str, str]]:
    """(input repo, pipeline) edges of the pipeline graph."""
    return [(repo, p.name) for p in pipelines for repo in p.inputs]


def to_dot(pipelines: list[PipelineInfo]) -> str:
    lines = ["digraph capstone {", "  rankdir=LR;"]
    names = {p.name: p for p in pipelines}
    for p in pipelines:
        color = _colour(p.last_job_state)
        lines.append(
            f'  "{p.name}" [shape=box, color={color}, label="{p.name}\\n'
            f'{p.last_job_state or p.state}"];'
        )
    for src, dst in dag_edges(pipelines):
        if src not in names:
            lines.append(f'  "{src}" [shape=cylinder];')
        lines.append(f'  "{src}" -> "{dst}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(pipelines: list[PipelineInfo]) -> str:
    lines = ["graph LR"]
    names = {p.name for p in pipelines}
    for p in pipelines:
        lines.append(f"  {p.name}[{p.name}: {p.last_job_state or p.state}]")
    for src, dst in dag_edges(pipelines):
        if src not in names:
            lines.append(f"  {src}[({src})]")
        lines.append(f"  {src} --> {dst}")
    return "\n".join(lines) + "\n"


def _colour(state: str) -> str:
    return {
        "JOB_SUCCESS": "green",
        "JOB_FAILURE": "red",
        "JOB_UNRUNNABLE": "red",
        "JOB_KILLED": "red",
    }.get(state, "orange")
