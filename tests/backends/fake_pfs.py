"""The PFS half of the fake pachd: repos, commits and files, answering as pachd 2.12 does.

Where pachd's behaviour is easy to get wrong, the method cites the pachd source it follows, at
branch 2.12.x of github.com/pachyderm/pachyderm (7ed6c9f7b9). The biggest one: FinishCommit
only marks a commit FINISHING; pachd's PFS master compacts and validates it later and may set
`error` (master.go:303-345, validation in internal/storage/fileset/validator.go:49-60). Here that
post-processing runs the first time a caller waits for the commit (InspectCommit with
wait=FINISHED, or a read, which waits as openCommit does at server_commit.go:924-928), so a caller
that does not wait sees the commit still FINISHING, as it would on a busy cluster, and every run
is deterministic.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import betterproto
import grpc
from betterproto.lib.google.protobuf import BytesValue, Empty
from pachyderm_sdk.api import pfs

CODES = grpc.StatusCode


@dataclass
class FakeCommit:
    id: str
    repo: str
    branch: str
    parent: str | None
    files: dict[str, bytes]
    description: str = ""
    finishing: bool = False  # FinishCommit was called
    finished: bool = False  # the master post-processed it
    error: str = ""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))


def path_collision(paths: list[str]) -> str:
    """pachd's validation error for a file that is also a directory, or "".

    Like pachd it compares neighbours in byte order only (validator.go:25-38, 49-60).
    """
    for prev, curr in itertools.pairwise(sorted(paths)):
        if curr.startswith(prev + "/"):
            return f"file / directory path collision ({curr})"
    return ""


class FakePfs:
    """PFS state and handlers; mixed into FakePachd, which serves them."""

    def __init__(self) -> None:
        self.repos: dict[str, pfs.RepoInfo] = {}
        self.undeletable: set[str] = set()  # repos the caller lacks REPO_DELETE on
        self.heads: dict[tuple[str, str], str] = {}  # (repo, branch) -> commit id
        self.commits: dict[str, FakeCommit] = {}
        self.changed = threading.Condition()  # notified when a commit starts finishing
        self.triggers: dict[tuple[str, str], pfs.Trigger] = {}
        self.projects: dict[str, pfs.ProjectInfo] = {
            "default": pfs.ProjectInfo(project=pfs.Project(name="default"))
        }

    def pfs_methods(self) -> dict[str, tuple[str, type[Any], Any]]:
        p = "/pfs_v2.API/"
        return {
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
            p + "InspectFile": ("uu", pfs.InspectFileRequest, self.inspect_file),
            p + "ListFile": ("us", pfs.ListFileRequest, self.list_file),
            p + "WalkFile": ("us", pfs.WalkFileRequest, self.walk_file),
            p + "CreateProject": ("uu", pfs.CreateProjectRequest, self.create_project),
            p + "InspectProject": ("uu", pfs.InspectProjectRequest, self.inspect_project),
            p + "ListProject": ("us", pfs.ListProjectRequest, self.list_project),
            p + "DeleteProject": ("uu", pfs.DeleteProjectRequest, self.delete_project),
            p + "CreateBranch": ("uu", pfs.CreateBranchRequest, self.create_branch),
            p + "InspectBranch": ("uu", pfs.InspectBranchRequest, self.inspect_branch),
            p + "ListBranch": ("us", pfs.ListBranchRequest, self.list_branch),
            p + "DeleteBranch": ("uu", pfs.DeleteBranchRequest, self.delete_branch),
        }

    # -- branches (heads only; jobs of a moved head are pachd's business) ------------------
    def create_branch(self, req: pfs.CreateBranchRequest, ctx: grpc.ServicerContext) -> Empty:
        repo, name = req.branch.repo.name, req.branch.name
        self._repo_info(repo, ctx)
        key = (repo, name)
        if req.head is not None and (req.head.id or req.head.branch):
            self.heads[key] = self._commit(req.head, ctx).id
        self.heads.setdefault(key, "")
        if req.trigger is not None and req.trigger.branch:
            self.triggers[key] = req.trigger
        return Empty()

    def _branch_info(self, repo: str, name: str) -> pfs.BranchInfo:
        head = self.heads[(repo, name)]
        branch = pfs.Branch(repo=pfs.Repo(name=repo, type="user"), name=name)
        return pfs.BranchInfo(
            branch=branch,
            head=pfs.Commit(repo=branch.repo, id=head) if head else None,
            trigger=self.triggers.get((repo, name)),
        )

    def inspect_branch(self, req: pfs.InspectBranchRequest, ctx: grpc.ServicerContext) -> Any:
        if (req.branch.repo.name, req.branch.name) not in self.heads:
            ctx.abort(CODES.NOT_FOUND, f"branch {req.branch.name} not found")
        return self._branch_info(req.branch.repo.name, req.branch.name)

    def list_branch(self, req: pfs.ListBranchRequest, ctx: grpc.ServicerContext) -> Any:
        self._repo_info(req.repo.name, ctx)
        return iter([self._branch_info(r, b) for r, b in self.heads if r == req.repo.name])

    def delete_branch(self, req: pfs.DeleteBranchRequest, ctx: grpc.ServicerContext) -> Any:
        key = (req.branch.repo.name, req.branch.name)
        if key not in self.heads:
            ctx.abort(CODES.NOT_FOUND, f"branch {req.branch.name} not found")
        del self.heads[key]
        self.triggers.pop(key, None)
        return Empty()

    # -- projects (server_project.go: a project with repos is not deleted) -------------------
    def create_project(self, req: pfs.CreateProjectRequest, ctx: grpc.ServicerContext) -> Empty:
        name = req.project.name
        if name in self.projects:
            ctx.abort(CODES.ALREADY_EXISTS, f"project {name} already exists")
        self.projects[name] = pfs.ProjectInfo(
            project=req.project, description=req.description, created_at=datetime.now(UTC)
        )
        return Empty()

    def inspect_project(self, req: pfs.InspectProjectRequest, ctx: grpc.ServicerContext) -> Any:
        if req.project.name not in self.projects:
            ctx.abort(CODES.NOT_FOUND, f"project {req.project.name} not found")
        return self.projects[req.project.name]

    def list_project(self, _: pfs.ListProjectRequest, __: Any) -> Iterator[pfs.ProjectInfo]:
        return iter(list(self.projects.values()))

    def delete_project(self, req: pfs.DeleteProjectRequest, ctx: grpc.ServicerContext) -> Any:
        name = req.project.name
        if name not in self.projects:
            ctx.abort(CODES.NOT_FOUND, f"project {name} not found")
        if any((r.repo.project.name or "default") == name for r in self.repos.values()):
            ctx.abort(CODES.FAILED_PRECONDITION, f"project {name} has repos")
        del self.projects[name]
        return Empty()

    def head_files(self, repo: str, branch: str = "master") -> dict[str, bytes]:
        head = self.heads.get((repo, branch))
        return dict(self.commits[head].files) if head else {}

    # -- repos -----------------------------------------------------------------------------
    def create_repo(self, req: pfs.CreateRepoRequest, ctx: grpc.ServicerContext) -> Empty:
        if req.repo.name in self.repos and not req.update:
            ctx.abort(CODES.ALREADY_EXISTS, f"repo {req.repo.name} already exists")
        self.repos[req.repo.name] = pfs.RepoInfo(
            repo=req.repo, description=req.description, created=datetime.now(UTC)
        )
        return Empty()

    def _repo_info(self, name: str, ctx: grpc.ServicerContext) -> pfs.RepoInfo:
        if name not in self.repos:
            ctx.abort(CODES.NOT_FOUND, f"repo default/{name} not found")
        return self.repos[name]

    def inspect_repo(self, req: pfs.InspectRepoRequest, ctx: grpc.ServicerContext) -> Any:
        return self._repo_info(req.repo.name, ctx)

    def list_repo(self, req: pfs.ListRepoRequest, __: Any) -> Iterator[pfs.RepoInfo]:
        wanted = {p.name for p in req.projects}
        return iter([r for r in self.repos.values() if not wanted or r.repo.project.name in wanted])

    def delete_repo(self, req: pfs.DeleteRepoRequest, _: grpc.ServicerContext) -> Any:
        # A missing repo, and one the caller may not delete, answer OK with deleted=false:
        # server_repo.go:170-174 and :226-228.
        name = req.repo.name
        if name not in self.repos or name in self.undeletable:
            return pfs.DeleteRepoResponse(deleted=False)
        del self.repos[name]
        for key in [k for k in self.heads if k[0] == name]:
            del self.heads[key]
        return pfs.DeleteRepoResponse(deleted=True)

    # -- commits ---------------------------------------------------------------------------
    def start_commit(self, req: pfs.StartCommitRequest, ctx: grpc.ServicerContext) -> Any:
        repo, branch = req.branch.repo.name, req.branch.name
        self._repo_info(repo, ctx)
        parent = self.heads.get((repo, branch))
        if parent and not self.commits[parent].finishing:
            # linkParent: a new commit needs a finishing or finished parent
            # (server_commit.go:254-256, errors.Errorf, so gRPC code UNKNOWN).
            ctx.abort(
                CODES.UNKNOWN,
                f"start commit in transaction: create commit: parent commit "
                f"{repo}@{parent} has not been finished",
            )
        files = dict(self.commits[parent].files) if parent else {}
        commit = FakeCommit(uuid.uuid4().hex, repo, branch, parent, files, req.description)
        self.commits[commit.id] = commit
        self.heads[(repo, branch)] = commit.id
        return pfs.Commit(repo=req.branch.repo, branch=req.branch, id=commit.id)

    def _commit(self, ref: pfs.Commit, ctx: grpc.ServicerContext) -> FakeCommit:
        # pickCommitTx (server_commit.go:474-483): a commit needs a repo and an ID or a branch;
        # an ID wins over a branch (pfs.go:106-112, Commit.String).
        if not ref.repo.name:
            ctx.abort(CODES.UNKNOWN, "pick commit tx: cannot pick commit with no repo")
        if not ref.id and not ref.branch.name:
            ctx.abort(CODES.UNKNOWN, "pick commit tx: cannot pick commit with no ID or branch")
        commit_id = ref.id or self.heads.get((ref.repo.name, ref.branch.name), "")
        commit = self.commits.get(commit_id)
        if commit is None or commit.repo != ref.repo.name:
            ctx.abort(
                CODES.NOT_FOUND, f"commit {ref.repo.name}@{commit_id or ref.branch.name} not found"
            )
        assert commit is not None
        return commit

    def finish_commit(self, req: pfs.FinishCommitRequest, ctx: grpc.ServicerContext) -> Empty:
        commit = self._commit(req.commit, ctx)
        if commit.finishing:  # server_commit.go:263-266
            ctx.abort(CODES.UNKNOWN, f"commit {commit.repo}@{commit.id} has already finished")
        with self.changed:  # only FINISHING: pfsdb.FinishingCommit, server_commit.go:281
            commit.finishing, commit.error = True, req.error
            if req.description:
                commit.description = req.description
            self.changed.notify_all()
        return Empty()

    def _post_process(self, commit: FakeCommit) -> None:
        """The PFS master's work on a finishing commit (master.go:303-345, 401-425)."""
        if commit.finishing and not commit.finished:
            if not commit.error:  # errored commits skip validation (master.go:322-324)
                commit.error = path_collision(list(commit.files))
            commit.finished = True

    def _wait_finished(self, commit: FakeCommit, ctx: grpc.ServicerContext) -> None:
        """Block like waitForFinishingOrFinished (server_commit.go:418-447), up to the deadline."""
        with self.changed:
            if not self.changed.wait_for(lambda: commit.finishing, ctx.time_remaining()):
                ctx.abort(CODES.DEADLINE_EXCEEDED, "deadline exceeded")
        self._post_process(commit)

    def drop_commit_set(self, req: pfs.DropCommitSetRequest, ctx: grpc.ServicerContext) -> Any:
        commit = self.commits.pop(req.commit_set.id, None)
        if commit is None:
            ctx.abort(CODES.NOT_FOUND, f"commit set {req.commit_set.id} not found")
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
        if commit.finishing:
            info.finishing = commit.started
        if commit.finished:
            info.finished = commit.started
        return info

    def inspect_commit(self, req: pfs.InspectCommitRequest, ctx: grpc.ServicerContext) -> Any:
        commit = self._commit(req.commit, ctx)
        # waitForCommit (server_commit.go:388-415): no wait, or STARTED, answers at once.
        if req.wait in (pfs.CommitState.FINISHING, pfs.CommitState.FINISHED):
            self._wait_finished(commit, ctx)
        return self._commit_info(commit)

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
                ctx.abort(CODES.INVALID_ARGUMENT, "no commit set")
            elif kind == "delete_file":
                doomed = [
                    p for p in target.files if p == body.path or p.startswith(body.path + "/")
                ]
                for path in doomed:
                    del target.files[path]
            elif kind == "add_file":
                target.files[body.path] = target.files.get(body.path, b"") + (body.raw or b"")
        return Empty()

    def _read(self, file: pfs.File, ctx: grpc.ServicerContext) -> tuple[FakeCommit, str]:
        """The commit and clean path of a read; openCommit waits out FINISHING (:924-928)."""
        commit = self._commit(file.commit, ctx)
        if commit.finishing:
            self._post_process(commit)
        return commit, "/" + file.path.strip("/")

    def get_file(self, req: pfs.GetFileRequest, ctx: grpc.ServicerContext) -> Iterator[Any]:
        commit, path = self._read(req.file, ctx)
        if path not in commit.files:
            ctx.abort(CODES.NOT_FOUND, f"file {path} not found")
        data = commit.files[path]
        return iter([BytesValue(value=data[i : i + 4]) for i in range(0, len(data), 4)])

    def _info(self, commit: FakeCommit, path: str, is_dir: bool) -> pfs.FileInfo:
        size = sum(len(v) for p, v in commit.files.items() if p == path or p.startswith(path))
        return pfs.FileInfo(
            file=pfs.File(path=path + ("/" if is_dir else "")),
            file_type=pfs.FileType.DIR if is_dir else pfs.FileType.FILE,
            size_bytes=size,
        )

    def inspect_file(self, req: pfs.InspectFileRequest, ctx: grpc.ServicerContext) -> Any:
        # inspectFile (server_file.go:272-303): NOT_FOUND when nothing is at or under the path,
        # the root of an empty commit included (ErrFileNotFound, pfs.go:170-176).
        commit, path = self._read(req.file, ctx)
        if path in commit.files:
            return self._info(commit, path, False)
        prefix = path.rstrip("/") + "/"
        if not any(name.startswith(prefix) for name in commit.files):
            ctx.abort(
                CODES.NOT_FOUND,
                f"file {path} not found in repo {commit.repo} at commit {commit.id}",
            )
        return self._info(commit, path.rstrip("/") or "/", True)

    def list_file(self, req: pfs.ListFileRequest, ctx: grpc.ServicerContext) -> Iterator[Any]:
        # listFile (server_file.go:315-351) has no ErrOnEmpty: a missing path lists nothing.
        commit, path = self._read(req.file, ctx)
        if path in commit.files:
            return iter([self._info(commit, path, False)])
        prefix = path.rstrip("/") + "/"
        children: dict[str, bool] = {}
        for name in sorted(commit.files):
            if name.startswith(prefix):
                head, _, rest = name[len(prefix) :].partition("/")
                children[prefix + head] = bool(rest)
        infos = [self._info(commit, child, d) for child, d in children.items()]
        # pachd's paging: entries (directories named `dir/`) after the marker, at most `number`
        marker = req.pagination_marker.path if req.pagination_marker else ""
        infos = sorted((i for i in infos if i.file.path > marker), key=lambda i: i.file.path)
        return iter(infos[: req.number] if req.number else infos)

    def walk_file(self, req: pfs.WalkFileRequest, ctx: grpc.ServicerContext) -> Iterator[Any]:
        commit, path = self._read(req.file, ctx)
        prefix = path.rstrip("/") + "/"
        names = sorted(p for p in commit.files if p.startswith(prefix) or p == path)
        if not names:  # walkFile wraps its source in ErrOnEmpty (server_file.go:468)
            ctx.abort(CODES.NOT_FOUND, f"commit/{commit.id} does not contain item: ({path})")
        dirs = sorted({n[: n.rfind("/")] for n in names if n.rfind("/") > len(prefix) - 1})
        entries = [(n, False) for n in names] + [(d, True) for d in dirs]
        return iter([self._info(commit, n, d) for n, d in sorted(entries)])
