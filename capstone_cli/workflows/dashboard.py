"""Read-only views the dashboard (`capstone ui`) composes from backend reads.

Each function answers one page's question on either backend: the model's metrics, the predict
gallery, a job with its datums in triage order, a search by name or ID prefix. They hold no
HTML, so they can be used (and tested) from Python without the web stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from capstone_cli.backends.base import Backend
from capstone_cli.errors import CapstoneError
from capstone_cli.results import CommitInfo, DatumInfo, JobInfo, LogLine

METRICS_PATHS = ("/saved/metrics.json", "/metrics.json")
GALLERY_LIMIT = 200
METRICS_CAP = 4 << 20


@dataclass
class ModelReport:
    commit: CommitInfo | None
    path: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # why there is nothing to show

    def bleu_rows(self) -> list[tuple[str, float | None, float | None]]:
        """(metric, model, baseline) rows of the BLEU table, bleu1..bleu4."""
        model = self.metrics.get("bleu") or {}
        base = self.metrics.get("baseline_bleu") or {}
        return [(k, model.get(k), base.get(k)) for k in sorted(set(model) | set(base))]

    def loss_per_epoch(self) -> list[float]:
        return [float(x) for x in self.metrics.get("train_loss_per_epoch") or []]


def model_report(backend: Backend, repo: str = "model", branch: str = "master") -> ModelReport:
    """metrics.json of the latest commit of the model repo (the newest finished training)."""
    try:
        commits = backend.list_commits(repo, branch, limit=1)
    except CapstoneError as exc:
        return ModelReport(None, problem=f"no {repo} repo yet ({exc.message})")
    if not commits:
        return ModelReport(None, problem=f"the {repo} repo has no commits yet")
    commit = commits[0]
    for path in METRICS_PATHS:
        try:
            raw = backend.read_file_head(repo, commit.id, path, METRICS_CAP)
        except CapstoneError:
            continue
        try:
            return ModelReport(commit, path, json.loads(raw))
        except ValueError as exc:
            return ModelReport(commit, path, problem=f"{path} is not valid JSON: {exc}")
    return ModelReport(commit, problem=f"no metrics.json in {repo}@{commit.id[:12]}")


@dataclass
class Prediction:
    path: str  # the caption file in the predict repo
    image_repo: str
    image: str  # the image's path in `image_repo`
    caption: str


def predictions(
    backend: Backend, repo: str = "predict", images_repo: str = "inpredict"
) -> list[Prediction]:
    """Caption files of the predict repo with the image each one describes (`x.png.txt`),
    from the first page of the repo's root."""
    try:
        page = backend.list_files_page(repo, "master", "/", limit=GALLERY_LIMIT)
    except CapstoneError:
        return []
    out = []
    for entry in page.entries:
        if entry.type == "file" and entry.path.endswith(".txt"):
            text = backend.read_file_head(repo, "master", entry.path, 4096)
            image = entry.path.removesuffix(".txt")
            caption = text.decode(errors="replace").strip()
            out.append(Prediction(entry.path, images_repo, image, caption))
    return out


@dataclass
class JobReport:
    job: JobInfo
    datums: list[DatumInfo]  # failed first, then slowest
    failed_log_tail: list[LogLine]

    @property
    def duration(self) -> float | None:
        if not self.job.started:
            return None
        end = self.job.finished
        start = datetime.fromisoformat(self.job.started)
        stop = datetime.fromisoformat(end) if end else datetime.now(start.tzinfo)
        return (stop - start).total_seconds()


def job_report(backend: Backend, pipeline: str, job_id: str, tail: int = 20) -> JobReport:
    """A job, its datums in triage order, and the log tail of its first failed datum."""
    job = backend.inspect_job(pipeline, job_id)
    datums = sorted(
        backend.list_datums(pipeline, job_id),
        key=lambda d: (d.state != "FAILED", -d.seconds, d.id),
    )
    lines: list[LogLine] = []
    failed = next((d for d in datums if d.state == "FAILED"), None)
    if failed is not None:
        lines = list(backend.logs(pipeline, job_id, failed.id))[-tail:]
    return JobReport(job, datums, lines)


@dataclass
class SearchHit:
    kind: str  # repo | pipeline | job | commit
    label: str
    href: str


def search(backend: Backend, query: str, limit: int = 50) -> list[SearchHit]:
    """Repos and pipelines whose name, jobs and commits whose ID, starts with `query`."""
    q = query.strip().lower()
    if not q:
        return []
    hits: list[SearchHit] = []
    pipelines = {p.name for p in backend.list_pipelines()}
    repos = backend.list_repos()
    for name in sorted(pipelines):
        if name.lower().startswith(q):
            hits.append(SearchHit("pipeline", name, f"/pipelines/{name}"))
    for repo in repos:
        if repo.name.lower().startswith(q):
            hits.append(SearchHit("repo", repo.name, f"/repos/{repo.name}"))
    for job in backend.list_jobs():
        if job.id.lower().startswith(q):
            hits.append(
                SearchHit(
                    "job", f"{job.pipeline}@{job.id}", f"/pipelines/{job.pipeline}/jobs/{job.id}"
                )
            )
    for repo in repos:
        for commit in backend.list_commits(repo.name):
            if commit.id.lower().startswith(q):
                hits.append(
                    SearchHit(
                        "commit",
                        f"{repo.name}@{commit.id}",
                        f"/repos/{repo.name}/commits/{commit.id}",
                    )
                )
    return hits[:limit]
