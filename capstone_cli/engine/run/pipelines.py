"""Pipeline records of the embedded engine: create, update, apply, delete, stop and start.

A pipeline row keeps the typed spec (as JSON, see `spec_to_json`), the canonical effective spec
shown to users, its version and its salt. As in Pachyderm, creating or updating a pipeline is a
commit to its spec: it opens a commit set with a job for the pipeline and every pipeline
downstream of it, on the current input heads (`propagation.propagate`). Updating keeps the salt
(so unchanged datums are skipped) unless `reprocess` is asked for.
"""

from __future__ import annotations

import difflib
import json
import uuid
from typing import Any

from capstone_cli.engine.inputs import (
    CronInput,
    leaf_inputs,
)
from capstone_cli.engine.names import check_pipeline_name
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.engine.run import jobs as jobsmod
from capstone_cli.engine.run import propagation
from capstone_cli.engine.run.pipeline_records import (
    COLS,
    PipelineRecord,
    effective_of,
    find_pipeline,
    get_pipeline,
    input_repos,
    list_pipelines,
    spec_to_json,
)
from capstone_cli.engine.run.triggers import check_trigger
from capstone_cli.engine.store.records import new_id, now
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.unsupported import check_supported
from capstone_cli.errors import ConflictError, SpecError
from capstone_cli.results import ApplyResult, PipelineInfo

OUTPUT_REPO_DESCRIPTION = "Output repo for pipeline {name}."
KILLED_BY_UPDATE = "all jobs killed because pipeline was updated"


def _comparable(spec: PipelineSpec) -> dict[str, Any]:
    doc = spec_to_json(spec)
    doc.pop("source", None)
    return doc


# -- writing -------------------------------------------------------------------------------
def _check_inputs(store: Store, spec: PipelineSpec) -> None:
    """Refuse what the engine cannot run and missing input repos; create missing branches.

    Refusing is better than running a pipeline that silently behaves unlike Pachyderm.
    """
    check_supported(spec)  # before any repo lookup: a cron input is refused as cron
    if spec.input is None:
        return
    for leaf in leaf_inputs(spec.input):
        if isinstance(leaf, CronInput):
            continue  # refused above; kept for the type checker
        if leaf.repo_key == spec.key:
            raise SpecError(
                f"pipeline {spec.key} cannot take its own output repo as input",
                hint="rename the pipeline or the input repo",
            )
        store.get_repo(leaf.repo_key)  # NotFoundError with a hint
        store.ensure_branch(leaf.repo_key, leaf.branch)
        if leaf.trigger is not None:  # as pachd: the input branch gets the trigger, same head
            check_trigger(store, leaf.repo_key, leaf.branch, leaf.trigger)
            head = store.head(leaf.repo_key, leaf.branch)
            store.set_branch(leaf.repo_key, leaf.branch, head.rowid if head else None, leaf.trigger)


def _ensure_output_repo(store: Store, name: str) -> None:
    description = OUTPUT_REPO_DESCRIPTION.format(name=name)
    row = store.db.execute("SELECT description FROM repos WHERE name=?", (name,)).fetchone()
    if row is not None:
        if row[0] != description:
            raise ConflictError(
                f"cannot create pipeline {name!r}: a repo named {name!r} already exists",
                hint=f"rename the pipeline, or delete the repo with `capstone repo delete {name}`",
            )
        return
    store.db.execute(
        "INSERT INTO repos(name, type, description, created) VALUES(?, 'user', ?, ?)",
        (name, description, now()),
    )
    store.db.execute(
        "INSERT INTO branches(repo_id, name, head) SELECT id, 'master', NULL FROM repos "
        "WHERE name=?",
        (name,),
    )


def create_pipeline(store: Store, spec: PipelineSpec) -> str:
    """Create a pipeline and its first job; returns the job (commit set) ID."""
    check_pipeline_name(spec.name)
    with store.transaction():
        if find_pipeline(store, spec.key) is not None:
            raise ConflictError(
                f"pipeline {spec.key!r} already exists",
                hint="update it with `capstone pipeline update -f SPEC`, or delete it first",
            )
        store.get_project(spec.project)
        _check_inputs(store, spec)
        _ensure_output_repo(store, spec.key)
        store.ensure_branch(spec.key, spec.output_branch)
        stamp = now()
        store.db.execute(
            f"INSERT INTO pipelines({COLS}) VALUES(?,?,?,?,?,0,?,?)",
            (
                spec.key,
                1,
                json.dumps(spec_to_json(spec)),
                json.dumps(effective_of(spec)),
                spec.salt or uuid.uuid4().hex,
                stamp,
                stamp,
            ),
        )
        commit_set = new_id()
        propagation.propagate(store, commit_set, changed=(), forced=(spec.key,))
    return commit_set


