"""`capstone status` and `capstone dag`: what the pipelines are doing, as data."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from capstone_cli.backends.base import Backend
from capstone_cli.engine.worker.pfsmount import PfsMode, pfs_mode
from capstone_cli.results import DatumInfo, JobInfo, PipelineInfo
from capstone_cli.workflows.pipelines.diagnosis import failed_datum_tail


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
    failed_jobs: list[JobInfo] = field(default_factory=list)  # DAG order: the cause first
    pfs: PfsMode | None = None  # how local datum processes see /pfs; None: workers elsewhere

    def to_json(self) -> dict[str, Any]:
        return {
            "pfs": self.pfs.to_json() if self.pfs is not None else None,
            "pipelines": [p.to_json() for p in self.pipelines],
            "running": [j.to_json() for j in self.running],
            "recent_jobs": [j.to_json() for j in self.recent_jobs],
            "failed_jobs": [j.to_json() for j in self.failed_jobs],
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


def status_report(
    backend: Backend, *, recent: int = 10, tail: int = 5, show_all: bool = False
) -> StatusReport:
    """Pipelines (in DAG order), running and recent jobs (empty finished jobs only with
    `show_all`), the latest failed job of each pipeline, and failed datums with log tails."""
    pipelines = dag_pipelines(backend)
    order = [p.name for p in pipelines]
    jobs = [j for j in backend.list_jobs() if show_all or not is_empty(j)]
    running = [j for j in jobs if not j.terminal]
    report = StatusReport(
        pipelines, jobs[:recent], running, pfs=pfs_mode() if backend.local_paths else None
    )
    latest: dict[str, JobInfo] = {}
    for job in jobs:
        latest.setdefault(job.pipeline, job)
    for job in in_dag_order(list(latest.values()), order):
        if job.state != "JOB_FAILURE":
            continue
        report.failed_jobs.append(job)
        if job.data_failed:
            for datum, lines in failed_datum_tail(backend, job, tail):
                report.failed.append(FailedDatum(job, datum, lines))
    return report


def dag_pipelines(backend: Backend) -> list[PipelineInfo]:
    """The pipelines in DAG order (`capstone dag`, `status`)."""
    pipelines = backend.list_pipelines()
    order = dag_order(pipelines)
    return sorted(pipelines, key=lambda p: order.index(p.name))


def dag_order(pipelines: list[PipelineInfo]) -> list[str]:
    """Pipeline names, each after the pipelines it reads (ties by name): the order rows are
    shown in, and the order in which the first failed job is the cause of the others."""
    inputs = {p.name: set(p.inputs) for p in pipelines}
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(inputs):
        ready = sorted(
            name
            for name, reads in inputs.items()
            if name not in placed and not (reads & (inputs.keys() - placed))
        )
        if not ready:  # a cycle cannot be created; keep the rest in name order regardless
            ready = sorted(inputs.keys() - placed)
        order.extend(ready)
        placed.update(ready)
    return order


def is_empty(job: JobInfo) -> bool:
    """A finished job that had no datum (pipeline creation, an input with no matching file)."""
    return job.terminal and job.data_total == 0 and not job.reason


def in_dag_order(jobs: Sequence[JobInfo], order: Sequence[str]) -> list[JobInfo]:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(jobs, key=lambda j: rank.get(j.pipeline, len(rank)))


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
    edges = dag_edges(pipelines)
    for source in dict.fromkeys(src for src, _ in edges if src not in names):
        lines.append(f'  "{source}" [shape=cylinder];')
    for src, dst in edges:
        lines.append(f'  "{src}" -> "{dst}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(pipelines: list[PipelineInfo]) -> str:
    lines = ["graph LR"]
    names = {p.name for p in pipelines}
    for p in pipelines:
        lines.append(f"  {p.name}[{p.name}: {p.last_job_state or p.state}]")
    edges = dag_edges(pipelines)
    for source in dict.fromkeys(src for src, _ in edges if src not in names):
        lines.append(f"  {source}[({source})]")  # each input repo declared once
    for src, dst in edges:
        lines.append(f"  {src} --> {dst}")
    return "\n".join(lines) + "\n"


def _colour(state: str) -> str:
    return {
        "JOB_SUCCESS": "green",
        "JOB_FAILURE": "red",
        "JOB_UNRUNNABLE": "red",
        "JOB_KILLED": "red",
    }.get(state, "orange")
