"""An in-process gRPC server that speaks pachd's wire protocol, for contract tests.

It registers generic handlers for the pachd methods the Pachyderm backend calls, decodes every
request with pachyderm_sdk's own betterproto classes and records it as (method path, message), so
tests assert what went over the wire. It keeps just enough PFS state (repos, branches, commits,
files) for an upload to be read back, answers PPS calls from scripted data, and can fail any
method with a status code, immediately or after N streamed messages (a stream that breaks midway).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import betterproto
import grpc
from betterproto.lib.google.protobuf import BytesValue, Empty
from pachyderm_sdk.api import pfs, pps
from pachyderm_sdk.api.version import Version


@dataclass
class Failure:
    """Abort `method` with `code` after `after` streamed messages (0: at once), `times` times."""

    code: grpc.StatusCode
    message: str
    after: int = 0
    times: int | None = None


@dataclass
class FakeCommit:
    id: str
    repo: str
    branch: str
    parent: str | None
    files: dict[str, bytes]
    description: str = ""
    finished: bool = False
    error: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


class FakePachd:
    """Start with `FakePachd()`, point a client at `fake.address`, `stop()` at the end."""

    def __init__(self, version: tuple[int, int, int] = (2, 12, 2)) -> None:
        self.version = version
        self.requests: list[tuple[str, Any]] = []
        self.metadata: list[dict[str, str]] = []  # invocation metadata of every call
        self.streams_opened: dict[str, int] = {}  # client-streaming calls per method
        self.delays: dict[str, float] = {}  # method path -> seconds to stall before answering
        self.failures: dict[str, Failure] = {}
        self.lock = threading.Lock()
        self.repos: dict[str, pfs.RepoInfo] = {}
        self.heads: dict[tuple[str, str], str] = {}  # (repo, branch) -> commit id
        self.commits: dict[str, FakeCommit] = {}
        self.pipelines: dict[str, pps.PipelineInfo] = {}
        self.jobs: list[pps.JobInfo] = []
        self.job_sets: dict[str, list[list[pps.JobInfo]]] = {}  # id -> successive polls
        self.datums: list[pps.DatumInfo] = []
        self.log_messages: list[pps.LogMessage] = []
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers(self._handlers())
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)

    # -- test helpers ----------------------------------------------------------------------
    def fail(self, method: str, code: grpc.StatusCode, message: str, **kw: Any) -> None:
        self.failures[method] = Failure(code, message, **kw)

    def calls(self, method: str) -> list[Any]:
        """Recorded messages of one method (a short name like "FinishCommit" or a full path)."""
        return [msg for path, msg in self.requests if path == method or path.endswith("/" + method)]

    def methods(self) -> list[str]:
        return [path.rsplit("/", 1)[1] for path, _ in self.requests]

    def head_files(self, repo: str, branch: str = "master") -> dict[str, bytes]:
        head = self.heads.get((repo, branch))
        return dict(self.commits[head].files) if head else {}

    # -- plumbing --------------------------------------------------------------------------
    def _record(self, method: str, request: Any) -> None:
        with self.lock:
            self.requests.append((method, request))

    def _check(self, method: str, context: grpc.ServicerContext, sent: int = 0) -> None:
        failure = self.failures.get(method)
        if failure is None or sent < failure.after:
            return
        if failure.times is not None:
            failure.times -= 1
            if failure.times <= 0:
                del self.failures[method]
        context.abort(failure.code, failure.message)

    def _handlers(self) -> list[grpc.GenericRpcHandler]:
        table: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
        for path, (kind, request_cls, impl) in self._methods().items():
            service, method = path.strip("/").split("/")
            table.setdefault(service, {})[method] = self._handler(path, kind, request_cls, impl)
        return [grpc.method_handlers_generic_handler(s, m) for s, m in table.items()]

    def _handler(
        self, path: str, kind: str, request_cls: type[Any], impl: Callable[..., Any]
    ) -> grpc.RpcMethodHandler:
        parse = request_cls.FromString

        def unary(request: Any, context: grpc.ServicerContext) -> Any:
            self.metadata.append({k: str(v) for k, v in context.invocation_metadata()})
            self._record(path, request)
            time.sleep(self.delays.get(path, 0.0))
            self._check(path, context)
            return impl(request, context)

        def server_stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            self._record(path, request)
            sent = 0
            for item in impl(request, context):
                self._check(path, context, sent)
                yield item
                sent += 1
            self._check(path, context, sent)

        def client_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
            received: list[Any] = []
            self.streams_opened[path] = self.streams_opened.get(path, 0) + 1
            for request in requests:
                self._record(path, request)
                received.append(request)
                self._check(path, context, len(received))
            self._check(path, context, len(received))
            return impl(received, context)

        if kind == "uu":
            return grpc.unary_unary_rpc_method_handler(unary, parse, bytes)
        if kind == "us":
            return grpc.unary_stream_rpc_method_handler(server_stream, parse, bytes)
        return grpc.stream_unary_rpc_method_handler(client_stream, parse, bytes)

    def _methods(self) -> dict[str, tuple[str, type[Any], Callable[..., Any]]]:
        p, s = "/pfs_v2.API/", "/pps_v2.API/"
        return {
            "/versionpb_v2.API/GetVersion": ("uu", Empty, self.get_version),
            p + "CreateRepo": ("uu", pfs.CreateRepoRequest, self.create_repo),
            p + "InspectRepo": ("uu", pfs.InspectRepoRequest, self.inspect_repo),
            p + "ListRepo": ("us", pfs.ListRepoRequest, self.list_repo),
            p + "DeleteRepo": ("uu", pfs.DeleteRepoRequest, self.delete_repo),
            p + "StartCommit": ("uu", pfs.StartCommitRequest, self.start_commit),
            p + "FinishCommit": ("uu", pfs.FinishCommitRequest, self.finish_commit),
            p + "InspectCommit": ("uu", pfs.InspectCommitRequest, self.inspect_commit),
            p + "ListCommit": ("us", pfs.ListCommitRequest, self.list_commit),
            p + "DropCommitSet": ("uu", pfs.DropCommitSetRequest, self.drop_commit_set),
            p + "ModifyFile": ("su", pfs.ModifyFileRequest, self.modify_file),
            p + "GetFile": ("us", pfs.GetFileRequest, self.get_file),
            p + "ListFile": ("us", pfs.ListFileRequest, self.list_file),
            p + "WalkFile": ("us", pfs.WalkFileRequest, self.walk_file),
            s + "CreatePipelineV2": ("uu", pps.CreatePipelineV2Request, self.create_pipeline_v2),
            s + "InspectPipeline": ("uu", pps.InspectPipelineRequest, self.inspect_pipeline),
            s + "ListPipeline": ("us", pps.ListPipelineRequest, self.list_pipeline),
            s + "DeletePipeline": ("uu", pps.DeletePipelineRequest, self.delete_pipeline),
            s + "ListJob": ("us", pps.ListJobRequest, self.list_job),
            s + "InspectJob": ("uu", pps.InspectJobRequest, self.inspect_job),
            s + "InspectJobSet": ("us", pps.InspectJobSetRequest, self.inspect_job_set),
            s + "ListDatum": ("us", pps.ListDatumRequest, self.list_datum),
            s + "GetLogs": ("us", pps.GetLogsRequest, self.get_logs),
        }

    # -- version / repos -------------------------------------------------------------------
    def get_version(self, _: Empty, __: Any) -> Version:
        major, minor, micro = self.version
        return Version(major=major, minor=minor, micro=micro)

    def create_repo(self, req: pfs.CreateRepoRequest, ctx: grpc.ServicerContext) -> Empty:
        if req.repo.name in self.repos and not req.update:
            ctx.abort(grpc.StatusCode.ALREADY_EXISTS, f"repo {req.repo.name} already exists")
        self.repos[req.repo.name] = pfs.RepoInfo(
            repo=req.repo, description=req.description, created=datetime.now(UTC)
        )
        return Empty()

    def _repo_info(self, name: str, ctx: grpc.ServicerContext) -> pfs.RepoInfo:
        if name not in self.repos:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"repo default/{name} not found")
        return self.repos[name]

    def inspect_repo(self, req: pfs.InspectRepoRequest, ctx: grpc.ServicerContext) -> Any:
        return self._repo_info(req.repo.name, ctx)

    def list_repo(self, _: pfs.ListRepoRequest, __: Any) -> Iterator[pfs.RepoInfo]:
        return iter(list(self.repos.values()))

    def delete_repo(self, req: pfs.DeleteRepoRequest, ctx: grpc.ServicerContext) -> Any:
        self._repo_info(req.repo.name, ctx)
        del self.repos[req.repo.name]
        return pfs.DeleteRepoResponse(deleted=True)

    # -- commits ---------------------------------------------------------------------------
    def start_commit(self, req: pfs.StartCommitRequest, ctx: grpc.ServicerContext) -> Any:
        repo, branch = req.branch.repo.name, req.branch.name
        self._repo_info(repo, ctx)
        parent = self.heads.get((repo, branch))
        files = dict(self.commits[parent].files) if parent else {}
        commit = FakeCommit(uuid.uuid4().hex, repo, branch, parent, files, req.description)
        self.commits[commit.id] = commit
        self.heads[(repo, branch)] = commit.id
        return pfs.Commit(repo=req.branch.repo, branch=req.branch, id=commit.id)

    def _commit(self, ref: pfs.Commit, ctx: grpc.ServicerContext) -> FakeCommit:
        commit_id = ref.id or self.heads.get((ref.repo.name, ref.branch.name), "")
        if commit_id not in self.commits:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"commit {ref.repo.name}@{commit_id} not found")
        return self.commits[commit_id]

    def finish_commit(self, req: pfs.FinishCommitRequest, ctx: grpc.ServicerContext) -> Empty:
        commit = self._commit(req.commit, ctx)
        commit.finished, commit.error = True, req.error
        return Empty()

    def drop_commit_set(self, req: pfs.DropCommitSetRequest, ctx: grpc.ServicerContext) -> Any:
        commit = self.commits.pop(req.commit_set.id, None)
        if commit is None:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"commit set {req.commit_set.id} not found")
        assert commit is not None
        if commit.parent:
            self.heads[(commit.repo, commit.branch)] = commit.parent
        else:
            self.heads.pop((commit.repo, commit.branch), None)
        return Empty()

    def _commit_info(self, commit: FakeCommit) -> pfs.CommitInfo:
        repo = self.repos[commit.repo].repo
        info = pfs.CommitInfo(
            commit=pfs.Commit(
                repo=repo, id=commit.id, branch=pfs.Branch(repo=repo, name=commit.branch)
            ),
            origin=pfs.CommitOrigin(kind=pfs.OriginKind.USER),
            description=commit.description,
            started=commit.started,
            error=commit.error,
            size_bytes_upper_bound=sum(len(v) for v in commit.files.values()),
        )
        if commit.parent:
            info.parent_commit = pfs.Commit(repo=repo, id=commit.parent)
        if commit.finished:
            info.finished = commit.started
        return info

    def inspect_commit(self, req: pfs.InspectCommitRequest, ctx: grpc.ServicerContext) -> Any:
        return self._commit_info(self._commit(req.commit, ctx))

    def list_commit(self, req: pfs.ListCommitRequest, ctx: grpc.ServicerContext) -> Any:
        self._repo_info(req.repo.name, ctx)
        found = [c for c in self.commits.values() if c.repo == req.repo.name]
        found.reverse()  # newest first
        if req.number:
            found = found[: req.number]
        return iter([self._commit_info(c) for c in found])

    # -- files -----------------------------------------------------------------------------
    def modify_file(self, reqs: list[pfs.ModifyFileRequest], ctx: grpc.ServicerContext) -> Any:
        target: FakeCommit | None = None
        for req in reqs:
            kind, found = betterproto.which_one_of(req, "body")
            body: Any = found
            if kind == "set_commit":
                target = self._commit(body, ctx)
            elif target is None:
                ctx.abort(grpc.StatusCode.INVALID_ARGUMENT, "no commit set")
            elif kind == "delete_file":
                doomed = [
                    p for p in target.files if p == body.path or p.startswith(body.path + "/")
                ]
                for path in doomed:
                    del target.files[path]
            elif kind == "add_file":
                target.files[body.path] = target.files.get(body.path, b"") + (body.raw or b"")
        return Empty()

    def _listing(self, req: Any, ctx: grpc.ServicerContext) -> tuple[FakeCommit, str]:
        commit = self._commit(req.file.commit, ctx)
        path = "/" + req.file.path.strip("/")
        return commit, path

    def get_file(self, req: pfs.GetFileRequest, ctx: grpc.ServicerContext) -> Iterator[Any]:
        commit, path = self._listing(req, ctx)
        if path not in commit.files:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"file {path} not found")
        data = commit.files[path]
        return iter([BytesValue(value=data[i : i + 4]) for i in range(0, len(data), 4)])

    def _info(self, commit: FakeCommit, path: str, is_dir: bool) -> pfs.FileInfo:
        size = sum(len(v) for p, v in commit.files.items() if p == path or p.startswith(path))
        return pfs.FileInfo(
            file=pfs.File(path=path + ("/" if is_dir else "")),
            file_type=pfs.FileType.DIR if is_dir else pfs.FileType.FILE,
            size_bytes=size,
        )

    def list_file(self, req: pfs.ListFileRequest, ctx: grpc.ServicerContext) -> Iterator[Any]:
        commit, path = self._listing(req, ctx)
        if path in commit.files:
            return iter([self._info(commit, path, False)])
        prefix = path.rstrip("/") + "/"
        children: dict[str, bool] = {}
        for name in sorted(commit.files):
            if name.startswith(prefix):
                head, _, rest = name[len(prefix) :].partition("/")
                children[prefix + head] = bool(rest)
        if not children:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"path {path} not found")
        infos = [self._info(commit, child, d) for child, d in children.items()]
        # pachd's paging: entries (directories named `dir/`) after the marker, at most `number`
        marker = req.pagination_marker.path if req.pagination_marker else ""
        infos = sorted((i for i in infos if i.file.path > marker), key=lambda i: i.file.path)
        return iter(infos[: req.number] if req.number else infos)

    def walk_file(self, req: pfs.WalkFileRequest, ctx: grpc.ServicerContext) -> Iterator[Any]:
        commit, path = self._listing(req, ctx)
        prefix = path.rstrip("/") + "/"
        names = sorted(p for p in commit.files if p.startswith(prefix) or p == path)
        dirs = sorted({n[: n.rfind("/")] for n in names if n.rfind("/") > len(prefix) - 1})
        entries = [(n, False) for n in names] + [(d, True) for d in dirs]
        return iter([self._info(commit, n, d) for n, d in sorted(entries)])

    # -- pipelines and jobs (scripted) -----------------------------------------------------
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
            ctx.abort(grpc.StatusCode.ALREADY_EXISTS, f"pipeline {name} already exists")
        if not req.dry_run:
            version = self.pipelines[name].version + 1 if name in self.pipelines else 1
            self.add_pipeline(name, spec, version=version)
        return pps.CreatePipelineV2Response(effective_create_pipeline_request_json=json.dumps(spec))

    def inspect_pipeline(self, req: pps.InspectPipelineRequest, ctx: Any) -> Any:
        if req.pipeline.name not in self.pipelines:
            ctx.abort(grpc.StatusCode.NOT_FOUND, f"pipeline {req.pipeline.name} not found")
        return self.pipelines[req.pipeline.name]

    def list_pipeline(self, _: pps.ListPipelineRequest, __: Any) -> Iterator[Any]:
        return iter(list(self.pipelines.values()))

    def delete_pipeline(self, req: pps.DeletePipelineRequest, ctx: Any) -> Empty:
        self.inspect_pipeline(pps.InspectPipelineRequest(pipeline=req.pipeline), ctx)
        del self.pipelines[req.pipeline.name]
        return Empty()

    def list_job(self, req: pps.ListJobRequest, _: Any) -> Iterator[Any]:
        name = req.pipeline.name if req.pipeline else ""
        return iter([j for j in self.jobs if not name or j.job.pipeline.name == name])

    def inspect_job(self, req: pps.InspectJobRequest, ctx: Any) -> Any:
        for job in self.jobs:
            if job.job.id == req.job.id and job.job.pipeline.name == req.job.pipeline.name:
                return job
        ctx.abort(grpc.StatusCode.NOT_FOUND, f"job {req.job.pipeline.name}@{req.job.id} not found")

    def inspect_job_set(self, req: pps.InspectJobSetRequest, _: Any) -> Iterator[Any]:
        polls = self.job_sets.get(req.job_set.id, [[]])
        current = polls.pop(0) if len(polls) > 1 else polls[0]
        return iter(current)

    def list_datum(self, _: pps.ListDatumRequest, __: Any) -> Iterator[Any]:
        return iter(self.datums)

    def get_logs(self, _: pps.GetLogsRequest, __: Any) -> Iterator[Any]:
        return iter(self.log_messages)


def job(pipeline: str, job_id: str, state: pps.JobState, **fields: Any) -> pps.JobInfo:
    """A JobInfo message as pachd sends it."""
    return pps.JobInfo(
        job=pps.Job(pipeline=pps.Pipeline(name=pipeline), id=job_id), state=state, **fields
    )
