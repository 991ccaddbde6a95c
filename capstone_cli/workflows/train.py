"""`capstone train`: split and upload the TSV, apply the training stages, follow, fetch.

The upload is one commit of every chunk (deleting the file's old chunks first, so a shorter
TSV leaves nothing stale); an identical TSV makes no commit at all on the embedded backend, and
unchanged chunks are skipped datum by datum everywhere else.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capstone_cli.backends.base import Backend
from capstone_cli.engine import faults
from capstone_cli.errors import CapstoneError, InputError, ModelError, NotFoundError
from capstone_cli.results import CommitInfo, JobInfo
from capstone_cli.specs.stages import TRAINING_STAGES
from capstone_cli.transfer import download
from capstone_cli.tsv import SplitReport, split_tsv
from capstone_cli.workflows.pipelines.apply import apply_stages
from capstone_cli.workflows.pipelines.follow import follow_commit_sets
from capstone_cli.workflows.progress import SILENT, Progress

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
    progress: Progress = SILENT,
    lines_per_datum: int = 5,
    strict: bool = False,
    local_root: Path | None = None,
) -> TrainResult:
    """Run the training DAG on `tsv` and fetch the model into `out_dir`.

    Skipped lines are reported (as warnings) once the upload is committed, before any job
    runs, rather than after a long training run. However the run ends, the images rejected by
    reason are counted: in the result, or in the raised error's `details` (and first in its
    message when no image survived, the usual cause of "no model").
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
        on_bytes=progress.upload_bytes,
    )
    faults.checkpoint("train.uploaded")
    _warn_malformed(tsv, report, progress)
    changed = commit.id != head_before
    unfinished = False
    if not changed:
        # a killed or interrupted earlier train may have left this upload's jobs unfinished
        unfinished = any(j.id == commit.id and not j.terminal for j in backend.list_jobs())
        progress.message(
            f"{tsv} is unchanged since the last upload: resuming the interrupted run"
            if unfinished
            else f"{tsv} is unchanged since the last upload: nothing to run"
        )
    commit_sets = [r.job_id for r in applied if r.job_id]
    if changed or unfinished:  # an upload finished earlier has no job of this run
        commit_sets.append(commit.id)
    result = TrainResult(split=report, commit=commit, changed=changed)
    try:
        result.jobs = follow_commit_sets(backend, commit_sets, progress)
        faults.checkpoint("train.followed")
        result.rejects, kept = image_outcomes(backend)
        _check_some_image_kept(result.rejects, kept)
        result.files = fetch_model(backend, out_dir)
    except CapstoneError as exc:
        if not result.rejects:
            result.rejects, kept = image_outcomes(backend)
            _check_some_image_kept(result.rejects, kept)  # the cause, said first
        exc.details["rejected_images"] = result.rejects
        raise
    faults.checkpoint("train.fetched")
    metrics = out_dir / "metrics.json"
    if metrics.exists():
        result.metrics = json.loads(metrics.read_text())
    return result


def _warn_malformed(tsv: Path, report: SplitReport, progress: Progress) -> None:
    """Each skipped line with its number and reason (the first 20), then how many more."""
    for number, reason in report.malformed[:20]:
        progress.warning(f"{tsv}:{number}: skipped malformed line ({reason})")
    if len(report.malformed) > 20:
        progress.warning(f"... and {len(report.malformed) - 20} more malformed lines")


def format_rejects(rejects: dict[str, int]) -> str:
    """`dns x98, http_404 x2`: most frequent reason first."""
    ranked = sorted(rejects.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(f"{reason} x{count}" for reason, count in ranked)


# Reasons that mean the images could not be reached at all: most likely no network.
_OFFLINE_REASONS = frozenset({"dns", "connection", "timeout"})


def _check_some_image_kept(rejects: dict[str, int], kept: int) -> None:
    """When every line was rejected no model can be trained: say so, and why."""
    if kept or not rejects:
        return
    total = sum(rejects.values())
    hint = "see `capstone logs -p images` for each rejected line"
    if set(rejects) & _OFFLINE_REASONS:
        hint = f"offline? try testdata/offline/train.tsv; {hint}"
    raise InputError(
        f"all {total} lines rejected: {format_rejects(rejects)}; no image to train on",
        hint=hint,
    )


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


def image_outcomes(backend: Backend) -> tuple[dict[str, int], int]:
    """(images rejected by reason, images kept), from images@master: each chunk's
    `rejects.tsv` (line, url, reason) and its PNG files."""
    reasons: Counter[str] = Counter()
    kept = 0
    try:
        for entry in backend.walk_files("images", "master"):
            if entry.path.endswith(".png"):
                kept += 1
            elif entry.path.endswith("/rejects.tsv"):
                text = b"".join(backend.read_file("images", "master", entry.path)).decode()
                for line in text.splitlines():
                    parts = line.split("\t")
                    if len(parts) >= 3:
                        reasons[parts[2]] += 1
    except CapstoneError:
        return {}, 0
    return dict(reasons), kept
