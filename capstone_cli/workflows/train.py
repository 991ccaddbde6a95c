"""`capstone train`: split and upload the TSV, apply the training stages, follow, fetch.

The upload is one commit of every chunk (deleting the file's old chunks first, so a shorter
TSV leaves nothing stale); an identical TSV makes no commit at all on the embedded backend, and
unchanged chunks are skipped datum by datum everywhere else.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capstone_cli.backends.base import Backend
from capstone_cli.engine import faults
from capstone_cli.errors import CapstoneError, ModelError, NotFoundError
from capstone_cli.results import CommitInfo, JobInfo
from capstone_cli.specs.stages import TRAINING_STAGES
from capstone_cli.transfer import download
from capstone_cli.tsv import SplitReport, split_tsv
from capstone_cli.workflows import Follow
from capstone_cli.workflows.apply import apply_stages

RAWDATA = "rawdata"
MODEL_DIR = "/saved"


@dataclass
class TrainResult:
    split: SplitReport
    commit: CommitInfo
    jobs: list[JobInfo] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    rejects: dict[str, int] = field(default_factory=dict)
    changed: bool = True


def train(
    backend: Backend,
    tsv: Path,
    *,
    specs_dir: Path,
    out_dir: Path,
    follow: Follow,
    lines_per_datum: int = 5,
    strict: bool = False,
    local_root: Path | None = None,
    on_split: Callable[[SplitReport], None] | None = None,
) -> TrainResult:
    """Run the training DAG on `tsv` and fetch the model into `out_dir`.

    `on_split` sees the split report once the upload is committed, before any job runs, so
    skipped lines are reported at once rather than after a long training run.
    """
    report = SplitReport()
    chunks = split_tsv(
        tsv,
        lines_per_chunk=lines_per_datum,
        strict=strict,
        local_root=local_root,
        allow_local=backend.local_paths,
        report=report,
    )
    # The first chunk is split before anything is written: a missing, empty or unusable TSV
    # (or a malformed line within the first chunk under --strict) fails with no repo, pipeline
    # or commit created. A later error only drops the upload's commit.
    first = next(chunks)
    head_before = _head_id(backend, RAWDATA)
    applied = apply_stages(backend, specs_dir, list(TRAINING_STAGES))
    faults.checkpoint("train.applied")
    commit = backend.put_files(
        RAWDATA,
        "master",
        itertools.chain([first], chunks),
        delete_paths=[f"/{tsv.name}"],
        description=f"capstone train --tsv {tsv.name}",
        skip_unchanged=True,
    )
    faults.checkpoint("train.uploaded")
    if on_split is not None:
        on_split(report)
    commit_sets = [r.job_id for r in applied if r.job_id]
    changed = commit.id != head_before
    if changed:
        commit_sets.append(commit.id)
    jobs = follow(backend, commit_sets)
    if not changed:  # a killed earlier train may have left this upload's jobs unfinished
        follow(backend, [commit.id])
    faults.checkpoint("train.followed")
    result = TrainResult(split=report, commit=commit, jobs=jobs, changed=changed)
    result.rejects = count_rejects(backend)
    result.files = fetch_model(backend, out_dir)
    faults.checkpoint("train.fetched")
    metrics = out_dir / "metrics.json"
    if metrics.exists():
        result.metrics = json.loads(metrics.read_text())
    return result


def _head_id(backend: Backend, repo: str) -> str | None:
    try:
        commits = backend.list_commits(repo, "master", limit=1)
    except NotFoundError:
        return None
    return commits[0].id if commits else None


def fetch_model(backend: Backend, out_dir: Path) -> list[Path]:
    """Download model@master:/saved (saved_model.h5, vocabulary, metrics, params)."""
    try:
        return download(backend, "model", "master", MODEL_DIR, out_dir)
    except NotFoundError as exc:
        raise ModelError(
            "the model pipeline produced no model",
            hint="see `capstone logs -p model` and `capstone status`",
        ) from exc


def count_rejects(backend: Backend) -> dict[str, int]:
    """Images rejected by reason, from images@master:/*/rejects.tsv."""
    reasons: Counter[str] = Counter()
    try:
        entries = [
            e for e in backend.walk_files("images", "master") if e.path.endswith("/rejects.tsv")
        ]
        for entry in entries:
            text = b"".join(backend.read_file("images", "master", entry.path)).decode()
            for line in text.splitlines():
                parts = line.split("\t")
                if len(parts) >= 3:
                    reasons[parts[2]] += 1
    except CapstoneError:
        return {}
    return dict(reasons)
