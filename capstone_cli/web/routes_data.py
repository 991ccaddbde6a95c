"""Pages of the data side: repos, branches and commits, the paged file tree, previews, raw."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from capstone_cli.backends.base import Backend
from capstone_cli.errors import NotFoundError
from capstone_cli.web.previews import make_preview, media_type, read_limit
from capstone_cli.web.server import endpoint, page, streamed

PAGE_SIZE = 200
COMMITS_SHOWN = 50


def repos_page(request: Request, b: Backend) -> Response:
    return page(request, "repos.html", repos=b.list_repos())


def repo_page(request: Request, b: Backend) -> Response:
    """A repo: branches, newest commits, and the first page of its root at `master`."""
    name = request.path_params["repo"]
    info = b.inspect_repo(name)
    commits = b.list_commits(name, limit=COMMITS_SHOWN)
    ref = "master" if "master" in info.branches else (info.branches[0] if info.branches else "")
    listing = b.list_files_page(name, ref, "/", limit=PAGE_SIZE) if commits and ref else None
    return page(
        request, "repo.html", repo=info, commits=commits, ref=ref, path="/", listing=listing
    )


def commit_page(request: Request, b: Backend) -> Response:
    """A commit and the jobs its commit set (global ID) started."""
    repo, commit_id = request.path_params["repo"], request.path_params["commit"]
    commit = next((c for c in b.list_commits(repo) if c.id == commit_id), None)
    if commit is None:
        raise NotFoundError(f"commit {repo}@{commit_id} not found")
    jobs = [j for j in b.list_jobs() if j.id == commit.id]
    return page(request, "commit.html", repo=repo, commit=commit, jobs=jobs)


def files_page(request: Request, b: Backend) -> Response:
    """A directory page (keyset-paged with `?after=`) or a file's preview."""
    repo, ref = request.path_params["repo"], request.path_params["ref"]
    path = "/" + request.path_params.get("path", "").strip("/")
    after = request.query_params.get("after", "")
    listing = b.list_files_page(repo, ref, path, after=after, limit=PAGE_SIZE)
    entries = listing.entries
    if len(entries) == 1 and entries[0].type == "file" and entries[0].path == path:
        size = entries[0].size
        head = b.read_file_head(repo, ref, path, read_limit(path))
        return page(
            request,
            "file.html",
            repo=repo,
            ref=ref,
            path=path,
            size=size,
            preview=make_preview(path, head, size),
            crumbs=_crumbs(path),
        )
    return page(
        request,
        "files.html",
        repo=repo,
        ref=ref,
        path=path,
        listing=listing,
        after=after,
        crumbs=_crumbs(path),
    )


def _crumbs(path: str) -> list[tuple[str, str]]:
    """(name, path) of each ancestor directory of `path`, root first."""
    parts = [p for p in path.split("/") if p]
    return [(part, "/" + "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def raw_file(request: Request, b: Backend) -> Response:
    repo, ref = request.path_params["repo"], request.path_params["ref"]
    path = "/" + request.path_params["path"].strip("/")
    chunks = b.read_file(repo, ref, path)  # raises NotFoundError before the response starts

    name = path.rsplit("/", 1)[-1].replace('"', "")
    disposition = "inline" if request.query_params.get("inline") else "attachment"
    return StreamingResponse(
        streamed(request, chunks),
        media_type=media_type(path),
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


ROUTES = [
    Route("/repos", endpoint(repos_page)),
    Route("/repos/{repo}", endpoint(repo_page)),
    Route("/repos/{repo}/commits/{commit}", endpoint(commit_page)),
    Route("/repos/{repo}/files/{ref}", endpoint(files_page)),
    Route("/repos/{repo}/files/{ref}/{path:path}", endpoint(files_page)),
    Route("/repos/{repo}/raw/{ref}/{path:path}", endpoint(raw_file)),
]
