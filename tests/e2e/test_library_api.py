"""The workflows are a library: `train`, `status_report`, `apply_stages` driven from Python, no
CLI, with a recording `Progress` (the protocol the CLI's live display implements)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from capstone_cli.backends import open_backend
from capstone_cli.backends.base import Backend
from capstone_cli.errors import InputError
from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.results import JobInfo
from capstone_cli.settings import resolve
from capstone_cli.workflows.pipelines.apply import apply_stages
from capstone_cli.workflows.pipelines.status import status_report
from capstone_cli.workflows.progress import Progress
from capstone_cli.workflows.train import train
from tests.e2e.test_train_predict import subset_tsv
from tests.smallspecs import training_specs

PIPELINES = ["images", "features", "consolidate", "model"]


class Recorder:
    """Every callback as an event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def jobs_started(self, title: str) -> None:
        self.events.append(("started", title))

    def jobs_updated(self, jobs: Sequence[JobInfo]) -> None:
        self.events.append(("jobs", [(j.pipeline, j.state, j.data_total) for j in jobs]))

    def jobs_finished(self) -> None:
        self.events.append(("finished", None))

    def upload_bytes(self, n: int) -> None:
        self.events.append(("bytes", n))

    def message(self, text: str) -> None:
        self.events.append(("message", text))

    def warning(self, text: str) -> None:
        self.events.append(("warning", text))

    def of(self, kind: str) -> list[object]:
        return [value for k, value in self.events if k == kind]


@pytest.fixture
def backend(capstone_home: Path) -> Iterator[Backend]:
    opened = open_backend(resolve(home=str(capstone_home)))
    yield opened
    opened.close()


def unreachable_tsv(folder: Path, lines: int) -> Path:
    """Captions whose hosts cannot resolve (`.invalid`, RFC 6761): dns rejects, no network."""
    folder.mkdir(parents=True, exist_ok=True)
    tsv = folder / "unreachable.tsv"
    tsv.write_text(
        "".join(f"a dog {i}\thttp://img{i}.example.invalid/x.jpg\n" for i in range(lines))
    )
    return tsv


def check_shown_jobs(recorder: Recorder, commit_set: str) -> None:
    """One header, naming the data's commit set; rows in DAG order; no empty finished job."""
    assert recorder.of("started") == [f"commit set {commit_set}"]
    for rows in recorder.of("jobs"):
        assert isinstance(rows, list)
        names = [name for name, _, _ in rows]
        assert names == sorted(names, key=PIPELINES.index)
        assert not any(state == "JOB_SUCCESS" and total == 0 for _, state, total in rows)
    assert len(recorder.of("finished")) == 1


def test_train_from_python_reports_through_progress(backend: Backend, tmp_path: Path) -> None:
    recorder = Recorder()
    progress: Progress = recorder  # the protocol, checked by mypy
    tsv = unreachable_tsv(tmp_path / "data", 7)
    with pytest.raises(InputError) as failed:
        train(backend, tsv, specs_dir=PACKAGED_SPECS, out_dir=tmp_path / "out", progress=progress)
    assert failed.value.message.startswith("all 7 lines rejected: dns x7")
    assert failed.value.details["rejected_images"] == {"dns": 7}
    assert sum(n for n in recorder.of("bytes") if isinstance(n, int)) == tsv.stat().st_size
    data_commit = backend.list_commits("rawdata", "master", limit=1)[0].id
    check_shown_jobs(recorder, data_commit)
    report = status_report(backend)
    assert [p.name for p in report.pipelines] == PIPELINES
    assert all(j.data_total for j in report.recent_jobs)  # the 0/0 creation jobs are hidden
    assert any(not j.data_total for j in status_report(backend, show_all=True).recent_jobs)
    # apply again: nothing changed, nothing to follow
    assert {r.action for r in apply_stages(backend, PACKAGED_SPECS, PIPELINES)} == {"unchanged"}


@pytest.mark.ml
@pytest.mark.slow
def test_train_from_python_fetches_the_model(backend: Backend, tmp_path: Path) -> None:
    recorder = Recorder()
    specs = training_specs(tmp_path / "specs", image_size=32, epochs=1)
    tsv = subset_tsv(tmp_path, 10)
    result = train(backend, tsv, specs_dir=specs, out_dir=tmp_path / "out", progress=recorder)
    assert (tmp_path / "out" / "saved_model.h5") in result.files
    check_shown_jobs(recorder, result.commit.id)
    final = recorder.of("jobs")[-1]
    assert final == [(name, "JOB_SUCCESS", total) for name, _, total in final]
    assert [name for name, _, _ in final] == PIPELINES
    # the model stage shows as running (with its one datum) while it trains, not CREATED 0/0
    assert any(("model", "JOB_RUNNING", 1) in rows for rows in recorder.of("jobs"))  # type: ignore[operator]