def update_pipeline(store: Store, spec: PipelineSpec, *, reprocess: bool = False) -> str:
    """Replace a pipeline's spec (version + 1), kill its unfinished jobs, start a new job."""
    with store.transaction():
        old = get_pipeline(store, spec.key)
        _check_inputs(store, spec)
        store.ensure_branch(spec.key, spec.output_branch)
        jobsmod.kill_unfinished(store, spec.key, KILLED_BY_UPDATE)
        salt = uuid.uuid4().hex if reprocess else old.salt
        store.db.execute(
            "UPDATE pipelines SET version=?, spec=?, effective=?, salt=?, updated=? WHERE name=?",
            (
                old.version + 1,
                json.dumps(spec_to_json(spec)),
                json.dumps(effective_of(spec)),
                salt,
                now(),
                spec.key,
            ),
        )
        commit_set = new_id()
        propagation.propagate(store, commit_set, changed=(), forced=(spec.key,))
    return commit_set


def spec_diff(old: dict[str, Any], new: dict[str, Any], name: str) -> list[str]:
    """Unified diff lines between two effective specs (stable JSON rendering)."""
    a = json.dumps(old, indent=2, sort_keys=True).splitlines()
    b = json.dumps(new, indent=2, sort_keys=True).splitlines()
    return list(difflib.unified_diff(a, b, f"{name} (current)", f"{name} (new)", lineterm=""))


def apply_pipeline(
    store: Store, spec: PipelineSpec, *, reprocess: bool = False, dry_run: bool = False
) -> ApplyResult:
    """Create, update, or leave alone (idempotent): `unchanged` when the spec is the same."""
    old = find_pipeline(store, spec.key)
    new_effective = effective_of(spec)
    if old is None:
        diff = spec_diff({}, new_effective, spec.key)
        job = None if dry_run else create_pipeline(store, spec)
        return ApplyResult(spec.key, "created", diff, job)
    diff = spec_diff(old.effective, new_effective, spec.key)
    if _comparable(old.spec) == _comparable(spec) and not reprocess:
        return ApplyResult(spec.key, "unchanged", [], None)
    job = None if dry_run else update_pipeline(store, spec, reprocess=reprocess)
    return ApplyResult(spec.key, "updated", diff, job)


def delete_pipeline(store: Store, name: str, *, keep_repo: bool = False) -> None:
    """Delete a pipeline, its jobs, datums and logs, and (unless `keep_repo`) its output repo."""
    with store.transaction():
        get_pipeline(store, name)
        users = [p.name for p in list_pipelines(store) if name in input_repos(p.spec)]
        if users:
            raise ConflictError(
                f"cannot delete pipeline {name!r}: pipelines {', '.join(users)} read its output",
                hint=f"delete {', '.join(users)} first",
            )
        jobsmod.kill_unfinished(store, name, "pipeline was deleted")
        jobsmod.delete_jobs(store, name)
        store.db.execute("DELETE FROM pipelines WHERE name=?", (name,))
    if not keep_repo:
        store.delete_repo(name)


def set_stopped(store: Store, name: str, stopped: bool) -> None:
    """`stop` pauses a pipeline (its jobs wait); `start` resumes it."""
    with store.transaction():
        get_pipeline(store, name)
        store.db.execute(
            "UPDATE pipelines SET stopped=?, updated=? WHERE name=?", (int(stopped), now(), name)
        )


def pipeline_state(store: Store, rec: PipelineRecord) -> str:
    """PAUSED when stopped; STANDBY with autoscaling and no pending job; else RUNNING."""
    if rec.stopped:
        return "PIPELINE_PAUSED"
    if rec.spec.autoscaling and not jobsmod.has_unfinished(store, rec.name):
        return "PIPELINE_STANDBY"
    return "PIPELINE_RUNNING"


def pipeline_info(store: Store, rec: PipelineRecord) -> PipelineInfo:
    """The backend record of a pipeline, with its last job's state."""
    last = jobsmod.list_jobs(store, rec.name)
    return PipelineInfo(
        name=rec.name,
        version=rec.version,
        state=pipeline_state(store, rec),
        last_job_state=last[0].state if last else "",
        last_job_id=last[0].id if last else "",
        inputs=input_repos(rec.spec),
        created=rec.created,
        description=rec.spec.description,
        parallelism=rec.spec.parallelism,
        spec=rec.effective,
    )
