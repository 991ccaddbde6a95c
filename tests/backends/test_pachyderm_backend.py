"""Contract tests of the Pachyderm backend against a real gRPC server speaking pachd's protocol.

Each test drives `PachydermBackend` (or `connect`) over a socket to `FakePachd`, then asserts the
requests pachd received (method paths and decoded fields) and how answers and failures map to
capstone's records and errors. No mocks: the SDK, grpcio and the wire encoding are all real.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import betterproto
import grpc
import pytest
from fake_pachd import FakePachd, job
from pachyderm_sdk.api import pfs, pps

from capstone_cli.backends import pachyderm_files as pachyderm_module
from capstone_cli.backends.pachyderm import PachydermBackend
from capstone_cli.backends.pachyderm_connect import connect, resolve_target
from capstone_cli.backends.pachyderm_convert import canonical_spec
from capstone_cli.backends.pachyderm_local import SERVE_MARK, serves_this_machine
from capstone_cli.engine.inputs import PfsInput
from capstone_cli.errors import (
    AuthError,
    CapstoneError,
    ConflictError,
    InputError,
    JobFailedError,
    NotFoundError,
    PachydermError,
    UnreachableError,
    UsageError,
)
from capstone_cli.results import JobInfo, Upload, failed_job_error

CODES = grpc.StatusCode


def write_config(path: Path, active: str, contexts: dict[str, Any]) -> None:
    path.write_text(json.dumps({"v2": {"active_context": active, "contexts": contexts}}))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- connect ------------------------------------------------------------------------------
CONTEXTS: dict[str, Any] = {
    "local": {"pachd_address": "grpc://config-host:30650", "project": "ml"},
    "other": {"port_forwarders": {"pachd": 31000}},
}


@pytest.mark.parametrize(
    ("flag", "env", "context", "want_address", "want_source", "want_project"),
    [
        ("flag-host:1", "env-host:2", None, "flag-host:1", "flag", "ml"),
        (None, "env-host:2", None, "env-host:2", "PACHD_ADDRESS", "ml"),
        (None, None, None, "grpc://config-host:30650", "config:local", "ml"),
        (None, None, "other", "grpc://localhost:31000", "config:other", "default"),
    ],
)
def test_target_precedence_is_flag_then_env_then_config(
    isolated_config: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    env: str | None,
    context: str | None,
    want_address: str,
    want_source: str,
    want_project: str,
) -> None:
    write_config(isolated_config, "local", CONTEXTS)
    if env:
        monkeypatch.setenv("PACHD_ADDRESS", env)
    if context:
        monkeypatch.setenv("PACH_CONTEXT", context)
    target = resolve_target(flag)
    assert (target.address, target.source, target.project) == (
        want_address,
        want_source,
        want_project,
    )


def test_target_without_config_is_port_forward_default(isolated_config: Path) -> None:
    target = resolve_target(None, project="p2")
    assert (target.address, target.source, target.project) == (
        "grpc://localhost:30650",
        "default",
        "p2",
    )


def test_unknown_context_is_a_usage_error(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_config, "local", CONTEXTS)
    monkeypatch.setenv("PACH_CONTEXT", "nope")
    with pytest.raises(UsageError):
        resolve_target()


def test_connect_from_config_calls_get_version_and_who_am_i_with_the_session_token(
    pachd: FakePachd, isolated_config: Path
) -> None:
    pachd.auth_tokens = {"tok": "robot:ci"}
    context = {"pachd_address": f"grpc://{pachd.address}", "session_token": "tok", "project": "ml"}
    write_config(isolated_config, "c", {"c": context})
    client, project = connect()
    assert project == "ml"
    assert pachd.methods() == ["GetVersion", "WhoAmI"]
    assert [m["authn-token"] for m in pachd.metadata] == ["tok", "tok"]
    client._channel.close()


@pytest.mark.parametrize(
    ("failure", "version", "error", "hint_part"),
    [
        ((CODES.UNAUTHENTICATED, "no authentication token"), None, AuthError, "auth login"),
        ((CODES.PERMISSION_DENIED, "not authorized"), None, AuthError, "auth login"),
        ((CODES.INTERNAL, "token expiration is in the past"), None, AuthError, "auth login"),
        (None, (1, 13, 0), PachydermError, "embedded"),
        (None, (2, 7, 0), PachydermError, "embedded"),
    ],
)
def test_connect_rejects_auth_errors_and_other_versions(
    isolated_config: Path,
    failure: tuple[grpc.StatusCode, str] | None,
    version: tuple[int, int, int] | None,
    error: type[Exception],
    hint_part: str,
) -> None:
    server = FakePachd(version=version or (2, 12, 2))
    try:
        if failure:  # GetVersion needs no login; WhoAmI checks it (interceptor.go:41, 292)
            server.fail("/auth_v2.API/WhoAmI", *failure)
        with pytest.raises(error) as caught:
            connect(server.address)
        assert not isinstance(caught.value, UnreachableError)
        assert hint_part in (caught.value.hint or "")  # type: ignore[attr-defined]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("additional", "local_paths"),
    [("capstone", True), ("", False), ("-rc1", False)],
)
def test_only_capstone_serve_on_loopback_reads_local_paths(
    isolated_config: Path, additional: str, local_paths: bool
) -> None:
    server = FakePachd(additional=additional)
    try:
        connected = PachydermBackend.connect(server.address)
        assert connected.local_paths is local_paths
        connected.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("address", "loopback"),
    [
        ("127.0.0.1:30650", True),
        ("grpc://localhost:30650", True),
        ("grpc://[::1]:30650", True),
        ("127.8.0.1:1", True),
        ("grpc://10.0.0.5:30650", False),
        ("grpcs://pachd.example.com:443", False),
        ("grpc://user:tok@localhost:30650", True),
    ],
)
def test_capstone_serve_is_local_only_on_loopback(address: str, loopback: bool) -> None:
    assert serves_this_machine(address, SERVE_MARK) is loopback


def test_connect_to_a_closed_port_is_unreachable_quickly(isolated_config: Path) -> None:
    started = time.monotonic()
    with pytest.raises(UnreachableError) as caught:
        connect(f"127.0.0.1:{closed_port()}")
    assert "port-forward" in (caught.value.hint or "")
    assert time.monotonic() - started < 6


def test_a_stalled_pachd_hits_the_connect_deadline(isolated_config: Path) -> None:
    server = FakePachd()
    server.delays["/versionpb_v2.API/GetVersion"] = 2.0
    try:
        started = time.monotonic()
        with pytest.raises(UnreachableError, match="cannot reach pachd"):
            connect(server.address, timeout_s=0.2)
        assert time.monotonic() - started < 1.5
    finally:
        server.stop()


# -- repos and errors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "error"),
    [
        (CODES.NOT_FOUND, NotFoundError),
        (CODES.ALREADY_EXISTS, ConflictError),
        (CODES.UNAVAILABLE, UnreachableError),
        (CODES.UNAUTHENTICATED, PachydermError),
        (CODES.INTERNAL, PachydermError),
    ],
)
def test_grpc_codes_map_to_capstone_errors(
    backend: PachydermBackend, pachd: FakePachd, code: grpc.StatusCode, error: type[Exception]
) -> None:
    pachd.fail("/pfs_v2.API/InspectRepo", code, "server says no")
    with pytest.raises(error) as caught:
        backend.inspect_repo("images")
    assert "server says no" in str(caught.value)


def test_missing_repo_is_not_found(backend: PachydermBackend, pachd: FakePachd) -> None:
    with pytest.raises(NotFoundError):
        backend.inspect_repo("nope")
    request = pachd.calls("InspectRepo")[0]
    assert (request.repo.name, request.repo.project.name) == ("nope", "default")


def test_create_repo_exist_ok_and_conflict(backend: PachydermBackend, pachd: FakePachd) -> None:
    backend.create_repo("images", description="pics")
    assert backend.create_repo("images", exist_ok=True).description == "pics"
    with pytest.raises(ConflictError):
        backend.create_repo("images")
    assert [r.name for r in backend.list_repos()] == ["images"]
    backend.delete_repo("images", force=True)
    assert pachd.calls("DeleteRepo")[0].force is True


# -- uploads ------------------------------------------------------------------------------
def test_many_files_go_in_one_modify_file_stream(
    backend: PachydermBackend, pachd: FakePachd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pachyderm_module, "CHUNK_BYTES", 10)
    backend.put_files("rawdata", "master", [Upload(path="/old.txt", data=b"gone")])
    pachd.requests.clear()
    local = tmp_path / "big.bin"
    local.write_bytes(b"b" * 25)  # three chunks of at most 10 bytes
    uploads = [Upload(path=f"test.tsv/{i:016x}", data=f"line {i}\n".encode()) for i in range(40)]
    uploads += [Upload(path="/big.bin", source=local), Upload(path="/empty", data=b"")]
    sent: list[int] = []
    info = backend.put_files(
        "rawdata",
        "master",
        uploads,
        description="split",
        delete_paths=["/old.txt"],
        on_bytes=sent.append,
    )
    assert pachd.methods()[:2] == ["InspectRepo", "StartCommit"]
    assert pachd.streams_opened["/pfs_v2.API/ModifyFile"] == 2  # the setup upload and this one
    messages = pachd.calls("ModifyFile")
    kinds = [betterproto.which_one_of(m, "body")[0] for m in messages]
    assert kinds[0] == "set_commit" and messages[0].set_commit.id == info.id
    assert kinds.count("delete_file") == 1 + len(uploads)
    assert kinds.count("add_file") == 40 + 3 + 1
    assert len(messages) == 1 + 1 + len(uploads) + 44
    added = [m.add_file.path for m, kind in zip(messages, kinds, strict=True) if kind == "add_file"]
    assert added[-4:] == [
        "/big.bin",
        "/big.bin",
        "/big.bin",
        "/empty",
    ]
    finish = pachd.calls("FinishCommit")
    assert len(finish) == 1 and finish[0].error == "" and finish[0].commit.id == info.id
    files = pachd.head_files("rawdata")
    assert "/old.txt" not in files and files["/big.bin"] == b"b" * 25 and files["/empty"] == b""
    assert sum(sent) == sum(u.size() for u in uploads)
    assert (info.repo, info.branch, info.description) == ("rawdata", "master", "split")


def test_upload_breaking_midway_drops_the_commit(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    backend.put_files("rawdata", "master", [Upload(path="/keep.txt", data=b"v1")])
    before = pachd.heads[("rawdata", "master")]
    pachd.requests.clear()
    pachd.fail("/pfs_v2.API/ModifyFile", CODES.UNAVAILABLE, "connection reset", after=5)
    uploads = (Upload(path=f"/f{i}", data=b"x") for i in range(20))
    with pytest.raises(UnreachableError) as caught:
        backend.put_files("rawdata", "master", uploads)
    opened = pachd.calls("StartCommit")
    assert len(opened) == 1
    dropped = pachd.calls("DropCommitSet")
    assert len(dropped) == 1 and "dropped" in str(caught.value)
    assert pachd.calls("FinishCommit") == []
    assert pachd.heads[("rawdata", "master")] == before
    assert pachd.head_files("rawdata") == {"/keep.txt": b"v1"}


def test_upload_failure_finishes_with_error_when_drop_fails(
    backend: PachydermBackend, pachd: FakePachd, tmp_path: Path
) -> None:
    backend.create_repo("rawdata")
    pachd.fail("/pfs_v2.API/DropCommitSet", CODES.FAILED_PRECONDITION, "has children")
    missing = tmp_path / "missing.png"
    with pytest.raises(InputError, match=r"missing\.png"):
        backend.put_files(
            "rawdata", "master", [Upload(path="/a", data=b"1"), Upload("/b", source=missing)]
        )
    finish = pachd.calls("FinishCommit")
    assert len(finish) == 1 and "upload failed" in finish[0].error


# -- downloads and listings ---------------------------------------------------------------
def test_read_file_streams_chunks_and_listing_maps_types(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    backend.put_files("model", "master", [Upload(path="/saved/model.h5", data=b"0123456789")])
    chunks = list(backend.read_file("model", "master", "/saved/model.h5"))
    assert len(chunks) == 3 and b"".join(chunks) == b"0123456789"
    request = pachd.calls("GetFile")[0]
    assert (request.file.commit.branch.name, request.file.path) == ("master", "/saved/model.h5")
    assert [e.to_json() for e in backend.list_files("model", "master")] == [
        {"path": "/saved", "type": "dir", "size": 10}
    ]
    assert [e.path for e in backend.walk_files("model", "master")] == ["/saved/model.h5"]
    with pytest.raises(NotFoundError):
        list(backend.read_file("model", "master", "/nope"))


def test_list_files_page_uses_pachd_paging(backend: PachydermBackend, pachd: FakePachd) -> None:
    names = ["/d/a", "/d/b", "/d/c", "/d/sub/x", "/d/z"]
    backend.put_files("r", "master", [Upload(path=n, data=b"x") for n in names])
    seen, after = [], ""
    while True:
        page = backend.list_files_page("r", "master", "/d", after=after, limit=2)
        assert len(page.entries) <= 2
        seen += [(e.path, e.type) for e in page.entries]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [(e.path, e.type) for e in backend.list_files("r", "master", "/d")]
    requests = pachd.calls("ListFile")[-4:]
    assert [r.number for r in requests[:3]] == [3, 3, 3]  # one more than a page: is there more?
    assert requests[1].pagination_marker.path == "/d/b"
    with pytest.raises(NotFoundError):  # pachd lists a missing path as empty; inspect says so
        backend.list_files_page("r", "master", "/nope")


def test_list_commits_by_commit_id_and_branch(backend: PachydermBackend, pachd: FakePachd) -> None:
    first = backend.put_files("r", "master", [Upload(path="/a", data=b"1")])
    second = backend.put_files("r", "master", [Upload(path="/a", data=b"2")])
    commits = backend.list_commits("r", "master", limit=5)
    assert [c.id for c in commits] == [second.id, first.id]
    assert commits[0].parent == first.id and commits[0].origin == "USER"
    assert commits[0].finished is not None
    request = pachd.calls("ListCommit")[0]
    assert (request.number, request.to.branch.name) == (5, "master")
    assert b"".join(backend.read_file("r", first.id, "/a")) == b"1"


# -- pipelines ----------------------------------------------------------------------------
SPEC = {
    "pipeline": {"name": "images"},
    "transform": {"cmd": ["python3", "-m", "workers.images"], "env": {"MY_VAR": "1"}},
    "input": {"pfs": {"repo": "rawdata", "glob": "/*/*"}},
    "parallelism_spec": {"constant": 1},
}


@pytest.mark.parametrize(
    ("existing", "new", "reprocess", "dry_run", "action", "request_fields"),
    [
        (
            None,
            SPEC,
            False,
            False,
            "created",
            {"update": False, "reprocess": False, "dry_run": False},
        ),
        (
            None,
            SPEC,
            False,
            True,
            "created",
            {"update": False, "reprocess": False, "dry_run": True},
        ),
        (SPEC, SPEC, False, False, "unchanged", None),
        (
            {**SPEC, "parallelismSpec": {"constant": 1}, "datumTries": 0},
            SPEC,
            False,
            False,
            "unchanged",
            None,
        ),
        (SPEC, SPEC, True, False, "updated", {"update": True, "reprocess": True, "dry_run": False}),
        (
            SPEC,
            {**SPEC, "transform": {"cmd": ["python3", "-m", "workers.other"]}},
            False,
            False,
            "updated",
            {"update": True, "reprocess": False, "dry_run": False},
        ),
    ],
)
def test_apply_pipeline_creates_updates_or_leaves_unchanged(
    backend: PachydermBackend,
    pachd: FakePachd,
    existing: dict[str, Any] | None,
    new: dict[str, Any],
    reprocess: bool,
    dry_run: bool,
    action: str,
    request_fields: dict[str, bool] | None,
) -> None:
    if existing is not None:
        pachd.add_pipeline("images", existing)
    result = backend.apply_pipeline(new, reprocess=reprocess, dry_run=dry_run)
    assert result.action == action
    sent = pachd.calls("CreatePipelineV2")
    if request_fields is None:
        assert sent == [] and result.diff == []
        return
    assert len(sent) == 1
    got = {k: getattr(sent[0], k) for k in request_fields}
    assert got == request_fields
    body = json.loads(sent[0].create_pipeline_request_json)
    assert body["pipeline"] == {"name": "images", "project": {"name": "default"}}
    assert body["transform"] == new["transform"]
    if action == "updated" and not reprocess:
        assert any(line.startswith("-") and "workers.images" in line for line in result.diff)
        assert any(line.startswith("+") and "workers.other" in line for line in result.diff)
    if not dry_run:
        assert result.job_id == pachd.pipelines["images"].spec_commit.id


def test_canonical_spec_keeps_map_keys_and_drops_defaults() -> None:
    spec = {"transform": {"env": {"MY_VAR": ""}, "cmd": ["a"]}, "datum_tries": 0, "s3_out": False}
    assert canonical_spec(spec) == {"transform": {"env": {"MY_VAR": ""}, "cmd": ["a"]}}


def test_pipelines_are_listed_inspected_and_deleted(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    pachd.add_pipeline(
        "consolidate",
        {
            "pipeline": {"name": "consolidate"},
            "input": {"join": [{"pfs": {"repo": "images"}}, {"pfs": {"repo": "features"}}]},
        },
        last_job_state=pps.JobState.JOB_FAILURE,
        parallelism=2,
    )
    (info,) = backend.list_pipelines()
    assert (info.name, info.state, info.last_job_state) == (
        "consolidate",
        "PIPELINE_RUNNING",
        "JOB_FAILURE",
    )
    assert (info.inputs, info.parallelism) == (["images", "features"], 2)
    assert backend.inspect_pipeline("consolidate").spec["pipeline"]["name"] == "consolidate"
    backend.delete_pipeline("consolidate", keep_repo=True)
    request = pachd.calls("DeletePipeline")[0]
    assert (request.keep_repo, request.must_exist) == (True, True)
    with pytest.raises(NotFoundError):
        backend.inspect_pipeline("consolidate")


# -- jobs, datums, waiting ----------------------------------------------------------------
def test_jobs_map_states_counts_and_stats(backend: PachydermBackend, pachd: FakePachd) -> None:
    stats = pps.ProcessStats(download_bytes=10, upload_bytes=20)
    pachd.jobs = [
        job(
            "images",
            "a" * 32,
            pps.JobState.JOB_SUCCESS,
            data_total=5,
            data_processed=3,
            data_skipped=2,
            stats=stats,
        ),
        job(
            "features",
            "b" * 32,
            pps.JobState.JOB_FAILURE,
            data_total=4,
            data_failed=1,
            data_recovered=1,
            reason="datum failed",
        ),
    ]
    pachd.jobs.reverse()  # creation order: ListJob answers newest first
    for name in ("images", "features"):
        pachd.add_pipeline(name, {"pipeline": {"name": name}})
    jobs = backend.list_jobs()
    assert [(j.pipeline, j.state) for j in jobs] == [
        ("images", "JOB_SUCCESS"),
        ("features", "JOB_FAILURE"),
    ]
    assert (jobs[0].data_total, jobs[0].data_processed, jobs[0].data_skipped) == (5, 3, 2)
    assert (jobs[0].download_bytes, jobs[0].upload_bytes) == (10, 20)
    assert (jobs[1].data_failed, jobs[1].data_recovered, jobs[1].reason) == (1, 1, "datum failed")
    assert backend.list_jobs("images")[0].id == "a" * 32
    assert pachd.calls("ListJob")[1].pipeline.name == "images"
    assert backend.inspect_job("features", "b" * 32).state == "JOB_FAILURE"
    with pytest.raises(NotFoundError):
        backend.inspect_job("features", "c" * 32)


def test_list_datums_maps_state_and_files(backend: PachydermBackend, pachd: FakePachd) -> None:
    data = [
        pfs.FileInfo(
            file=pfs.File(commit=pfs.Commit(repo=pfs.Repo(name="images")), path="/c/1.png")
        )
    ]
    pachd.datums = [pps.DatumInfo(datum=pps.Datum(id="d1"), state=pps.DatumState.FAILED, data=data)]
    (datum,) = backend.list_datums("features", "a" * 32)
    assert (datum.id, datum.state, datum.files) == ("d1", "FAILED", ["images:/c/1.png"])
    request = pachd.calls("ListDatum")[0]
    assert (request.job.pipeline.name, request.job.id) == ("features", "a" * 32)


def test_wait_commit_set_polls_until_terminal_with_progress(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    cid = "c" * 32
    pachd.job_sets[cid] = [
        [job("images", cid, pps.JobState.JOB_RUNNING, data_total=4, data_processed=1)],
        [job("images", cid, pps.JobState.JOB_RUNNING, data_total=4, data_processed=3)],
        [job("images", cid, pps.JobState.JOB_SUCCESS, data_total=4, data_processed=4)],
    ]
    seen: list[list[JobInfo]] = []
    jobs = backend.wait_commit_set(cid, on_progress=seen.append, poll_seconds=0.01)
    assert [s[0].data_processed for s in seen] == [1, 3, 4]
    assert jobs[0].state == "JOB_SUCCESS" and failed_job_error(jobs) is None
    assert all(r.job_set.id == cid and not r.wait for r in pachd.calls("InspectJobSet"))


def test_failed_job_is_reported_with_reason_and_logs_hint(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    cid = "d" * 32
    pachd.job_sets[cid] = [[job("model", cid, pps.JobState.JOB_FAILURE, reason="out of memory")]]
    jobs = backend.wait_commit_set(cid, poll_seconds=0.01)
    error = failed_job_error(jobs)
    assert isinstance(error, JobFailedError)
    assert "out of memory" in str(error) and error.hint == f"capstone logs -p model -j {cid}"


def test_wait_times_out_and_survives_nothing_forever(
    backend: PachydermBackend, pachd: FakePachd
) -> None:
    cid = "e" * 32
    pachd.job_sets[cid] = [[job("images", cid, pps.JobState.JOB_RUNNING)]]
    with pytest.raises(PachydermError, match="still running"):
        backend.wait_commit_set(cid, poll_seconds=0.01, timeout_s=0.1)


def test_wait_ends_when_pachd_goes_away(backend: PachydermBackend, pachd: FakePachd) -> None:
    cid = "f" * 32
    pachd.job_sets[cid] = [[job("images", cid, pps.JobState.JOB_RUNNING)]]
    backend.unreachable_grace_s = 0.3
    threading.Timer(0.1, pachd.stop).start()
    started = time.monotonic()
    with pytest.raises(UnreachableError):
        backend.wait_commit_set(cid, poll_seconds=0.02)
    assert time.monotonic() - started < 5


# -- logs ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"pipeline": "images"},
            {"pipeline": "images", "job": "", "datum": "", "master": False, "follow": False},
        ),
        (
            {"pipeline": "images", "master": True},
            {"pipeline": "images", "job": "", "datum": "", "master": True, "follow": False},
        ),
        (
            {"pipeline": "images", "job_id": "j1"},
            {"pipeline": "images", "job": "j1", "datum": "", "master": False, "follow": False},
        ),
        (
            {"pipeline": "images", "job_id": "j1", "datum_id": "d1"},
            {"pipeline": "images", "job": "j1", "datum": "d1", "master": False, "follow": False},
        ),
        (
            {"pipeline": "images", "follow": True},
            {"pipeline": "images", "job": "", "datum": "", "master": False, "follow": True},
        ),
    ],
)
def test_logs_request_fields(
    backend: PachydermBackend, pachd: FakePachd, kwargs: dict[str, Any], expected: dict[str, Any]
) -> None:
    pachd.log_messages = [
        pps.LogMessage(
            pipeline_name="images", job_id="j1", datum_id="d1", message="resized 5\n", user=True
        ),
        pps.LogMessage(pipeline_name="images", job_id="j1", master=True, message="started"),
    ]
    lines = list(backend.logs(**kwargs))
    assert [(ln.message, ln.master, ln.datum) for ln in lines] == [
        ("resized 5", False, "d1"),
        ("started", True, ""),
    ]
    request = pachd.calls("GetLogs")[0]
    got = {
        "pipeline": request.pipeline.name,
        "job": request.job.id,
        "datum": request.datum.id,
        "master": request.master,
        "follow": request.follow,
    }
    assert got == expected


@pytest.mark.parametrize(
    "kwargs", [{"job_id": "j1"}, {"master": True}, {"pipeline": "p", "datum_id": "d1"}]
)
def test_logs_need_pipeline_and_job(backend: PachydermBackend, kwargs: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        list(backend.logs(**kwargs))


@pytest.mark.parametrize(
    ("operation", "hint"),
    [
        ("fsck", "pachctl fsck"),
        ("run_pending", "capstone status"),
        ("explain_datums", "pachctl list datum"),
    ],
)
def test_store_only_operations_are_refused_with_the_cluster_equivalent(
    backend: PachydermBackend, pachd: FakePachd, operation: str, hint: str
) -> None:
    """What needs the embedded store is a UsageError naming what to run on a cluster instead."""
    calls = {
        "fsck": lambda: backend.fsck(fix=True),
        "run_pending": lambda: backend.run_pending(),
        "explain_datums": lambda: backend.explain_datums(PfsInput("images", "/*")),
    }
    with pytest.raises(UsageError) as refused:
        calls[operation]()
    assert refused.value.hint is not None and hint in refused.value.hint
    assert pachd.requests == []  # refused before any call to pachd


def test_projects_on_a_cluster(backend: PachydermBackend, pachd: FakePachd) -> None:
    """CreateProject, ListProject, InspectProject, DeleteProject as `capstone project ...`."""
    created = backend.create_project("staging", "tests")
    assert (created.name, created.description, created.repos) == ("staging", "tests", [])
    assert [p.name for p in backend.list_projects()] == ["default", "staging"]
    backend.create_repo("staging/edges")
    assert backend.inspect_project("staging").repos == ["edges"]
    with pytest.raises(ConflictError):
        backend.create_project("staging")
    with pytest.raises(NotFoundError):
        backend.inspect_project("nope")
    with pytest.raises(CapstoneError):
        backend.delete_project("staging")  # it holds a repo
    backend.delete_repo("staging/edges")
    backend.delete_project("staging")
    assert [p.name for p in backend.list_projects()] == ["default"]


def test_branches_on_a_cluster(backend: PachydermBackend, pachd: FakePachd) -> None:
    """CreateBranch (--head a branch or a commit, a trigger), ListBranch, DeleteBranch."""
    commit = backend.put_files("data", "dev", [Upload("/a", data=b"a")])
    moved, commit_set = backend.create_branch("data", "master", head="dev")
    assert (moved.name, moved.head, commit_set) == ("master", commit.id, commit.id)
    staged, none = backend.create_branch(
        "data", "release", trigger={"branch": "master", "size": "", "commits": 2, "all": False}
    )
    assert (staged.head, none) == (None, None)
    assert staged.trigger == {"branch": "master", "size": "", "commits": 2, "all": False}
    listed = backend.list_branches("data")
    assert [(b.name, b.head) for b in listed] == [
        ("dev", commit.id),
        ("master", commit.id),
        ("release", None),
    ]
    backend.delete_branch("data", "release")
    with pytest.raises(NotFoundError):
        backend.delete_branch("data", "release")
    assert [b.name for b in backend.list_branches("data")] == ["dev", "master"]
