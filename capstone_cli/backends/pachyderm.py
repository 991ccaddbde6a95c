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
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import Any, TypeVar

from pachyderm_sdk.api import pfs, pps

from capstone_cli.backends.base import Backend, ProgressFn
from capstone_cli.backends.pachyderm_connect import RPC_FAILURES, connect, rpc_status
from capstone_cli.errors import (
    AuthError,
    CapstoneError,
    ConflictError,
    InputError,
    NotFoundError,
    PachydermError,
    UnreachableError,
    UsageError,
)
from capstone_cli.results import (
    ApplyResult,
    CommitInfo,
    DatumInfo,
    FileEntry,
    FilePage,
    JobInfo,
    LogLine,
    PipelineInfo,
    RepoInfo,
    Upload,
)

T = TypeVar("T")
CHUNK_BYTES = 16 * 1024 * 1024  # below pachd's and the SDK's 20 MB message limit
POLL_DEADLINE_S = 10.0  # one InspectJobSet poll
UNREACHABLE_GRACE_S = 30.0  # how long wait_commit_set tolerates a pachd that stopped answering
_UNREACHABLE = ("UNAVAILABLE", "DEADLINE_EXCEEDED")
_MAP_FIELDS = frozenset({"env", "labels", "annotations", "nodeSelector", "node_selector"})


def rpc_error(exc: BaseException, what: str, not_found_hint: str | None = None) -> CapstoneError:
    """The capstone error for a failed pachd call made while doing `what`."""
    code, message = rpc_status(exc)
    lowered = message.lower()
    text = f"{what}: {message}"
    if code == "NOT_FOUND" or (code == "UNKNOWN" and "not found" in lowered):
        return NotFoundError(text, hint=not_found_hint)
    if code == "ALREADY_EXISTS" or (code == "UNKNOWN" and "already exists" in lowered):
        return ConflictError(text, hint="inspect what exists with `capstone status`")
    if code in _UNREACHABLE:
        return UnreachableError(
            f"{what}: pachd is unreachable: {message}",
            hint="check `pachctl port-forward` and PACHD_ADDRESS, then run the command again",
        )
    if code in ("UNAUTHENTICATED", "PERMISSION_DENIED"):
        return AuthError(
            f"{what}: {code.lower().replace('_', ' ')}: {message}",
            hint="log in with `pachctl auth login`, or ask for access to the project",
        )
    return PachydermError(f"{what}: {message} ({code})")


@contextmanager
def _rpc(what: str, not_found_hint: str | None = None) -> Iterator[None]:
    try:
        yield
    except RPC_FAILURES as exc:
        raise rpc_error(exc, what, not_found_hint) from exc


def _ts(value: datetime | None) -> str:
    """RFC 3339 text of a timestamp; "" for an unset one (betterproto decodes unset as 1970)."""
    if value is None or value.timestamp() <= 0:
        return ""
    return value.isoformat().replace("+00:00", "Z")


