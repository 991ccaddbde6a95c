"""Pages of the pipeline side: the DAG (and its exports), pipelines, jobs, datums and logs."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from capstone_cli.backends.base import Backend
from capstone_cli.results import JobInfo
from capstone_cli.web.dag import render_svg
from capstone_cli.web.server import endpoint, page
from capstone_cli.workflows.dashboard import job_report
from capstone_cli.workflows.pipelines.status import to_mermaid

DATUMS_PER_PAGE = 100
LOG_LINES_PER_PAGE = 200


def _running(jobs: list[JobInfo]) -> bool:
    return any(not j.terminal for j in jobs)


def _int_param(request: Request, name: str, default: int = 0) -> int:
    try:
        return max(0, int(request.query_params.get(name, default)))
    except ValueError:
        return default


def dag_page(request: Request, b: Backend) -> Response:
    pipelines, jobs = b.list_pipelines(), b.list_jobs()
    return page(
        request,
        "dag.html",
        svg=render_svg(pipelines, jobs),
        jobs=jobs[:10],
        live=_running(jobs),
    )


def dag_svg(request: Request, b: Backend) -> Response:
    svg = render_svg(b.list_pipelines(), b.list_jobs(), standalone=True)
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Disposition": 'attachment; filename="capstone-dag.svg"'},
    )


def dag_mermaid(request: Request, b: Backend) -> Response:
    return PlainTextResponse(
        to_mermaid(b.list_pipelines()),
        headers={"Content-Disposition": 'attachment; filename="capstone-dag.mmd"'},
    )


def pipelines_page(request: Request, b: Backend) -> Response:
    return page(request, "pipelines.html", pipelines=b.list_pipelines())


def input_tree(node: dict[str, Any]) -> dict[str, Any]:
    """A spec's input as a tree for the template: {kind, fields, children}."""
    for kind in ("cross", "union", "join", "group"):
        if kind in node:
            return {"kind": kind, "fields": [], "children": [input_tree(n) for n in node[kind]]}
    for kind in ("pfs", "cron"):
        if kind in node:
            leaf = node[kind]
            keys = ("name", "repo", "branch", "glob", "joinOn", "outerJoin", "groupBy", "lazy")
            fields = [(k, leaf[k]) for k in keys if k in leaf and leaf[k] not in ("", None)]
            return {"kind": kind, "fields": fields, "children": [], "repo": leaf.get("repo")}
    return {"kind": "unknown", "fields": [("spec", json.dumps(node))], "children": []}


def pipeline_page(request: Request, b: Backend) -> Response:
    name = request.path_params["name"]
    info = b.inspect_pipeline(name)
    jobs = b.list_jobs(name)
    spec = info.spec
    return page(
        request,
        "pipeline.html",
        p=info,
        spec_json=json.dumps(spec, indent=2, sort_keys=True),
        tree=input_tree(spec.get("input") or {}),
        batching=bool(spec.get("datumBatching")),
        parallelism_spec=spec.get("parallelismSpec"),
        jobs=jobs,
        live=_running(jobs),
    )


def jobs_page(request: Request, b: Backend) -> Response:
    jobs = b.list_jobs()
    return page(request, "jobs.html", jobs=jobs, live=_running(jobs))


def job_page(request: Request, b: Backend) -> Response:
    pipeline, job_id = request.path_params["name"], request.path_params["job"]
    report = job_report(b, pipeline, job_id)
    start = _int_param(request, "start")
    return page(
        request,
        "job.html",
        r=report,
        datums=report.datums[start : start + DATUMS_PER_PAGE],
        start=start,
        page_size=DATUMS_PER_PAGE,
        live=not report.job.terminal,
    )


def datum_page(request: Request, b: Backend) -> Response:
    pipeline, job_id = request.path_params["name"], request.path_params["job"]
    datum_id = request.path_params["datum"]
    job = b.inspect_job(pipeline, job_id)
    datum = next((d for d in b.list_datums(pipeline, job_id) if d.id == datum_id), None)
    lines = list(b.logs(pipeline, job_id, datum_id))
    start = _int_param(request, "start")
    return page(
        request,
        "datum.html",
        job=job,
        datum=datum,
        datum_id=datum_id,
        lines=lines[start : start + LOG_LINES_PER_PAGE],
        total=len(lines),
        start=start,
        page_size=LOG_LINES_PER_PAGE,
        live=not job.terminal,
    )


ROUTES = [
    Route("/", endpoint(dag_page)),
    Route("/dag.svg", endpoint(dag_svg)),
    Route("/dag.mmd", endpoint(dag_mermaid)),
    Route("/pipelines", endpoint(pipelines_page)),
    Route("/pipelines/{name}", endpoint(pipeline_page)),
    Route("/jobs", endpoint(jobs_page)),
    Route("/pipelines/{name}/jobs/{job}", endpoint(job_page)),
    Route("/pipelines/{name}/jobs/{job}/datums/{datum}", endpoint(datum_page)),
]
