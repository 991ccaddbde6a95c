"""PPS over the engine: pipelines, jobs, datums and logs; jobs run in a background thread of the
server exactly as `capstone run` runs them (the same runner, so the same crash safety: each
finished datum persists at once and a restarted server resumes unfinished jobs).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import betterproto
from pachyderm_sdk.api import pfs, pps

from capstone_cli.engine.datums.listing import list_datums
from capstone_cli.engine.names import ref_of
from capstone_cli.engine.pipeline_spec import PipelineSpec
from capstone_cli.engine.run import jobs, pipeline_records, pipelines, runner
from capstone_cli.engine.run import logs as logsmod
from capstone_cli.engine.store.store import open_store
from capstone_cli.errors import ConflictError, NotFoundError, UsageError
from capstone_cli.results import TERMINAL_JOB_STATES
from capstone_cli.serve.home import Home, client_waiting, project_of, repo_key
from capstone_cli.serve.home import timestamp as ts
from capstone_cli.serve.status import PreconditionError, UnimplementedError
from capstone_cli.specs.parse import parse_spec

EMPTY = pfs.betterproto_lib_google_protobuf.Empty
log = logging.getLogger("capstone.serve")
POLL_S = 0.1


def _pipeline_msg(key: str) -> pps.Pipeline:
    ref = ref_of(key)
    return pps.Pipeline(project=pfs.Project(name=ref.project), name=ref.name)


class PipelineService:
    def __init__(self, home: Home) -> None:
        self.home = home
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.secrets: dict[str, pps.SecretInfo] = {}
        # pipeline -> the commit set its last create/update started: pachd's `spec_commit`, which
        # clients (capstone's pachyderm backend) follow after an update; kept for the server's life
        self.spec_commits: dict[str, str] = {}

    # -- the job runner ------------------------------------------------------------------
    def start_runner(self) -> None:
        threading.Thread(target=self._run, name="capstone-jobs", daemon=True).start()

    def _run(self) -> None:
        store = open_store(self.home.path)
        while not self.stop.is_set():
            try:
                runner.run_pending(store)
            except Exception:  # the runner records a job's failure; the server keeps serving
                log.exception("job runner")
            self.wake.wait(0.5)
            self.wake.clear()

    # -- pipelines -----------------------------------------------------------------------
    def create_pipeline(self, req: pps.CreatePipelineRequest, _ctx: Any) -> Any:
        doc = req.to_dict(casing=betterproto.Casing.SNAKE, include_default_values=False)
        self._apply(
            doc, project_of(req.pipeline.project), reprocess=req.reprocess, update=req.update
        )
        return EMPTY()

    def create_pipeline_v2(
        self, req: pps.CreatePipelineV2Request, _ctx: Any
    ) -> pps.CreatePipelineV2Response:
        """The JSON form pachctl and capstone's pachyderm backend send (pachd 2.8+)."""
        try:
            doc = json.loads(req.create_pipeline_request_json)
        except ValueError as exc:
            raise UsageError(f"malformed pipeline spec JSON: {exc}") from exc
        if not isinstance(doc, dict) or not (doc.get("pipeline") or {}).get("name"):
            raise UsageError("the pipeline spec JSON has no pipeline.name")
        named = doc["pipeline"].get("project") or {}
        project = project_of(pfs.Project(name=str(named.get("name", ""))))
        typed = self._apply(
            doc,
            project,
            reprocess=req.reprocess,
            update=req.update or bool(doc.get("update")),
            dry_run=req.dry_run,
        )
        return pps.CreatePipelineV2Response(
            effective_create_pipeline_request_json=json.dumps(typed.effective)
        )

    def _apply(
        self,
        doc: dict[str, Any],
        project: str,
        *,
        reprocess: bool,
        update: bool,
        dry_run: bool = False,
    ) -> PipelineSpec:
        """Create or update one pipeline; as pachd, an existing pipeline changes only when the
        request says `update` (pachctl's `update pipeline`), else ALREADY_EXISTS."""
        doc = dict(doc)
        doc.pop("update", None)
        doc.pop("reprocess", None)
        name = str(doc["pipeline"]["name"])
        doc["pipeline"] = {"name": name, "project": {"name": project}}
        typed = parse_spec(doc, name, default_project=project)
        if not update and pipeline_records.find_pipeline(self.home.store, typed.key) is not None:
            raise ConflictError(f'pipeline "{typed.key}" already exists')
        result = pipelines.apply_pipeline(
            self.home.store, typed, reprocess=reprocess, dry_run=dry_run
        )
        if result.job_id:
            self.spec_commits[typed.key] = result.job_id
        self.wake.set()
        return typed

    def _info(self, name: str, details: bool = True) -> pps.PipelineInfo:
        store = self.home.store
        rec = pipeline_records.get_pipeline(store, name)
        info = pipelines.pipeline_info(store, rec)
        spec = pps.CreatePipelineRequest().from_dict(
            {k: v for k, v in info.spec.items() if k != "pipeline"}
        )
        state = getattr(pps.PipelineState, info.state, pps.PipelineState.PIPELINE_RUNNING)
        return pps.PipelineInfo(
            pipeline=_pipeline_msg(name),
            version=info.version,
            spec_commit=pfs.Commit(id=self.spec_commits.get(name, "")),
            user_spec_json=json.dumps(info.spec),
            stopped=info.state == "PIPELINE_PAUSED",
            state=state,
            details=pps.PipelineInfoDetails(
                transform=spec.transform,
                input=spec.input,
                description=info.description,
                created_at=ts(info.created),
            ),
        )

    def inspect_pipeline(self, req: pps.InspectPipelineRequest, _ctx: Any) -> pps.PipelineInfo:
        return self._info(repo_key(req.pipeline), req.details)

    def list_pipeline(self, req: pps.ListPipelineRequest, _ctx: Any) -> Iterator[Any]:
        projects = {project_of(p) for p in req.projects}
        for rec in pipeline_records.list_pipelines(self.home.store):
            if not projects or ref_of(rec.name).project in projects:
                yield self._info(rec.name, req.details)

    def delete_pipeline(self, req: pps.DeletePipelineRequest, _ctx: Any) -> Any:
        store = self.home.store
        key = repo_key(req.pipeline)
        if pipeline_records.find_pipeline(store, key) is None:
            if req.force:
                return EMPTY()
            raise NotFoundError(f"pipeline {key} not found")
        pipelines.delete_pipeline(store, key, keep_repo=req.keep_repo)
        return EMPTY()

    def stop_pipeline(self, req: pps.StopPipelineRequest, _ctx: Any) -> Any:
        key = repo_key(req.pipeline)
        if pipeline_records.find_pipeline(self.home.store, key) is None:
            if req.must_exist:
                raise NotFoundError(f"pipeline {key} not found")
            return EMPTY()
        pipelines.set_stopped(self.home.store, key, True)
        return EMPTY()

    def start_pipeline(self, req: pps.StartPipelineRequest, _ctx: Any) -> Any:
        pipelines.set_stopped(self.home.store, repo_key(req.pipeline), False)
        self.wake.set()
        return EMPTY()

    def run_cron(self, req: pps.RunCronRequest, _ctx: Any) -> Any:
        pipeline_records.get_pipeline(self.home.store, repo_key(req.pipeline))
        raise PreconditionError(f"pipeline {req.pipeline.name} doesn't have a cron input")

    # -- jobs ----------------------------------------------------------------------------
    def _job_info(self, j: jobs.JobRow) -> pps.JobInfo:
        info = j.info()
        return pps.JobInfo(
            job=pps.Job(pipeline=_pipeline_msg(j.pipeline), id=j.id),
            pipeline_version=j.pipeline_version,
            state=getattr(pps.JobState, info.state, pps.JobState.JOB_STATE_UNKNOWN),
            reason=info.reason,
            data_total=info.data_total,
            data_processed=info.data_processed,
            data_skipped=info.data_skipped,
            data_failed=info.data_failed,
            data_recovered=info.data_recovered,
            created=ts(info.created),
            started=ts(info.started),
            finished=ts(info.finished),
        )

    def _wait_job(self, pipeline: str, job_id: str, ctx: Any) -> jobs.JobRow:
        """The job once it ends, or as it is when the client leaves."""
        store = self.home.store
        while True:
            j = jobs.get_job(store, pipeline, job_id)
            if j.state in TERMINAL_JOB_STATES or not client_waiting(ctx):
                return j
            self.wake.set()
            time.sleep(POLL_S)

    def inspect_job(self, req: pps.InspectJobRequest, ctx: Any) -> pps.JobInfo:
        name = repo_key(req.job.pipeline)
        j = (
            self._wait_job(name, req.job.id, ctx)
            if req.wait
            else jobs.get_job(self.home.store, name, req.job.id)
        )
        return self._job_info(j)

    def list_job(self, req: pps.ListJobRequest, _ctx: Any) -> Iterator[pps.JobInfo]:
        projects = {project_of(p) for p in req.projects}
        pipeline = repo_key(req.pipeline) if req.pipeline.name else None
        for j in jobs.list_jobs(self.home.store, pipeline):
            if not projects or ref_of(j.pipeline).project in projects:
                yield self._job_info(j)

    def inspect_job_set(self, req: pps.InspectJobSetRequest, ctx: Any) -> Iterator[Any]:
        found = jobs.list_jobs(self.home.store, commit_set=req.job_set.id)
        for j in found:
            yield self._job_info(self._wait_job(j.pipeline, j.id, ctx) if req.wait else j)

    def stop_job(self, req: pps.StopJobRequest, _ctx: Any) -> Any:
        store = self.home.store
        with store.transaction():
            j = jobs.get_job(store, repo_key(req.job.pipeline), req.job.id)
            if j.state not in TERMINAL_JOB_STATES:
                jobs.kill_job(store, j, req.reason or "stopped by StopJob")
        return EMPTY()

    def delete_job(self, req: pps.DeleteJobRequest, _ctx: Any) -> Any:
        """Stop the job, then forget it (pachd's deleteJobInTransaction)."""
        store = self.home.store
        with store.transaction():
            j = jobs.get_job(store, repo_key(req.job.pipeline), req.job.id)
            if j.state not in TERMINAL_JOB_STATES:
                jobs.kill_job(store, j, "job deleted")
            jobs.delete_job(store, j)
        return EMPTY()

    def restart_datum(self, req: pps.RestartDatumRequest, _ctx: Any) -> Any:
        # restarting acts on running datums; a finished job has none (pachd's message)
        j = jobs.get_job(self.home.store, repo_key(req.job.pipeline), req.job.id)
        if j.state in TERMINAL_JOB_STATES:
            raise NotFoundError(
                f"datum matching filter {list(req.data_filters)} could not be found for job ID"
                f" {j.id}"
            )
        raise UnimplementedError("restarting a running datum is not served")

    # -- secrets (kept in memory: jobs here run as local processes, without Kubernetes) ----
    def create_secret(self, req: pps.CreateSecretRequest, _ctx: Any) -> Any:
        doc = json.loads(req.file or b"{}")
        name = str(doc.get("metadata", {}).get("name", ""))
        if not name:
            raise UsageError("a secret needs metadata.name")
        self.secrets[name] = pps.SecretInfo(
            secret=pps.Secret(name=name),
            type=str(doc.get("type", "Opaque")),
            creation_timestamp=datetime.now(UTC),
        )
        return EMPTY()

    def inspect_secret(self, req: pps.InspectSecretRequest, _ctx: Any) -> pps.SecretInfo:
        info = self.secrets.get(req.secret.name)
        if info is None:
            raise NotFoundError(f'secrets "{req.secret.name}" not found')
        return info

    def list_secret(self, _req: Any, _ctx: Any) -> pps.SecretInfos:
        return pps.SecretInfos(secret_info=list(self.secrets.values()))

    def delete_secret(self, req: pps.DeleteSecretRequest, _ctx: Any) -> Any:
        if self.secrets.pop(req.secret.name, None) is None:
            raise NotFoundError(f'secrets "{req.secret.name}" not found')
        return EMPTY()

    def create_datum(self, requests: Iterator[pps.CreateDatumRequest], _ctx: Any) -> Iterator[Any]:
        """The datums a pipeline with this input would get, in batches the client asks for."""
        it = iter(requests)
        first = next(it, None)
        if first is None:
            return
        doc = {
            "pipeline": {"name": "create-datum"},
            "transform": {"cmd": ["true"]},
            "input": first.start.input.to_dict(casing=betterproto.Casing.SNAKE),
        }
        node = parse_spec(doc, "CreateDatum").input
        if node is None:
            raise UsageError("CreateDatum needs an input")
        datums = list_datums(node, self.home.store)
        batch = first.start.number or len(datums)
        pos = 0
        while pos < len(datums):
            for d in datums[pos : pos + batch]:
                yield pps.DatumInfo(
                    datum=pps.Datum(id=d.id),
                    state=pps.DatumState.UNKNOWN,
                    data=[
                        pfs.FileInfo(
                            file=pfs.File(
                                commit=pfs.Commit(
                                    repo=pfs.Repo(name=i.repo, type="user"), id=i.commit or ""
                                ),
                                path=i.file.path,
                            )
                        )
                        for i in d.inputs
                    ],
                )
            pos += batch
            if pos >= len(datums):
                return
            more = next(it, None)
            if more is None:
                return
            batch = more.continue_.number or first.start.number or len(datums)

    def list_datum(self, req: pps.ListDatumRequest, _ctx: Any) -> Iterator[pps.DatumInfo]:
        store = self.home.store
        j = jobs.get_job(store, repo_key(req.job.pipeline), req.job.id)
        for d in jobs.datum_infos(store, j.seq):
            yield pps.DatumInfo(
                datum=pps.Datum(job=req.job, id=d.id),
                state=getattr(pps.DatumState, d.state, pps.DatumState.UNKNOWN),
            )

    def inspect_datum(self, req: pps.InspectDatumRequest, ctx: Any) -> pps.DatumInfo:
        for d in self.list_datum(pps.ListDatumRequest(job=req.datum.job), ctx):
            if d.datum.id == req.datum.id:
                return d
        raise NotFoundError(f"datum {req.datum.id} not found in job {req.datum.job.id}")

    def get_logs(self, req: pps.GetLogsRequest, ctx: Any) -> Iterator[pps.LogMessage]:
        lines = logsmod.query_logs(
            self.home.store,
            repo_key(req.pipeline if req.pipeline.name else req.job.pipeline)
            if req.pipeline.name or req.job.pipeline.name
            else None,
            req.job.id or None,
            req.datum.id or None,
            req.master,
            req.follow,
            forever=req.follow,
            gone=lambda: not client_waiting(ctx),
        )
        for line in lines:
            if not ctx.is_active():
                return
            yield pps.LogMessage(
                pipeline_name=line.pipeline,
                job_id=line.job,
                datum_id=line.datum,
                message=line.message,
                master=line.master,
                ts=ts(line.ts) if line.ts else None,
            )