def _name(enum_cls: Any, value: Any) -> str:
    """Enum name of a field value (betterproto decodes enum fields as plain ints)."""
    try:
        return str(enum_cls(int(value)).name)
    except (TypeError, ValueError):
        return str(value)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def canonical_spec(value: Any, in_map: bool = False) -> Any:
    """A spec in one comparable form: camelCase keys, proto3 defaults (empty, 0, false) dropped.

    pachd accepts snake_case and camelCase and omits default values when it stores a spec, so a
    spec is "unchanged" when these forms are equal. Keys of map fields (env vars, labels) are
    user data and are kept as written.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if in_map else _camel(key)
            item = canonical_spec(item, in_map=not in_map and name in _MAP_FIELDS)
            if in_map or item not in (None, "", [], {}, False, 0):
                out[name] = item
        return out
    if isinstance(value, list):
        return [canonical_spec(item) for item in value]
    return value


def _spec_lines(spec: dict[str, Any] | None) -> list[str]:
    if spec is None:
        return []
    return json.dumps(spec, indent=2, sort_keys=True).splitlines()


class _ModifyFileFeeder:
    """Yields one ModifyFile stream for a whole upload and remembers a local failure.

    A local error (an unreadable source file) must cancel the RPC, never end the stream early,
    or pachd would accept a partial upload; so it is re-raised inside the generator (gRPC then
    cancels the call) and kept in `error` for the caller to report instead of CANCELLED.
    """

    def __init__(
        self,
        commit: pfs.Commit,
        uploads: Iterable[Upload],
        delete_paths: Iterable[str],
        on_bytes: Callable[[int], None] | None,
    ) -> None:
        self.commit, self.uploads, self.delete_paths = commit, uploads, delete_paths
        self.on_bytes = on_bytes
        self.error: BaseException | None = None
        self.files = 0

    def messages(self) -> Iterator[pfs.ModifyFileRequest]:
        try:
            yield pfs.ModifyFileRequest(set_commit=self.commit)
            for path in self.delete_paths:
                yield pfs.ModifyFileRequest(delete_file=pfs.DeleteFile(path=_abs(path)))
            for upload in self.uploads:
                path = _abs(upload.path)
                yield pfs.ModifyFileRequest(delete_file=pfs.DeleteFile(path=path))  # overwrite
                for chunk in _chunks(upload):
                    yield pfs.ModifyFileRequest(add_file=pfs.AddFile(path=path, raw=chunk))
                    if self.on_bytes is not None:
                        self.on_bytes(len(chunk))
                self.files += 1
        except BaseException as exc:
            self.error = exc
            raise


def _abs(path: str) -> str:
    return "/" + path.lstrip("/")


def _chunks(upload: Upload) -> Iterator[bytes]:
    """Content in messages of at most CHUNK_BYTES; an empty file still yields one (b"")."""
    if upload.data is not None:
        data = upload.data
        yield from (data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES))
        if not data:
            yield b""
        return
    assert upload.source is not None
    with upload.source.open("rb") as handle:
        first = True
        while chunk := handle.read(CHUNK_BYTES):
            first = False
            yield chunk
        if first:
            yield b""


class PachydermBackend(Backend):
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
    ) -> None:
        self.client = client
        self.project = project
        self.wait_timeout_s = wait_timeout_s
        self.poll_deadline_s = poll_deadline_s
        self.unreachable_grace_s = unreachable_grace_s

    @classmethod
    def connect(cls, address: str | None = None, project: str | None = None) -> PachydermBackend:
        """Resolve the cluster like pachctl, check it answers, and return a backend for it."""
        client, resolved_project = connect(address, project)
        return cls(client, resolved_project)

    def close(self) -> None:
        channel = getattr(self.client, "_channel", None)
        if channel is not None and hasattr(channel, "close"):
            channel.close()

    # -- message builders ----------------------------------------------------------------
    def _repo(self, name: str) -> pfs.Repo:
        return pfs.Repo(name=name, type="user", project=pfs.Project(name=self.project))

    def _branch(self, repo: str, branch: str) -> pfs.Branch:
        return pfs.Branch(repo=self._repo(repo), name=branch)

    def _commit(self, repo: str, ref: str) -> pfs.Commit:
        """A commit by ID (32 hex digits, as pachd makes them) or the head of a branch."""
        if len(ref) == 32 and all(c in "0123456789abcdef" for c in ref):
            return pfs.Commit(repo=self._repo(repo), id=ref)
        return pfs.Commit(repo=self._repo(repo), branch=self._branch(repo, ref))

    def _file(self, repo: str, ref: str, path: str) -> pfs.File:
        return pfs.File(commit=self._commit(repo, ref), path=_abs(path))

    def _pipeline(self, name: str) -> pps.Pipeline:
        return pps.Pipeline(name=name, project=pfs.Project(name=self.project))

    def _job(self, pipeline: str, job_id: str) -> pps.Job:
        return pps.Job(pipeline=self._pipeline(pipeline), id=job_id)

    def _stream(self, what: str, calls: Callable[[], Iterable[T]], hint: str | None) -> Iterator[T]:
        """Iterate a server stream, mapping a failure at any point to a capstone error."""
        with _rpc(what, hint):
            yield from calls()

    # -- repos ---------------------------------------------------------------------------
    def create_repo(self, name: str, description: str = "", exist_ok: bool = False) -> RepoInfo:
        try:
            self.client.pfs.create_repo(repo=self._repo(name), description=description)
        except RPC_FAILURES as exc:
            error = rpc_error(
                exc, f"create repo {name}", f"create it: pachctl create project {self.project}"
            )
            if exist_ok and isinstance(error, ConflictError):
                return self.inspect_repo(name)
            raise error from exc
        return RepoInfo(name=name, description=description)

    def list_repos(self) -> list[RepoInfo]:
        infos = self._stream(
            "list repos",
            lambda: self.client.pfs.list_repo(
                type="user", projects=[pfs.Project(name=self.project)]
            ),
            None,
        )
        return [_repo_info(info) for info in infos]

    def inspect_repo(self, name: str) -> RepoInfo:
        with _rpc(f"inspect repo {name}", "list repos with `capstone status`"):
            return _repo_info(self.client.pfs.inspect_repo(repo=self._repo(name)))

    def delete_repo(self, name: str, force: bool = False) -> None:
        with _rpc(f"delete repo {name}", "list repos with `capstone status`"):
            self.client.pfs.delete_repo(repo=self._repo(name), force=force)

    # -- data ----------------------------------------------------------------------------
    def put_files(
        self,
        repo: str,
        branch: str,
        uploads: Iterable[Upload],
        *,
        description: str = "",
        delete_paths: Iterable[str] = (),
        on_bytes: Callable[[int], None] | None = None,
        skip_unchanged: bool = False,
    ) -> CommitInfo:
        """StartCommit, ONE ModifyFile stream for everything, FinishCommit.

        Overwrites are DeleteFile + AddFile (pachd appends otherwise); content goes in chunks of
        at most CHUNK_BYTES. On any failure, Ctrl-C included, the open commit is dropped (or,
        if pachd refuses, finished with `error` set) so the branch head never shows a partial
        upload. `on_bytes` runs on gRPC's request thread as each chunk is handed over.
        """
        where = f"{repo}@{branch}"
        if not self._repo_exists(repo):
            self.create_repo(repo, exist_ok=True)
        with _rpc(f"start a commit on {where}"):
            commit = self.client.pfs.start_commit(
                branch=self._branch(repo, branch), description=description
            )
        feeder = _ModifyFileFeeder(commit, uploads, delete_paths, on_bytes)
        try:
            self.client.pfs.modify_file(feeder.messages())
            if feeder.error is not None:  # pragma: no cover - gRPC raises CANCELLED first
                raise feeder.error
            self.client.pfs.finish_commit(commit=commit, description=description)
        except BaseException as exc:
            cause = feeder.error or exc
            outcome = self._abandon(commit, cause)
            if isinstance(cause, RPC_FAILURES):
                error = rpc_error(cause, f"upload to {where} failed ({outcome})")
                raise error from cause
            if isinstance(cause, OSError):
                raise InputError(f"upload to {where} failed ({outcome}): {cause}") from cause
            if cause is exc:
                raise
            raise cause from exc  # the local failure, not gRPC's CANCELLED
        with _rpc(f"inspect the new commit on {where}"):
            info = self.client.pfs.inspect_commit(
                commit=commit, wait=pfs.CommitState.COMMIT_STATE_UNKNOWN
            )
        return _commit_info(info, repo, branch)

    def _repo_exists(self, name: str) -> bool:
        try:
            self.inspect_repo(name)
        except NotFoundError:
            return False
        return True

    def _abandon(self, commit: pfs.Commit, cause: BaseException) -> str:
        """Make sure a failed upload never becomes the branch head; say what was done."""
        try:
            self.client.pfs.drop_commit_set(commit_set=pfs.CommitSet(id=commit.id))
            return f"commit {commit.id} was dropped, nothing changed"
        except RPC_FAILURES:
            pass
        try:
            reason = f"capstone upload failed: {cause}"[:1000]
            self.client.pfs.finish_commit(commit=commit, error=reason)
            return f"commit {commit.id} was closed with an error, its data is not used"
        except RPC_FAILURES:
            return f"commit {commit.id} may still be open: `pachctl drop commit {commit.id}`"

    def list_files(self, repo: str, ref: str, path: str = "/") -> list[FileEntry]:
        file = self._file(repo, ref, path)
        infos = self._stream(
            f"list {repo}@{ref}:{path}",
            lambda: self.client.pfs.list_file(file=file),
            f"check the path with `capstone ls {repo}@{ref}`",
        )
        return [_file_entry(info) for info in infos]

    def list_files_page(
        self, repo: str, ref: str, path: str = "/", after: str = "", limit: int = 200
    ) -> FilePage:
        """pachd pages ListFile itself: `number` entries after `pagination_marker`."""
        file = self._file(repo, ref, path)
        marker = self._file(repo, ref, after) if after else None
        infos = self._stream(
            f"list {repo}@{ref}:{path}",
            lambda: self.client.pfs.list_file(
                file=file, pagination_marker=marker, number=limit + 1
            ),
            f"check the path with `capstone ls {repo}@{ref}`",
        )
        entries = [_file_entry(info) for info in infos]
        if len(entries) <= limit:
            return FilePage(entries)
        last = entries[limit - 1]
        # pachd names directories with a trailing slash; the marker must sort after the dir
        return FilePage(entries[:limit], last.path + ("/" if last.type == "dir" else ""))

    def walk_files(self, repo: str, ref: str, path: str = "/") -> Iterator[FileEntry]:
        file = self._file(repo, ref, path)
        infos = self._stream(
            f"walk {repo}@{ref}:{path}",
            lambda: self.client.pfs.walk_file(file=file),
            f"check the path with `capstone ls {repo}@{ref}`",
        )
        return (_file_entry(i) for i in infos if i.file_type == pfs.FileType.FILE)

    def read_file(self, repo: str, ref: str, path: str) -> Iterator[bytes]:
        file = self._file(repo, ref, path)
        chunks = self._stream(
            f"read {repo}@{ref}:{path}",
            lambda: self.client.pfs.get_file(file=file),
            f"check the path with `capstone ls {repo}@{ref}`",
        )
        return (bytes(chunk.value) for chunk in chunks)

    def list_commits(
        self, repo: str, branch: str | None = None, limit: int = 0
    ) -> list[CommitInfo]:
        kwargs: dict[str, Any] = {"repo": self._repo(repo), "number": limit}
        if branch:
            kwargs["to"] = pfs.Commit(repo=self._repo(repo), branch=self._branch(repo, branch))
        infos = self._stream(
            f"list commits of {repo}", lambda: self.client.pfs.list_commit(**kwargs), None
        )
        return [_commit_info(info, repo, branch or "") for info in infos]

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
        new_lines = _spec_lines(canonical_spec(request))
        old_lines = _spec_lines(canonical_spec(old) if old is not None else None)
        if old is not None and old_lines == new_lines and not reprocess:
            return ApplyResult(pipeline=name, action="unchanged")
        diff = list(difflib.unified_diff(old_lines, new_lines, "current", "new", lineterm=""))
        with _rpc(f"{'update' if old is not None else 'create'} pipeline {name}"):
            self.client.pps.create_pipeline_v2(
                create_pipeline_request_json=json.dumps(request),
                dry_run=dry_run,
                update=old is not None,
                reprocess=reprocess,
            )
        result = ApplyResult(pipeline=name, action="created" if old is None else "updated")
        result.diff = diff
        if not dry_run:  # the spec commit's ID is the commit set, hence the job, it started
            with _rpc(f"inspect pipeline {name}"):
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
        return [_pipeline_info(info) for info in infos]

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        with _rpc(f"inspect pipeline {name}", "list pipelines with `capstone status`"):
            info = self.client.pps.inspect_pipeline(pipeline=self._pipeline(name), details=True)
        return _pipeline_info(info)

    def delete_pipeline(self, name: str, keep_repo: bool = False) -> None:
        with _rpc(f"delete pipeline {name}", "list pipelines with `capstone status`"):
            self.client.pps.delete_pipeline(
                pipeline=self._pipeline(name), keep_repo=keep_repo, must_exist=True
            )

    def set_pipeline_stopped(self, name: str, stopped: bool) -> None:
        with _rpc(
            f"{'stop' if stopped else 'start'} pipeline {name}",
            "list pipelines with `capstone pipeline list`",
        ):
            if stopped:
                self.client.pps.stop_pipeline(pipeline=self._pipeline(name))
            else:
                self.client.pps.start_pipeline(pipeline=self._pipeline(name))

    # -- jobs ----------------------------------------------------------------------------
    def list_jobs(self, pipeline: str | None = None) -> list[JobInfo]:
        if pipeline:
            kwargs: dict[str, Any] = {"pipeline": self._pipeline(pipeline)}
        else:
            kwargs = {"projects": [pfs.Project(name=self.project)]}
        infos = self._stream(
            f"list jobs{' of ' + pipeline if pipeline else ''}",
            lambda: self.client.pps.list_job(**kwargs),
            "list pipelines with `capstone status`",
        )
        return [_job_info(info) for info in infos]

    def inspect_job(self, pipeline: str, job_id: str) -> JobInfo:
        with _rpc(f"inspect job {pipeline}@{job_id}", "list jobs with `capstone jobs`"):
            return _job_info(self.client.pps.inspect_job(job=self._job(pipeline, job_id)))

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
            return [_job_info(info) for info in infos]

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
                    code in _UNREACHABLE
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
        return [_datum_info(info) for info in infos]

    def logs(
        self,
        pipeline: str | None = None,
        job_id: str | None = None,
        datum_id: str | None = None,
        master: bool = False,
        follow: bool = False,
    ) -> Iterator[LogLine]:
        if (job_id or master) and not pipeline:
            raise UsageError(
                "job and master logs need the pipeline", hint="add -p PIPELINE (pachctl's -j p@id)"
            )
        if datum_id and not job_id:
            raise UsageError("datum logs need the job", hint="add -j JOB_ID")
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
        return (_log_line(message, pipeline or "") for message in messages)


# -- message -> record conversions -------------------------------------------------------
def _repo_info(info: pfs.RepoInfo) -> RepoInfo:
    size = int(info.details.size_bytes) if info.details else 0
    return RepoInfo(
        name=info.repo.name,
        type=info.repo.type or "user",
        created=_ts(info.created),
        size=size or int(info.size_bytes_upper_bound),
        description=info.description,
        branches=[branch.name for branch in info.branches],
    )


def _commit_info(info: pfs.CommitInfo, repo: str, branch: str) -> CommitInfo:
    commit = info.commit
    return CommitInfo(
        repo=commit.repo.name or repo,
        branch=(commit.branch.name if commit.branch else "") or branch,
        id=commit.id,
        parent=(info.parent_commit.id if info.parent_commit else "") or None,
        origin=_name(pfs.OriginKind, info.origin.kind) if info.origin else "USER",
        started=_ts(info.started),
        finished=_ts(info.finished) or None,
        size=int(info.size_bytes_upper_bound),
        description=info.description,
        error=info.error,
    )


def _file_entry(info: pfs.FileInfo) -> FileEntry:
    path = info.file.path
    if len(path) > 1:
        path = path.rstrip("/")  # pachd marks directories with a trailing slash
    kind = "dir" if info.file_type == pfs.FileType.DIR else "file"
    return FileEntry(path=path, type=kind, size=int(info.size_bytes))


def _input_repos(node: Any) -> list[str]:
    """Repos of every PFS input in a (camelCase) input spec, depth first."""
    if isinstance(node, list):
        return [repo for item in node for repo in _input_repos(item)]
    if not isinstance(node, dict):
        return []
    if "pfs" in node and isinstance(node["pfs"], dict):
        return [str(node["pfs"].get("repo", ""))]
    return [
        repo for key in ("cross", "union", "join", "group") for repo in _input_repos(node.get(key))
    ]


def _pipeline_info(info: pps.PipelineInfo) -> PipelineInfo:
    spec: dict[str, Any] = json.loads(info.effective_spec_json or info.user_spec_json or "{}")
    details = info.details
    return PipelineInfo(
        name=info.pipeline.name,
        version=int(info.version),
        state=_name(pps.PipelineState, info.state),
        last_job_state=_name(pps.JobState, info.last_job_state) if int(info.last_job_state) else "",
        inputs=_input_repos(canonical_spec(spec).get("input")),
        created=_ts(details.created_at) if details else "",
        description=(details.description if details else "") or spec.get("description", ""),
        parallelism=int(info.parallelism) or 1,
        spec=spec,
    )


def _job_info(info: pps.JobInfo) -> JobInfo:
    stats = info.stats
    return JobInfo(
        pipeline=info.job.pipeline.name,
        id=info.job.id,
        state=_name(pps.JobState, info.state),
        data_total=int(info.data_total),
        data_processed=int(info.data_processed),
        data_skipped=int(info.data_skipped),
        data_failed=int(info.data_failed),
        data_recovered=int(info.data_recovered),
        reason=info.reason,
        created=_ts(info.created),
        started=_ts(info.started) or None,
        finished=_ts(info.finished) or None,
        download_bytes=int(stats.download_bytes) if stats else 0,
        upload_bytes=int(stats.upload_bytes) if stats else 0,
        process_seconds=stats.process_time.total_seconds() if stats else 0.0,
    )


def _datum_info(info: pps.DatumInfo) -> DatumInfo:
    return DatumInfo(
        id=info.datum.id,
        state=_name(pps.DatumState, info.state),
        files=[f"{f.file.commit.repo.name}:{f.file.path}" for f in info.data],
        seconds=info.stats.process_time.total_seconds() if info.stats else 0.0,
    )


def _log_line(message: pps.LogMessage, pipeline: str) -> LogLine:
    return LogLine(
        pipeline=message.pipeline_name or pipeline,
        job=message.job_id,
        datum=message.datum_id,
        message=message.message.rstrip("\n"),
        ts=_ts(message.ts),
        master=bool(message.master),
    )
