"""The Backend on a real Pachyderm 2.x cluster, through pachyderm_sdk.

This module and `pachyderm_connect` are the only ones that import pachyderm_sdk; importing it
costs no more than importing the SDK (about 0.3 s), and the CLI imports it only for
`--backend pachyderm`. Every gRPC failure goes through `rpc_error()` so a command shows one line
and a hint whatever call failed. Uploads never finish a half-written commit: the SDK's
`commit()` context manager finishes commits even when the block raises, so it is not used.
"""

from __future__ import annotations

import copy
import difflib
import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from pachyderm_sdk.api import pfs, pps

from capstone_cli.backends.base import Backend, ProgressFn
from capstone_cli.backends.pachyderm_connect import (
    RPC_FAILURES,
    UNREACHABLE_CODES,
    open_connection,
    rpc,
    rpc_error,
    rpc_status,
)
from capstone_cli.backends.pachyderm_convert import (
    canonical_spec,
    datum_info,
    job_info,
    log_line,
    pipeline_info,
    spec_lines,
)
from capstone_cli.backends.pachyderm_projects import PachydermBranches, PachydermProjects
from capstone_cli.engine.names import ref_of
from capstone_cli.errors import NotFoundError, PachydermError, UsageError
from capstone_cli.results import ApplyResult, DatumInfo, JobInfo, LogLine, PipelineInfo

if TYPE_CHECKING:  # type names only: a cluster backend never runs the engine
    from capstone_cli.engine.datums.explain import DatumReport
    from capstone_cli.engine.fsck import FsckReport
    from capstone_cli.engine.inputs import Input


POLL_DEADLINE_S = 10.0  # one InspectJobSet poll
UNREACHABLE_GRACE_S = 30.0  # how long wait_commit_set tolerates a pachd that stopped answering


