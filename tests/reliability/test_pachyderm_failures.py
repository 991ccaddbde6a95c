"""What `capstone --backend pachyderm ...` says when the cluster fails (issue #8).

The CLI, in-process, against the fake pachd of tests/backends/ (a real gRPC server speaking
pachd's protocol, with pachyderm_sdk as the client): pachd unreachable (exit 6), an auth error
(exit 10) and a job that fails on the cluster (exit 5), each a one-line error with a hint saying
what to do next. The backend-level mapping of every gRPC code is in
tests/backends/test_pachyderm_backend.py; this checks what the user sees.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pachyderm_sdk.api import pfs, pps

from capstone_cli.errors import ExitCode
from capstone_cli.project import PACKAGED_SPECS
from tests.backends.fake_pachd import FakePachd, job
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.reliability.test_bad_inputs import assert_clean_error

CODES = grpc.StatusCode
FAILED_COMMIT = "f" * 32
MACHINE_SETTINGS = (
    "PACHD_ADDRESS",
    "PACH_CONTEXT",
    "PACH_PYTHON_AUTH_TOKEN",
    "PACH_PYTHON_OIDC_TOKEN",
)


class ScriptedPachd(FakePachd):
    """A fake pachd whose next commit gets a known ID, so its job set can be scripted."""

    def start_commit(self, req: pfs.StartCommitRequest, ctx: grpc.ServicerContext) -> Any:
        answer = super().start_commit(req, ctx)
        commit = self.commits.pop(answer.id)
        commit.id = FAILED_COMMIT
        self.commits[FAILED_COMMIT] = commit
        self.heads[(commit.repo, commit.branch)] = FAILED_COMMIT
        answer.id = FAILED_COMMIT
        return answer


@pytest.fixture(autouse=True)
def no_machine_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No pachctl config, PACHD_ADDRESS or token from the machine running the tests."""
    for name in (
        "PACHD_ADDRESS",
        "PACH_CONTEXT",
        "PACH_PYTHON_AUTH_TOKEN",
        "PACH_PYTHON_OIDC_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PACH_CONFIG", str(tmp_path / "pachyderm-config.json"))


@pytest.fixture
def pachd() -> Iterator[ScriptedPachd]:
    server = ScriptedPachd()
    yield server
    server.stop()


def on(address: str, *args: str) -> list[str]:
    return ["--backend", "pachyderm", "--pachd-address", address, *args]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def a_tsv(tmp_path: Path) -> Path:
    tsv = tmp_path / "captions.tsv"
    tsv.write_text("a red circle\thttp://example.com/1.jpg\n")
    return tsv


COMMANDS = {
    "status": lambda tmp: ["status"],
    "repo list": lambda tmp: ["repo", "list"],
    "put": lambda tmp: ["put", "images@master", str(REPO_ROOT / "testdata" / "image.png")],
    "train": lambda tmp: ["train", "--tsv", str(a_tsv(tmp)), "--specs", str(PACKAGED_SPECS)],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_pachd_unreachable_is_exit_6_with_what_to_do(
    run_cli: RunCli, tmp_path: Path, command: str
) -> None:
    address = f"127.0.0.1:{closed_port()}"
    result = run_cli(*on(address, *COMMANDS[command](tmp_path)), code=6)
    assert_clean_error(result, ExitCode.UNREACHABLE, "cannot reach pachd", address)
    assert "pachctl port-forward" in result.stderr and "--pachd-address" in result.stderr


def test_pachd_going_away_mid_command_is_exit_6(run_cli: RunCli, pachd: ScriptedPachd) -> None:
    pachd.fail("/pps_v2.API/ListPipeline", CODES.UNAVAILABLE, "connection reset by peer")
    result = run_cli(*on(pachd.address, "status"), code=6)
    assert_clean_error(result, ExitCode.UNREACHABLE, "pachd is unreachable")
    assert "port-forward" in result.stderr


@pytest.mark.parametrize(
    ("method", "code", "needle"),
    [
        ("/auth_v2.API/WhoAmI", CODES.UNAUTHENTICATED, "UNAUTHENTICATED"),
        ("/auth_v2.API/WhoAmI", CODES.PERMISSION_DENIED, "PERMISSION_DENIED"),
        ("/pfs_v2.API/ListRepo", CODES.UNAUTHENTICATED, "unauthenticated"),
        ("/pfs_v2.API/ListRepo", CODES.PERMISSION_DENIED, "permission denied"),
    ],
    ids=["connect-unauthenticated", "connect-denied", "call-unauthenticated", "call-denied"],
)
def test_auth_error_is_exit_10_with_login_hint(
    run_cli: RunCli, pachd: ScriptedPachd, method: str, code: grpc.StatusCode, needle: str
) -> None:
    pachd.fail(method, code, "no authentication token or not authorized")
    result = run_cli(*on(pachd.address, "repo", "list"), code=10)
    assert_clean_error(result, ExitCode.AUTH, needle)
    assert "pachctl auth login" in result.stderr


def test_job_failing_on_the_cluster_is_exit_5_with_its_reason(
    run_cli: RunCli, pachd: ScriptedPachd
) -> None:
    pachd.job_sets[FAILED_COMMIT] = [
        [job("images", FAILED_COMMIT, pps.JobState.JOB_RUNNING, data_total=1)],
        [
            job(
                "images",
                FAILED_COMMIT,
                pps.JobState.JOB_FAILURE,
                data_total=1,
                data_failed=1,
                reason="datum d1 failed",
            )
        ],
    ]
    pachd.jobs = [pachd.job_sets[FAILED_COMMIT][1][0]]
    pachd.datums = [
        pps.DatumInfo(
            datum=pps.Datum(id="d1", job=pps.Job(id=FAILED_COMMIT)), state=pps.DatumState.FAILED
        )
    ]
    pachd.log_messages = [  # pachd names the pipeline in every line
        pps.LogMessage(pipeline_name="images", message=text, datum_id="d1", master=master)
        for text, master in [
            ("Traceback (most recent call last):", False),
            ("OSError: [Errno 28] No space left on device", False),
            ("datum d1 failed", True),
        ]
    ]
    result = run_cli(
        *on(pachd.address, "put", "images@master", str(REPO_ROOT / "testdata" / "image.png")),
        code=5,
    )
    message = assert_clean_error(result, ExitCode.JOB_FAILED, "pipeline images", "JOB_FAILURE")
    assert "datum d1 failed" in message
    assert message.endswith("OSError: [Errno 28] No space left on device")  # the user code's
    assert f"hint: capstone logs -p images -j {FAILED_COMMIT}" in result.stderr
