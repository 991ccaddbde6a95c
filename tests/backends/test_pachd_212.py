"""The Pachyderm backend against what pachd 2.12 actually answers (issue #15, part A).

Each test names the pachd behaviour it relies on, in github.com/pachyderm/pachyderm at branch
2.12.x (commit 7ed6c9f7b9): the fake pachd (fake_pfs.py, fake_pps.py) answers the same way, and
the backend must turn those answers into the right result or error. Each of the seven defects of
the issue fails here on the backend as it was before the fix.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import certifi
import grpc
import pytest
from fake_pachd import FakePachd, job
from pachyderm_sdk.api import pfs, pps

from capstone_cli.backends.pachyderm import PachydermBackend
from capstone_cli.backends.pachyderm_connect import connect, resolve_target, rpc_status
from capstone_cli.errors import (
    AuthError,
    ConflictError,
    ExitCode,
    InputError,
    NotFoundError,
    UsageError,
)
from capstone_cli.results import Upload
from tests.clirunner import RunCli

REPO_R = pfs.Repo(name="r", type="user", project=pfs.Project(name="default"))


def on(pachd: FakePachd, *args: str) -> list[str]:
    return ["--backend", "pachyderm", "--pachd-address", pachd.address, *args]


# -- 1. FinishCommit, then pachd's validation -----------------------------------------------
def test_upload_that_pachd_refuses_after_finish_fails_and_is_dropped(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    """FinishCommit only marks the commit FINISHING (server_commit.go:261-282); the PFS master
    validates it afterwards and sets `error`, e.g. "file / directory path collision" (master.go
    :334-345, 401-425; internal/storage/fileset/validator.go:56-57). The backend waits with
    InspectCommit(wait=FINISHED) and must not report such an upload as done."""
    backend.put_files("rawdata", "master", [Upload(path="/keep", data=b"v1")])
    pachd.requests.clear()
    clash = [Upload(path="/a", data=b"file"), Upload(path="/a/b", data=b"under it")]
    with pytest.raises(InputError, match=r"file / directory path collision \(/a/b\)") as caught:
        backend.put_files("rawdata", "master", clash)
    assert "dropped" in str(caught.value) and "rename" in (caught.value.hint or "")
    assert pachd.calls("InspectCommit")[0].wait == pfs.CommitState.FINISHED
    assert len(pachd.calls("DropCommitSet")) == 1
    assert pachd.head_files("rawdata") == {"/keep": b"v1"}


def test_clean_upload_returns_the_finished_commit(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    """A commit is FINISHED only once the master is done (master.go:401-425)."""
    info = backend.put_files("rawdata", "master", [Upload(path="/a/b", data=b"1")])
    assert info.finished is not None and info.error == ""


# -- 2. DeleteRepo's deleted=false --------------------------------------------------------
@pytest.mark.parametrize(
    ("exists", "error", "exit_code"),
    [(False, NotFoundError, ExitCode.NOT_FOUND), (True, AuthError, ExitCode.AUTH)],
    ids=["missing", "not-authorized"],
)
def test_delete_repo_that_pachd_did_not_delete_is_an_error(
    backend: PachydermBackend,
    pachd: FakePachd,
    exists: bool,
    error: type[Exception],
    exit_code: ExitCode,
) -> None:
    """DeleteRepo answers OK with deleted=false for a missing repo (server_repo.go:170-174) and
    for one the caller lacks REPO_DELETE on (server_repo.go:226-228)."""
    if exists:
        backend.create_repo("images")
        pachd.undeletable.add("images")
    with pytest.raises(error) as caught:
        backend.delete_repo("images")
    assert caught.value.exit_code == exit_code  # type: ignore[attr-defined]
    assert ("images" in pachd.repos) is exists


def test_repo_delete_of_a_missing_repo_exits_4(run_cli: RunCli, pachd: FakePachd) -> None:
    """`capstone repo delete` on the cluster, as a user sees it (server_repo.go:170-174)."""
    result = run_cli(*on(pachd, "repo", "delete", "nope", "--force"), code=4)
    assert "not found" in result.stderr


# -- 3. StopPipeline's must_exist ---------------------------------------------------------
def test_stopping_a_missing_pipeline_is_not_found(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    """Without must_exist, StopPipeline ignores a missing pipeline
    (pps/server/api_server.go:3321, 3352-3354)."""
    with pytest.raises(NotFoundError):
        backend.set_pipeline_stopped("nope", True)
    assert pachd.calls("StopPipeline")[0].must_exist is True
    pachd.add_pipeline("images", {"pipeline": {"name": "images"}})
    backend.set_pipeline_stopped("images", True)
    assert pachd.pipelines["images"].stopped is True


# -- 4. the login check -------------------------------------------------------------------
def test_connect_to_a_cluster_with_auth_and_no_login_is_an_auth_error(
    pachd: FakePachd, isolated_config: Path
) -> None:
    """GetVersion is served without a token (internal/middleware/auth/interceptor.go:292), so
    only WhoAmI (interceptor.go:41; auth/server/api_server.go:832-844) tells a missing login:
    ErrNotSignedIn, UNAUTHENTICATED (auth/auth.go:136)."""
    pachd.auth_tokens = {"tok": "robot:ci"}
    with pytest.raises(AuthError, match="no authentication token") as caught:
        connect(pachd.address)
    assert "pachctl auth login" in (caught.value.hint or "")


def test_auth_not_activated_is_not_a_connection_error(
    pachd: FakePachd, isolated_config: Path
) -> None:
    """Without auth, WhoAmI fails with ErrNotActivated, UNIMPLEMENTED (auth/auth.go:126), which
    pachyderm_sdk raises as AuthServiceNotActivated, a ConnectionError with no cause."""
    client, _ = connect(pachd.address)  # auth is off: connecting works
    try:
        with pytest.raises(ConnectionError) as caught:
            client.auth.who_am_i()
        assert caught.value.__cause__ is None
        assert rpc_status(caught.value)[0] == "UNIMPLEMENTED"
    finally:
        client._channel.close()


def test_capstone_with_auth_on_and_no_login_exits_10(run_cli: RunCli, pachd: FakePachd) -> None:
    """As a user sees it: exit 10 and the login hint, up front (auth/auth.go:136)."""
    pachd.auth_tokens = {"tok": "robot:ci"}
    result = run_cli(*on(pachd, "repo", "list"), code=10)
    assert "pachctl auth login" in result.stderr
    assert pachd.methods() == ["GetVersion", "WhoAmI"]


# -- 5. PACHD_ADDRESS and the context's certificates --------------------------------------
def test_pachd_address_is_dialled_without_the_contexts_certificates(
    pachd: FakePachd, isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PACHD_ADDRESS set, pachctl takes certificates only from PACH_CA_CERTS, never the
    context's server_cas (src/internal/client/client.go:429-445), but keeps the context's
    session token (client.go:624-626). A port-forward is plaintext: passing the CAs makes the
    TLS handshake fail."""
    cas = base64.b64encode(Path(certifi.where()).read_bytes()).decode()
    context = {
        "pachd_address": "grpcs://pachd.example.com:443",
        "server_cas": cas,
        "session_token": "tok",
    }
    isolated_config.write_text(
        json.dumps({"v2": {"active_context": "tls", "contexts": {"tls": context}}})
    )
    monkeypatch.setenv("PACHD_ADDRESS", f"grpc://{pachd.address}")
    client, _ = connect()  # a TLS handshake with this plaintext port would fail
    client._channel.close()
    assert pachd.methods() == ["GetVersion", "WhoAmI"]
    assert pachd.metadata[0]["authn-token"] == "tok"
    assert resolve_target().root_certs is None
    monkeypatch.delenv("PACHD_ADDRESS")
    assert resolve_target().root_certs is not None  # the context's own address keeps them


