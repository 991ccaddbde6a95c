"""A pachyderm_sdk client and the `capstone` CLI on one CAPSTONE_HOME through `capstone serve`:
data in through the API, a pipeline's job run by the server, its output read through the API
and through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import grpc
import pytest
from pachyderm_sdk.api import pfs, pps

from tests.e2e.conftest import Served


def test_sdk_and_cli_share_the_home(served: Served) -> None:
    client, env = served.client, served.env
    words = pfs.Repo(name="words")
    client.pfs.create_repo(repo=words)
    with client.pfs.commit(branch=pfs.Branch.from_uri("words@master")) as commit:
        commit.put_file_from_bytes(path="/a.txt", data=b"alpha\n")
        commit.put_file_from_bytes(path="/b.txt", data=b"beta\n")
    commit.wait()

    upper = pps.Pipeline(name="upper")
    client.pps.create_pipeline(
        pipeline=upper,
        input=pps.Input(pfs=pps.PfsInput(repo="words", glob="/*")),
        transform=pps.Transform(
            cmd=["sh"],
            stdin=[
                "for f in /pfs/words/*; do tr a-z A-Z < $f > /pfs/out/$(basename $f); done",
                "echo done",
            ],
        ),
    )
    with client.pfs.commit(branch=pfs.Branch.from_uri("words@master")) as commit:
        commit.put_file_from_bytes(path="/c.txt", data=b"gamma\n")
    jobs = list(client.pps.inspect_job_set(job_set=pps.JobSet(id=commit.id), wait=True))
    assert [j.state for j in jobs] == [pps.JobState.JOB_SUCCESS]
    assert jobs[0].data_total == 3

    out = pfs.File.from_uri(f"upper@{commit.id}:/c.txt")
    assert client.pfs.pfs_file(file=out).read() == b"GAMMA\n"
    logs = [m.message for m in client.pps.get_logs(pipeline=upper)]
    assert any("done" in m for m in logs)

    # the CLI on the same CAPSTONE_HOME sees what the API wrote
    listed = subprocess.run(
        [sys.executable, "-m", "capstone_cli", "ls", "upper@master", "--json"],
        env=env,
        capture_output=True,
        check=True,
        text=True,
    )
    assert [e["path"] for e in json.loads(listed.stdout)] == ["/a.txt", "/b.txt", "/c.txt"]

    with pytest.raises(grpc.RpcError) as missing:
        client.pfs.inspect_repo(repo=pfs.Repo(name="nope"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    # as pachd: creating an existing pipeline again is ALREADY_EXISTS unless the request updates
    transform = pps.Transform(cmd=["sh"], stdin=["cp -r /pfs/words/. /pfs/out/"])
    with pytest.raises(grpc.RpcError) as exists:
        client.pps.create_pipeline(
            pipeline=upper,
            input=pps.Input(pfs=pps.PfsInput(repo="words", glob="/*")),
            transform=transform,
        )
    assert exists.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert client.pps.inspect_pipeline(pipeline=upper).version == 1
    client.pps.create_pipeline(
        pipeline=upper,
        input=pps.Input(pfs=pps.PfsInput(repo="words", glob="/*")),
        transform=transform,
        update=True,
    )
    assert client.pps.inspect_pipeline(pipeline=upper).version == 2


def test_followers_that_leave_give_their_server_thread_back(served: Served) -> None:
    """`pachctl logs -f` or `wait commit` that is stopped (the client cancels) must not keep a
    server thread polling forever: more such callers than the server has threads, then a plain
    call."""
    client = served.client
    client.pfs.create_repo(repo=pfs.Repo(name="quiet"))
    client.pps.create_pipeline(
        pipeline=pps.Pipeline(name="quiet-copy"),
        input=pps.Input(pfs=pps.PfsInput(repo="quiet", glob="/*")),
        transform=pps.Transform(cmd=["true"]),
    )
    channel = grpc.insecure_channel(f"127.0.0.1:{served.port}")
    get_logs = channel.unary_stream(
        "/pps_v2.API/GetLogs",
        request_serializer=pps.GetLogsRequest.SerializeToString,
        response_deserializer=pps.LogMessage.FromString,
    )
    inspect_repo = channel.unary_unary(
        "/pfs_v2.API/InspectRepo",
        request_serializer=pfs.InspectRepoRequest.SerializeToString,
        response_deserializer=pfs.RepoInfo.FromString,
    )
    inspect_commit = channel.unary_unary(
        "/pfs_v2.API/InspectCommit",
        request_serializer=pfs.InspectCommitRequest.SerializeToString,
        response_deserializer=pfs.CommitInfo.FromString,
    )
    follow = pps.GetLogsRequest(pipeline=pps.Pipeline(name="quiet-copy"), follow=True)
    for _ in range(24):  # the server has 16 handler threads; no log line ever comes
        stream = get_logs(follow)
        time.sleep(0.1)  # the server has taken the call
        stream.cancel()
    never = client.pfs.start_commit(branch=pfs.Branch.from_uri("quiet@master"))
    wait = pfs.InspectCommitRequest(commit=never, wait=pfs.CommitState.FINISHED)
    for _ in range(24):  # `pachctl wait commit` on a commit nobody finishes, then Ctrl-C
        waiting = inspect_commit.future(wait)
        time.sleep(0.1)
        waiting.cancel()
    info = inspect_repo(pfs.InspectRepoRequest(repo=pfs.Repo(name="quiet")), timeout=30)
    assert info.repo.name == "quiet"
    channel.close()
