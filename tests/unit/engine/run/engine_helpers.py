"""Helpers for engine tests: specs from dicts, puts that start jobs, trees, counts."""

from __future__ import annotations

from typing import Any

from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run.propagation import on_input_commit
from capstone_cli.engine.store.records import Commit, NewFile
from capstone_cli.engine.store.store import Store
from capstone_cli.specs.parse import parse_spec


def make_spec(
    name: str, cmd: list[str], input: dict[str, Any] | None, **extra: Any
) -> PipelineSpec:
    doc: dict[str, Any] = {"pipeline": {"name": name}, "transform": {"cmd": cmd}}
    if input is not None:
        doc["input"] = input
    transform_extra = extra.pop("transform", {})
    doc["transform"].update(transform_extra)
    doc.update(extra)
    return parse_spec(doc, f"{name}.yaml")


def pfs(repo: str, glob: str, **extra: Any) -> dict[str, Any]:
    return {"pfs": {"repo": repo, "glob": glob, **extra}}


def put(store: Store, repo: str, files: dict[str, bytes], delete: tuple[str, ...] = ()) -> Commit:
    return store.put_files(
        repo,
        "master",
        [NewFile(p, data=d) for p, d in files.items()],
        delete_paths=delete,
        on_commit=on_input_commit(store),
    )


def tree(store: Store, repo: str, branch: str = "master") -> dict[str, bytes]:
    head = store.head(repo, branch)
    assert head is not None
    return {p: store.blobs.read(d) for p, d, _s, _dt in store.iter_files(head)}


def counts(job: J.JobRow) -> tuple[str, int, int, int, int, int]:
    return (
        job.state,
        job.data_total,
        job.data_processed,
        job.data_skipped,
        job.data_failed,
        job.data_recovered,
    )
