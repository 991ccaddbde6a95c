"""Pipeline records: create, apply (idempotent), update (salt, reprocess, kills), delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipeline_records as PR
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.errors import ConflictError, NotFoundError, SpecError
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put, tree

COPY = ["sh", "-c", "cp -r /pfs/in/. /pfs/out/"]


def test_spec_codec_round_trips(store: Store) -> None:
    spec = make_spec(
        "p",
        COPY,
        {
            "cross": [
                pfs("a", "/*"),
                {
                    "join": [
                        pfs("b", "/(*)", joinOn="$1"),
                        pfs("c", "/(*)", joinOn="$1", outerJoin=True),
                    ]
                },
            ]
        },
        transform={"env": {"K": "V"}, "acceptReturnCode": [2], "errCmd": ["true"]},
        datumTimeout="5s",
    )
    assert PR.spec_from_json(PR.spec_to_json(spec)) == spec


def test_create_makes_output_repo_and_a_job_on_current_heads(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    job_id = P.create_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    (job,) = J.list_jobs(store)
    assert (job.pipeline, job.id, job.state) == ("copy", job_id, "JOB_CREATED")
    out = store.commits_in_set(job_id)
    assert [(c.repo, c.origin, c.finished) for c in out] == [("copy", "AUTO", None)]
    assert store.get_repo("copy").type == "user"


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        ("pipeline exists", ConflictError),
        ("repo exists", ConflictError),
        ("input missing", NotFoundError),
        ("cron", SpecError),
    ],
)
def test_create_refusals(store: Store, setup: str, error: type[Exception]) -> None:
    put(store, "in", {"/a": b"1"})
    spec = make_spec("copy", COPY, pfs("in", "/*"))
    if setup == "pipeline exists":
        P.create_pipeline(store, spec)
    elif setup == "repo exists":
        store.create_repo("copy")
    elif setup == "input missing":
        spec = make_spec("copy", COPY, pfs("nope", "/*"))
    else:
        spec = make_spec("copy", COPY, {"cron": {"name": "tick", "spec": "@every 60s"}})
    with pytest.raises(error):
        P.create_pipeline(store, spec)
    if setup != "pipeline exists":
        assert PR.find_pipeline(store, "copy") is None


def test_missing_input_branch_is_created_empty(store: Store) -> None:
    store.create_repo("in")
    P.create_pipeline(store, make_spec("copy", COPY, pfs("in", "/*", branch="dev")))
    assert "dev" in store.branches("in")
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 0, 0, 0, 0, 0)


def test_apply_is_idempotent_and_diffs(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    first = P.apply_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    assert first.action == "created" and first.job_id
    same = P.apply_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    assert (same.action, same.diff, same.job_id) == ("unchanged", [], None)
    dry = P.apply_pipeline(
        store, make_spec("copy", COPY, pfs("in", "/*"), datumTries=5), dry_run=True
    )
    assert dry.action == "updated" and dry.job_id is None
    assert any(line.startswith("+") and "datumTries" in line for line in dry.diff)
    assert PR.get_pipeline(store, "copy").version == 1
    upd = P.apply_pipeline(store, make_spec("copy", COPY, pfs("in", "/*"), datumTries=5))
    assert upd.action == "updated" and PR.get_pipeline(store, "copy").version == 2


def test_update_keeps_salt_and_reprocess_reruns_everything(store: Store, tmp_path: Path) -> None:
    put(store, "in", {f"/f{i}": b"x" for i in range(4)})
    P.create_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    R.run_pending(store)
    salt = PR.get_pipeline(store, "copy").salt
    changed = ["sh", "-c", "cp -r /pfs/in/. /pfs/out/ && true"]
    P.update_pipeline(store, make_spec("copy", changed, pfs("in", "/*")))
    assert PR.get_pipeline(store, "copy").salt == salt
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 4, 0, 4, 0, 0)
    P.update_pipeline(store, make_spec("copy", changed, pfs("in", "/*")), reprocess=True)
    assert PR.get_pipeline(store, "copy").salt != salt
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 4, 4, 0, 0, 0)
    assert len(tree(store, "copy")) == 4


def test_update_kills_unfinished_jobs(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    first = P.create_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    second = P.update_pipeline(store, make_spec("copy", COPY, pfs("in", "/*"), datumTries=2))
    old = J.get_job(store, "copy", first)
    assert (old.state, old.reason) == ("JOB_KILLED", P.KILLED_BY_UPDATE)
    (ran,) = R.run_pending(store)
    assert (ran.id, ran.state) == (second, "JOB_SUCCESS")


def test_stop_pauses_and_start_resumes(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    P.create_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    P.set_stopped(store, "copy", True)
    assert P.pipeline_state(store, PR.get_pipeline(store, "copy")) == "PIPELINE_PAUSED"
    assert R.run_pending(store) == []
    P.set_stopped(store, "copy", False)
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS"
    info = P.pipeline_info(store, PR.get_pipeline(store, "copy"))
    assert (info.state, info.last_job_state, info.inputs) == (
        "PIPELINE_RUNNING",
        "JOB_SUCCESS",
        ["in"],
    )


def test_delete_refuses_with_downstream_then_removes_everything(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    P.create_pipeline(store, make_spec("up", COPY, pfs("in", "/*")))
    P.create_pipeline(store, make_spec("down", ["true"], pfs("up", "/*")))
    R.run_pending(store)
    with pytest.raises(ConflictError):
        P.delete_pipeline(store, "up")
    P.delete_pipeline(store, "down")
    P.delete_pipeline(store, "up", keep_repo=True)
    assert PR.list_pipelines(store) == [] and J.list_jobs(store) == []
    assert store.get_repo("up").name == "up"
    P.create_pipeline(store, make_spec("up", COPY, pfs("in", "/*")))  # reuses its old repo