# -- 6. logs without a pipeline -----------------------------------------------------------
def test_logs_without_pipeline_are_every_pipelines_not_pachds(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    """GetLogs with neither pipeline nor job returns pachd's own logs
    (pps/server/api_server.go:1445-1453): ask each pipeline instead."""
    for name in ("images", "features"):
        pachd.add_pipeline(name, {"pipeline": {"name": name}})
        pachd.log_messages.append(pps.LogMessage(pipeline_name=name, message=f"{name} ran"))
    lines = list(backend.logs())
    assert [(ln.pipeline, ln.message) for ln in lines] == [
        ("images", "images ran"),
        ("features", "features ran"),
    ]
    assert all(r.pipeline.name for r in pachd.calls("GetLogs"))
    with pytest.raises(UsageError, match="needs the pipeline"):
        list(backend.logs(follow=True))


# -- 7. ListFile of a missing path --------------------------------------------------------
def test_listing_a_missing_path_is_not_found(backend: PachydermBackend, pachd: FakePachd) -> None:
    """ListFile of a missing path answers an empty stream (server_file.go:315-351, no
    ErrOnEmpty), InspectFile NOT_FOUND (server_file.go:292; pfs/pfs.go:170-176)."""
    backend.put_files("r", "master", [Upload(path="/dir/a", data=b"1")])
    with pytest.raises(NotFoundError, match="/nope"):
        backend.list_files("r", "master", "/nope")
    assert [e.path for e in backend.list_files("r", "master", "/dir")] == ["/dir/a"]
    assert [e.path for e in backend.list_files("r", "master", "/dir/a")] == ["/dir/a"]


def test_ls_of_a_missing_path_exits_4(run_cli: RunCli, pachd: FakePachd, tmp_path: Path) -> None:
    """`capstone ls` as a user sees it (server_file.go:315-351)."""
    (tmp_path / "a.txt").write_text("a")
    run_cli(*on(pachd, "put", "r@master", str(tmp_path / "a.txt")), code=0)
    result = run_cli(*on(pachd, "ls", "r@master:/nope"), code=4)
    assert "not found" in result.stderr
    assert run_cli(*on(pachd, "ls", "r@master:/"), code=0).stdout.strip()


# -- where the fake had to learn pachd's answers -----------------------------------------
def test_upload_over_an_open_head_is_a_conflict(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    """A new commit needs its parent FINISHING or FINISHED (server_commit.go:241-258, called
    with needsFinishedParent from createCommitOnBranch, :210)."""
    backend.create_repo("r")
    other = backend.client.pfs.start_commit(branch=pfs.Branch(repo=REPO_R, name="master"))
    with pytest.raises(ConflictError, match="has not been finished") as caught:
        backend.put_files("r", "master", [Upload(path="/a", data=b"1")])
    assert "pachctl drop commit r@master" in (caught.value.hint or "")
    assert pachd.heads[("r", "master")] == other.id


def test_inspect_commit_needs_an_id_or_a_branch(backend: PachydermBackend) -> None:
    """pickCommitTx refuses a commit with neither (server_commit.go:481-483), as UNKNOWN."""
    backend.create_repo("r")
    with pytest.raises(grpc.RpcError) as caught:
        backend.client.pfs.inspect_commit(commit=pfs.Commit(repo=REPO_R))
    assert rpc_status(caught.value) == (
        "UNKNOWN",
        "pick commit tx: cannot pick commit with no ID or branch",
    )


def test_list_jobs_asks_for_every_version_newest_first(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    """ListJob sends only the current version's jobs unless `history` says more
    (pps/server/api_server.go:788-800, ppsutil/util.go:478-526), newest first
    (SortByCreateRevision, SortDescend: api_server.go:854)."""
    pachd.add_pipeline("images", {"pipeline": {"name": "images"}}, version=2)
    pachd.jobs = [
        job("images", "a" * 32, pps.JobState.JOB_SUCCESS, pipeline_version=1),
        job("images", "b" * 32, pps.JobState.JOB_RUNNING, pipeline_version=2),
    ]
    assert [j.id for j in backend.list_jobs("images")] == ["b" * 32, "a" * 32]
    assert [j.id for j in backend.list_jobs()] == ["b" * 32, "a" * 32]
    assert {r.history for r in pachd.calls("ListJob")} == {-1}
    with pytest.raises(NotFoundError):  # ErrPipelineNotFound (ppsutil/util.go:519-521)
        backend.list_jobs("nope")
