"""Repos, files and commits on a cluster: the PFS half of the pachyderm backend.

Uploads never finish a half-written commit: the SDK's `commit()` context manager finishes
commits even when the block raises, so it is not used; see `put_files`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from typing import Any, TypeVar

from pachyderm_sdk.api import pfs

from capstone_cli.backends.pachyderm_connect import RPC_FAILURES, rpc, rpc_error
from capstone_cli.backends.pachyderm_convert import commit_info, file_entry, repo_info
from capstone_cli.engine.names import ref_of
from capstone_cli.errors import AuthError, ConflictError, InputError, NotFoundError
from capstone_cli.results import CommitInfo, FileEntry, FilePage, RepoInfo, Upload

T = TypeVar("T")
CHUNK_BYTES = 16 * 1024 * 1024  # below pachd's and the SDK's 20 MB message limit
FINISH_TIMEOUT_S = 600.0  # how long an upload waits for pachd to compact and validate its commit


class ModifyFileFeeder:
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
                yield pfs.ModifyFileRequest(delete_file=pfs.DeleteFile(path=abs_path(path)))
            for upload in self.uploads:
                path = abs_path(upload.path)
                yield pfs.ModifyFileRequest(delete_file=pfs.DeleteFile(path=path))  # overwrite
                for chunk in _chunks(upload):
                    yield pfs.ModifyFileRequest(add_file=pfs.AddFile(path=path, raw=chunk))
                    if self.on_bytes is not None:
                        self.on_bytes(len(chunk))
                self.files += 1
        except BaseException as exc:
            self.error = exc
            raise


def abs_path(path: str) -> str:
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


class PachydermFiles:
    """PFS operations as pachd RPCs in one project (`PachydermBackend` adds pipelines and jobs)."""

    client: Any
    project: str

    # -- message builders ----------------------------------------------------------------
    def _repo(self, name: str) -> pfs.Repo:
        """A repo of the current project, or of the one a `project/name` reference names."""
        ref = ref_of(name, self.project)
        return pfs.Repo(name=ref.name, type="user", project=pfs.Project(name=ref.project))

    def _branch(self, repo: str, branch: str) -> pfs.Branch:
        return pfs.Branch(repo=self._repo(repo), name=branch)

    def _commit(self, repo: str, ref: str) -> pfs.Commit:
        """A commit by ID (32 hex digits, as pachd makes them) or the head of a branch."""
        if len(ref) == 32 and all(c in "0123456789abcdef" for c in ref):
            return pfs.Commit(repo=self._repo(repo), id=ref)
        return pfs.Commit(repo=self._repo(repo), branch=self._branch(repo, ref))

    def _file(self, repo: str, ref: str, path: str) -> pfs.File:
        return pfs.File(commit=self._commit(repo, ref), path=abs_path(path))

    def _stream(self, what: str, calls: Callable[[], Iterable[T]], hint: str | None) -> Iterator[T]:
        """Iterate a server stream, mapping a failure at any point to a capstone error."""
        with rpc(what, hint):
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
        return [repo_info(info) for info in infos]

    def inspect_repo(self, name: str) -> RepoInfo:
        with rpc(f"inspect repo {name}", "list repos with `capstone status`"):
            return repo_info(self.client.pfs.inspect_repo(repo=self._repo(name)))

    def delete_repo(self, name: str, force: bool = False) -> None:
        """DeleteRepo answers OK with deleted=false both for a missing repo and for one the
        caller may not delete (pachd 2.12 server_repo.go:170-174, 226-228): tell them apart."""
        what = f"delete repo {name}"
        with rpc(what, "list repos with `capstone status`"):
            response = self.client.pfs.delete_repo(repo=self._repo(name), force=force)
        if response.deleted:
            return
        if not self._repo_exists(name):
            raise NotFoundError(
                f"{what}: repo {self.project}/{name} not found",
                hint="list repos with `capstone status`",
            )
        raise AuthError(
            f"{what}: not authorized: pachd kept it",
            hint="ask for the repoOwner role on it (`pachctl auth get repo` shows who has it)",
        )

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
        try:
            commit = self.client.pfs.start_commit(
                branch=self._branch(repo, branch), description=description
            )
        except RPC_FAILURES as exc:
            error = rpc_error(exc, f"start a commit on {where}")
            if "has not been finished" in error.message:  # pachd server_commit.go:254-256
                error = ConflictError(
                    error.message,
                    hint=f"another upload to {where} is open: wait for it, or drop it with"
                    f" `pachctl drop commit {where}`",
                )
            raise error from exc
        feeder = ModifyFileFeeder(commit, uploads, delete_paths, on_bytes)
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
        info = self._wait_finished(commit, where)
        if info.error:  # pachd's validation refused the commit after FinishCommit answered
            outcome = self._abandon(commit, info.error, finished=True)
            raise InputError(
                f"pachd refused the upload to {where}: {info.error} ({outcome})",
                hint="a path cannot be both a file and a directory: rename one and upload again"
                if "path collision" in info.error
                else None,
            )
        return commit_info(info, repo, branch)

    def _wait_finished(self, commit: pfs.Commit, where: str) -> pfs.CommitInfo:
        """The commit once pachd has finished it: compacted, validated, maybe with `error` set.

        FinishCommit only marks a commit FINISHING; pachd's PFS master validates it later and
        records what it refuses (a file/directory path collision) in `commit.error`
        (pachd 2.12 server_commit.go:261-282, master.go:334-345). Compacting a large upload can
        take minutes, so this one call gets FINISH_TIMEOUT_S, not the usual unary deadline.
        """
        deadlines = getattr(self.client, "deadlines", None)
        scope = deadlines.unary_deadline(FINISH_TIMEOUT_S) if deadlines else nullcontext()
        with rpc(f"wait for pachd to finish the new commit on {where}"), scope:
            info: pfs.CommitInfo = self.client.pfs.inspect_commit(
                commit=commit, wait=pfs.CommitState.FINISHED
            )
        return info

    def _repo_exists(self, name: str) -> bool:
        try:
            self.inspect_repo(name)
        except NotFoundError:
            return False
        return True

    def _abandon(self, commit: pfs.Commit, cause: object, finished: bool = False) -> str:
        """Make sure a failed upload never becomes the branch head; say what was done."""
        try:
            self.client.pfs.drop_commit_set(commit_set=pfs.CommitSet(id=commit.id))
            return f"commit {commit.id} was dropped, nothing changed"
        except RPC_FAILURES:
            if finished:
                return f"commit {commit.id} keeps the error, its data is not used"
        try:
            reason = f"capstone upload failed: {cause}"[:1000]
            self.client.pfs.finish_commit(commit=commit, error=reason)
            return f"commit {commit.id} was closed with an error, its data is not used"
        except RPC_FAILURES:
            return f"commit {commit.id} may still be open: `pachctl drop commit {commit.id}`"

    def list_files(self, repo: str, ref: str, path: str = "/") -> list[FileEntry]:
        """ListFile of a missing path answers an empty stream, not NOT_FOUND (pachd 2.12
        server_file.go:315-351), so an empty answer for a path below the root is checked with
        InspectFile, which does say NOT_FOUND (server_file.go:292)."""
        file = self._file(repo, ref, path)
        what, hint = f"list {repo}@{ref}:{path}", f"check the path with `capstone ls {repo}@{ref}`"
        infos = self._stream(what, lambda: self.client.pfs.list_file(file=file), hint)
        entries = [file_entry(info) for info in infos]
        if not entries and file.path != "/":
            with rpc(what, hint):
                self.client.pfs.inspect_file(file=file)
        return entries

    def list_files_page(
        self, repo: str, ref: str, path: str = "/", after: str = "", limit: int = 200
    ) -> FilePage:
        """pachd pages ListFile itself: `number` entries after `pagination_marker`; a missing
        path is an empty first page, checked with InspectFile as in `list_files`."""
        file = self._file(repo, ref, path)
        marker = self._file(repo, ref, after) if after else None
        what, hint = f"list {repo}@{ref}:{path}", f"check the path with `capstone ls {repo}@{ref}`"
        infos = self._stream(
            what,
            lambda: self.client.pfs.list_file(
                file=file, pagination_marker=marker, number=limit + 1
            ),
            hint,
        )
        entries = [file_entry(info) for info in infos]
        if not entries and not after and file.path != "/":
            with rpc(what, hint):
                self.client.pfs.inspect_file(file=file)
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
        return (file_entry(i) for i in infos if i.file_type == pfs.FileType.FILE)

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
        return [commit_info(info, repo, branch or "") for info in infos]