class PachydermBackend(PachydermProjects, PachydermBranches, Backend):
    """Backend operations as pachd RPCs in one project."""

    name = "pachyderm"

    def __init__(
        self,
        client: Any,
        project: str = "default",
        *,
        wait_timeout_s: float | None = None,
        poll_deadline_s: float = POLL_DEADLINE_S,
        unreachable_grace_s: float = UNREACHABLE_GRACE_S,
        local_paths: bool = False,
    ) -> None:
        self.client = client
        self.local_paths = local_paths  # `capstone serve` here: its workers read our files
        self.project = project
        self.wait_timeout_s = wait_timeout_s
        self.poll_deadline_s = poll_deadline_s
        self.unreachable_grace_s = unreachable_grace_s

    @classmethod
    def connect(cls, address: str | None = None, project: str | None = None) -> PachydermBackend:
        """Resolve the cluster like pachctl, check it answers, and return a backend for it."""
        opened = open_connection(address, project)
        return cls(opened.client, opened.project, local_paths=opened.local)

    def close(self) -> None:
        channel = getattr(self.client, "_channel", None)
        if channel is not None and hasattr(channel, "close"):
            channel.close()

    def _pipeline(self, name: str) -> pps.Pipeline:
        ref = ref_of(name, self.project)
        return pps.Pipeline(name=ref.name, project=pfs.Project(name=ref.project))

    def _job(self, pipeline: str, job_id: str) -> pps.Job:
        return pps.Job(pipeline=self._pipeline(pipeline), id=job_id)

    # -- pipelines -----------------------------------------------------------------------
    def _submitted_spec(self, name: str) -> dict[str, Any] | None:
        """The spec the pipeline was last created with, or None when it does not exist.

        pachd keeps the user's JSON (`user_spec_json`) next to the effective one merged with
        cluster and project defaults; the user's is what a new spec should be compared with,
        or a spec that leaves a default implicit would always look changed.
        """
        try:
            info = self.client.pps.inspect_pipeline(pipeline=self._pipeline(name), details=True)
        except RPC_FAILURES as exc:
            error = rpc_error(exc, f"inspect pipeline {name}")
            if isinstance(error, NotFoundError):
                return None
            raise error from exc
        text = info.user_spec_json or info.effective_spec_json or "{}"
        spec: dict[str, Any] = json.loads(text)
        return self._with_project(spec)

    def _with_project(self, spec: dict[str, Any]) -> dict[str, Any]:
        """`spec` with pipeline.project set (to this backend's project when it has none)."""
        pipeline = dict(spec.get("pipeline") or {})
        if not (pipeline.get("project") or {}).get("name"):
            pipeline["project"] = {"name": self.project}
        return {**spec, "pipeline": pipeline}

    def apply_pipeline(
        self, spec: dict[str, Any], *, reprocess: bool = False, dry_run: bool = False
    ) -> ApplyResult:
        request = self._with_project(copy.deepcopy(spec))
        name = str(request["pipeline"].get("name") or "")
        if not name:
            raise UsageError("the pipeline spec has no pipeline.name", hint="add pipeline.name")
        old = self._submitted_spec(name)
        new_lines = spec_lines(canonical_spec(request))
        old_lines = spec_lines(canonical_spec(old) if old is not None else None)
        if old is not None and old_lines == new_lines and not reprocess:
            return ApplyResult(pipeline=name, action="unchanged")
        diff = list(difflib.unified_diff(old_lines, new_lines, "current", "new", lineterm=""))
        with rpc(f"{'update' if old is not None else 'create'} pipeline {name}"):
            self.client.pps.create_pipeline_v2(
                create_pipeline_request_json=json.dumps(request),
                dry_run=dry_run,
                update=old is not None,
                reprocess=reprocess,
            )
        result = ApplyResult(pipeline=name, action="created" if old is None else "updated")
        result.diff = diff
        if not dry_run:  # the spec commit's ID is the commit set, hence the job, it started
            with rpc(f"inspect pipeline {name}"):
                info = self.client.pps.inspect_pipeline(pipeline=self._pipeline(name))
            result.job_id = info.spec_commit.id or None
        return result

    def list_pipelines(self) -> list[PipelineInfo]:
        infos = self._stream(
            "list pipelines",
            lambda: self.client.pps.list_pipeline(
                projects=[pfs.Project(name=self.project)], details=True
            ),
            None,
        )
        return [pipeline_info(info) for info in infos]

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        with rpc(f"inspect pipeline {name}", "list pipelines with `capstone status`"):
            info = self.client.pps.inspect_pipeline(pipeline=self._pipeline(name), details=True)
        return pipeline_info(info)

    def delete_pipeline(self, name: str, keep_repo: bool = False) -> None:
        with rpc(f"delete pipeline {name}", "list pipelines with `capstone status`"):
            self.client.pps.delete_pipeline(
                pipeline=self._pipeline(name), keep_repo=keep_repo, must_exist=True
            )

    def set_pipeline_stopped(self, name: str, stopped: bool) -> None:
        with rpc(
            f"{'stop' if stopped else 'start'} pipeline {name}",
            "list pipelines with `capstone pipeline list`",
        ):
            if stopped:  # without must_exist pachd ignores a missing pipeline (api_server.go:3352)
                self.client.pps.stop_pipeline(pipeline=self._pipeline(name), must_exist=True)
            else:
                self.client.pps.start_pipeline(pipeline=self._pipeline(name))

    # -- jobs ----------------------------------------------------------------------------
    def list_jobs(self, pipeline: str | None = None) -> list[JobInfo]:
        # history=-1: jobs of every version, as the embedded backend lists them; pachd's
        # default (0) hides jobs of earlier versions (ppsutil/util.go:496-503).
        kwargs: dict[str, Any] = {"history": -1}
        if pipeline:
            kwargs["pipeline"] = self._pipeline(pipeline)
        else:
            kwargs["projects"] = [pfs.Project(name=self.project)]
        infos = self._stream(
            f"list jobs{' of ' + pipeline if pipeline else ''}",
            lambda: self.client.pps.list_job(**kwargs),
            "list pipelines with `capstone status`",
        )
        return [job_info(info) for info in infos]

    def inspect_job(self, pipeline: str, job_id: str) -> JobInfo:
        with rpc(f"inspect job {pipeline}@{job_id}", "list jobs with `capstone jobs`"):
            return job_info(self.client.pps.inspect_job(job=self._job(pipeline, job_id)))

    def _poll_deadline(self) -> AbstractContextManager[None]:
        deadlines = getattr(self.client, "deadlines", None)
        if deadlines is None:
            return nullcontext()
        scope: AbstractContextManager[None] = deadlines.stream_deadline(self.poll_deadline_s)
        return scope

    def _job_set(self, commit_set: str) -> list[JobInfo]:
        with self._poll_deadline():
            infos = self.client.pps.inspect_job_set(
                job_set=pps.JobSet(id=commit_set), wait=False, details=False
            )
            return [job_info(info) for info in infos]

    def wait_commit_set(
        self,
        commit_set: str,
        on_progress: ProgressFn | None = None,
        poll_seconds: float = 1.0,
        *,
        timeout_s: float | None = None,
    ) -> list[JobInfo]:
        """Poll pachd until every job of the commit set is terminal.

        Each poll has its own deadline, and a pachd that stops answering is retried only for
        `unreachable_grace_s`, so a vanished cluster ends the wait with UnreachableError rather
        than a hang. `timeout_s` (or the backend's `wait_timeout_s`) bounds the whole wait.
        """
        limit = timeout_s if timeout_s is not None else self.wait_timeout_s
        started = last_answer = time.monotonic()
        what = f"wait for the jobs of commit set {commit_set}"
        while True:
            try:
                jobs = self._job_set(commit_set)
                last_answer = time.monotonic()
            except RPC_FAILURES as exc:
                code, _ = rpc_status(exc)
                if (
                    code in UNREACHABLE_CODES
                    and time.monotonic() - last_answer < self.unreachable_grace_s
                ):
                    time.sleep(poll_seconds)
                    continue
                raise rpc_error(exc, what) from exc
            if on_progress is not None:
                on_progress(jobs)
            if all(job.terminal for job in jobs):
                return jobs
            if limit is not None and time.monotonic() - started >= limit:
                raise PachydermError(
                    f"{what}: still running after {limit:g}s",
                    hint=f"follow them with `capstone status`, or wait again for {commit_set}",
                )
            time.sleep(poll_seconds)

    def list_datums(self, pipeline: str, job_id: str) -> list[DatumInfo]:
        job = self._job(pipeline, job_id)
        infos = self._stream(
            f"list datums of {pipeline}@{job_id}",
            lambda: self.client.pps.list_datum(job=job),
            "list jobs with `capstone jobs`",
        )
        return [datum_info(info) for info in infos]

    def logs(
        self,
        pipeline: str | None = None,
        job_id: str | None = None,
        datum_id: str | None = None,
        master: bool = False,
        follow: bool = False,
    ) -> Iterator[LogLine]:
        """Log lines of a pipeline, job or datum; without a pipeline, every pipeline's in turn.

        GetLogs with neither pipeline nor job returns pachd's own server logs (pachd 2.12
        pps/server/api_server.go:1445-1453), not the pipelines', so that is never sent; and
        following every pipeline at once would need one stream per pipeline, so `follow`
        needs the pipeline.
        """
        if (job_id or master) and not pipeline:
            raise UsageError(
                "job and master logs need the pipeline", hint="add -p PIPELINE (pachctl's -j p@id)"
            )
        if datum_id and not job_id:
            raise UsageError("datum logs need the job", hint="add -j JOB_ID")
        if not pipeline:
            if follow:
                raise UsageError(
                    "following logs on a cluster needs the pipeline", hint="add -p PIPELINE"
                )
            return (line for info in self.list_pipelines() for line in self.logs(info.name))
        kwargs: dict[str, Any] = {"master": master, "follow": follow}
        if pipeline:
            kwargs["pipeline"] = self._pipeline(pipeline)
        if pipeline and job_id:
            kwargs["job"] = self._job(pipeline, job_id)
            if datum_id:
                kwargs["datum"] = pps.Datum(job=kwargs["job"], id=datum_id)
        messages = self._stream(
            f"get logs{' of ' + pipeline if pipeline else ''}",
            lambda: self.client.pps.get_logs(**kwargs),
            "list pipelines and jobs with `capstone status`",
        )
        return (log_line(message, pipeline or "") for message in messages)

    # -- what only the embedded engine's store can do ---------------------------------------
    def run_pending(self, on_progress: ProgressFn | None = None) -> list[JobInfo]:
        raise UsageError(
            "`capstone run` drives the embedded engine",
            hint="on a cluster jobs run by themselves: see `capstone status`",
        )

    def explain_datums(self, node: Input, pipeline: str = "") -> DatumReport:
        raise UsageError(
            "`capstone datums` reads the embedded store",
            hint="on a cluster use `pachctl list datum -f SPEC`",
        )

    def fsck(self, *, fix: bool = False) -> FsckReport:
        raise UsageError("fsck checks the embedded store", hint="on a cluster use `pachctl fsck`")
