"""The PPS half of the fake pachd: pipelines, jobs, datums and logs, scripted by the tests.

Pipelines are kept as PipelineInfo messages and jobs, datums and log lines are set by each test;
the handlers answer them the way pachd 2.12 does where the backend depends on it, citing
src/server/pps/server/api_server.go at branch 2.12.x of github.com/pachyderm/pachyderm.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
from betterproto.lib.google.protobuf import Empty
from pachyderm_sdk.api import pfs, pps

CODES = grpc.StatusCode


def job(pipeline: str, job_id: str, state: pps.JobState, **fields: Any) -> pps.JobInfo:
    """A JobInfo message as pachd sends it (of the pipeline's first version unless told)."""
    fields.setdefault("pipeline_version", 1)
    return pps.JobInfo(
        job=pps.Job(pipeline=pps.Pipeline(name=pipeline), id=job_id), state=state, **fields
    )


class FakePps:
    """PPS state and handlers; mixed into FakePachd, which serves them."""

    def __init__(self) -> None:
        self.pipelines: dict[str, pps.PipelineInfo] = {}
        self.jobs: list[pps.JobInfo] = []  # in the order pachd created them
        self.job_sets: dict[str, list[list[pps.JobInfo]]] = {}  # id -> successive polls
        self.datums: list[pps.DatumInfo] = []
        self.log_messages: list[pps.LogMessage] = []  # the pipelines' logs
        self.pachd_logs = [pps.LogMessage(message="pachd: serving gRPC on :1650")]

    def pps_methods(self) -> dict[str, tuple[str, type[Any], Any]]:
        s = "/pps_v2.API/"
        return {
            s + "CreatePipelineV2": ("uu", pps.CreatePipelineV2Request, self.create_pipeline_v2),
            s + "InspectPipeline": ("uu", pps.InspectPipelineRequest, self.inspect_pipeline),
            s + "ListPipeline": ("us", pps.ListPipelineRequest, self.list_pipeline),
            s + "DeletePipeline": ("uu", pps.DeletePipelineRequest, self.delete_pipeline),
            s + "StopPipeline": ("uu", pps.StopPipelineRequest, self.stop_pipeline),
            s + "StartPipeline": ("uu", pps.StartPipelineRequest, self.start_pipeline),
            s + "ListJob": ("us", pps.ListJobRequest, self.list_job),
            s + "InspectJob": ("uu", pps.InspectJobRequest, self.inspect_job),
            s + "InspectJobSet": ("us", pps.InspectJobSetRequest, self.inspect_job_set),
            s + "ListDatum": ("us", pps.ListDatumRequest, self.list_datum),
            s + "GetLogs": ("us", pps.GetLogsRequest, self.get_logs),
        }

    def add_pipeline(self, name: str, user_spec: dict[str, Any], **fields: Any) -> None:
        fields.setdefault("version", 1)
        fields.setdefault("state", pps.PipelineState.PIPELINE_RUNNING)
        self.pipelines[name] = pps.PipelineInfo(
            pipeline=pps.Pipeline(name=name, project=pfs.Project(name="default")),
            user_spec_json=json.dumps(user_spec),
            effective_spec_json=json.dumps(user_spec),
            spec_commit=pfs.Commit(id=uuid.uuid4().hex),
            **fields,
        )

    def create_pipeline_v2(self, req: pps.CreatePipelineV2Request, ctx: Any) -> Any:
        spec = json.loads(req.create_pipeline_request_json)
        name = spec["pipeline"]["name"]
        if name in self.pipelines and not req.update:
            ctx.abort(CODES.ALREADY_EXISTS, f"pipeline {name} already exists")
        if not req.dry_run:
            version = self.pipelines[name].version + 1 if name in self.pipelines else 1
            self.add_pipeline(name, spec, version=version)
        return pps.CreatePipelineV2Response(effective_create_pipeline_request_json=json.dumps(spec))

    def _pipeline(self, pipeline: pps.Pipeline, ctx: Any) -> pps.PipelineInfo:
        if pipeline.name not in self.pipelines:  # ErrPipelineNotFound: NOT_FOUND (pps.go:30-36)
            ctx.abort(CODES.NOT_FOUND, f'pipeline "default/{pipeline.name}" not found')
        return self.pipelines[pipeline.name]

    def inspect_pipeline(self, req: pps.InspectPipelineRequest, ctx: Any) -> Any:
        return self._pipeline(req.pipeline, ctx)

    def list_pipeline(self, _: pps.ListPipelineRequest, __: Any) -> Iterator[Any]:
        return iter(list(self.pipelines.values()))

    def delete_pipeline(self, req: pps.DeletePipelineRequest, ctx: Any) -> Empty:
        self._pipeline(req.pipeline, ctx)
        del self.pipelines[req.pipeline.name]
        return Empty()

    def stop_pipeline(self, req: pps.StopPipelineRequest, ctx: Any) -> Empty:
        # A missing pipeline is an error only with must_exist (api_server.go:3321, 3352-3354).
        if req.pipeline.name not in self.pipelines and not req.must_exist:
            return Empty()
        info = self._pipeline(req.pipeline, ctx)
        info.stopped, info.state = True, pps.PipelineState.PIPELINE_PAUSED
        return Empty()

    def start_pipeline(self, req: pps.StartPipelineRequest, ctx: Any) -> Empty:
        info = self._pipeline(req.pipeline, ctx)  # always NOT_FOUND (api_server.go:3272-3275)
        info.stopped, info.state = False, pps.PipelineState.PIPELINE_RUNNING
        return Empty()

    def list_job(self, req: pps.ListJobRequest, ctx: Any) -> Iterator[Any]:
        """ListJob (api_server.go:766-870) over ppsutil.ListPipelineInfo (util.go:478-526).

        A named pipeline must exist; only jobs of the last `history` + 1 versions of existing
        pipelines are sent (history 0: the current version only, -1: all), newest first
        (SortByCreateRevision, SortDescend).
        """
        name = req.pipeline.name if req.pipeline else ""
        if name:
            self._pipeline(req.pipeline, ctx)
        history = int(req.history)
        oldest = {  # the oldest version whose jobs are sent (util.go:496-503)
            p: 1 if history < 0 or history >= int(info.version) else int(info.version) - history
            for p, info in self.pipelines.items()
        }
        found = [
            j
            for j in reversed(self.jobs)
            if (not name or j.job.pipeline.name == name)
            and j.job.pipeline.name in oldest
            and int(j.pipeline_version) >= oldest[j.job.pipeline.name]
        ]
        return iter(found)

    def inspect_job(self, req: pps.InspectJobRequest, ctx: Any) -> Any:
        for info in self.jobs:
            if info.job.id == req.job.id and info.job.pipeline.name == req.job.pipeline.name:
                return info
        ctx.abort(CODES.NOT_FOUND, f"job {req.job.pipeline.name}@{req.job.id} not found")

    def inspect_job_set(self, req: pps.InspectJobSetRequest, _: Any) -> Iterator[Any]:
        polls = self.job_sets.get(req.job_set.id, [[]])
        current = polls.pop(0) if len(polls) > 1 else polls[0]
        return iter(current)

    def list_datum(self, _: pps.ListDatumRequest, __: Any) -> Iterator[Any]:
        return iter(self.datums)

    def get_logs(self, req: pps.GetLogsRequest, ctx: Any) -> Iterator[Any]:
        # Neither pipeline nor job: pachd's own logs (api_server.go:1445-1453).
        pipeline = req.pipeline.name or req.job.pipeline.name
        if not pipeline:
            if req.datum.id:
                ctx.abort(
                    CODES.UNKNOWN,
                    "must specify the Job or Pipeline that the datum is from to get logs for it",
                )
            return iter(self.pachd_logs)
        return iter([m for m in self.log_messages if m.pipeline_name == pipeline])
