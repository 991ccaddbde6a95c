"""What a datum's user process gets from the fast spawn path (posix_spawn, reused scratch roots
and capture files): the same as `subprocess.Popen` gave it, and nothing of other datums."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker import spawn
from capstone_cli.engine.worker.pfsmount import MODE_ENV
from tests.conftest import use_pfs_mode
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put, tree


def _logs(store: Store, pipeline: str, job: J.JobRow) -> dict[str, list[str]]:
    return {
        d.id: [ln.message for ln in R.logs.query_logs(store, pipeline, datum=d.id)]
        for d in J.datum_infos(store, job.seq)
    }


FDS = "import os; print(*sorted(int(f) for f in os.listdir('/proc/self/fd')))"
# glibc's posix_spawn leaves its two internal signals (32: SIGCANCEL, 33: SIGSETXID) ignored in
# the child; glibc programs install their own handlers for them, so only these may differ.
GLIBC_INTERNAL = (1 << 31) | (1 << 32)


def _run_alone(store: Store, name: str, cmd: list[str]) -> list[str]:
    P.create_pipeline(store, make_spec(name, cmd, pfs("in", "/*")))
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS", job.reason
    (lines,) = _logs(store, name, job).values()
    return lines


@pytest.mark.parametrize("posix_spawn", [True, False], ids=["posix_spawn", "popen"])
def test_user_process_gets_what_popen_would_give_it(
    store: Store, monkeypatch: pytest.MonkeyPatch, posix_spawn: bool
) -> None:
    """Only stdin/stdout/stderr (close_fds, even for descriptors this test process inherited
    from whatever started it) and the same ignored signals (restore_signals) as Popen, on the
    fast path and on the Popen one (working_dir, other platforms)."""
    monkeypatch.setattr(spawn, "_POSIX_SPAWN", posix_spawn)
    put(store, "in", {"/a": b"1"})
    fds = _run_alone(store, "fds", ["python3", "-c", FDS])
    assert fds == ["0 1 2 3"]  # 3: the directory listdir has open
    status = ["grep", "SigIgn", "/proc/self/status"]
    reference = subprocess.run(status, capture_output=True, text=True, check=True).stdout
    ignored = int(_run_alone(store, "sig", status)[0].split()[1], 16)
    assert ignored & ~GLIBC_INTERNAL == int(reference.split()[1], 16) & ~GLIBC_INTERNAL
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # ignored by Python, not by user code
        assert not ignored & (1 << (sig - 1)), f"{sig!r} still ignored in user code"


def test_command_is_looked_up_on_the_pipeline_path(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MODE_ENV, "rewrite")  # the argument shows the rewriting
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "mytool"
    tool.write_text('#!/bin/sh\necho "tool saw $1" > "$CAPSTONE_PFS_ROOT/out/$(basename "$in")"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    put(store, "in", {"/a": b"1", "/b": b"2"})
    path = f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}"
    spec = make_spec("t", ["mytool", "/pfs/x"], pfs("in", "/*"), transform={"env": {"PATH": path}})
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS", job.reason
    out = tree(store, "t")
    assert set(out) == {"/a", "/b"} and out["/a"].decode().startswith("tool saw /")
    assert "/pfs/x" not in out["/a"].decode()  # /pfs rewritten to the scratch root

    P.create_pipeline(store, make_spec("missing", ["no-such-tool-xyz"], pfs("in", "/*")))
    (job,) = R.run_pending(store)
    assert job.state == "JOB_FAILURE"
    reasons = {d.reason for d in J.datum_infos(store, job.seq)}
    assert reasons == {"cannot run 'no-such-tool-xyz': No such file or directory"}


@pytest.mark.parametrize("mode", ["literal", "proot", "rewrite"])
def test_working_dir_is_rewritten_and_used(
    store: Store, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    use_pfs_mode(monkeypatch, mode)
    put(store, "in", {"/a": b"1"})
    spec = make_spec(
        "wd",
        ["sh", "-c", "pwd > here; ls ../in > listed"],
        pfs("in", "/*"),
        transform={"workingDir": "/pfs/out"},
    )
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS", job.reason
    out = tree(store, "wd")
    here = out["/here"].decode().strip()
    assert out["/listed"] == b"a\n"  # relative paths from the working directory
    if mode != "rewrite":  # as in a Pachyderm worker
        assert here == "/pfs/out"
    else:
        assert here.endswith("/out") and not here.startswith("/pfs")


def test_each_datum_sees_only_its_inputs_stdin_and_logs(store: Store) -> None:
    files = {f"/f{i}": (b"loud" if i % 3 == 0 else b"quiet") for i in range(7)}
    put(store, "in", files)
    stdin = [
        'n=$(basename "$in"); (cd /pfs && ls -A . in) > /pfs/out/$n',
        'if [ "$(cat "$in")" = loud ]; then echo "LOUD $n"; echo "OOPS $n" >&2; fi',
    ]
    P.create_pipeline(store, make_spec("iso", ["sh"], pfs("in", "/*"), transform={"stdin": stdin}))
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 7, 7, 0, 0, 0)
    out = tree(store, "iso")
    # /pfs holds the datum's inputs and out/, nothing else
    assert out == {p: f".:\nin\nout\n\nin:\n{p.lstrip('/')}\n".encode() for p in files}
    logs = _logs(store, "iso", job)
    for d in J.datum_infos(store, job.seq):
        name = d.files[0].rsplit("/", 1)[-1]
        expected = [f"LOUD {name}", f"OOPS {name}"] if files["/" + name] == b"loud" else []
        assert logs[d.id] == expected


def test_a_retry_starts_from_fresh_inputs_and_an_empty_out(store: Store, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    put(store, "in", {"/a": b"orig", "/b": b"orig"})
    script = (
        'n=$(basename "$in"); echo x >> ' + str(marks) + '/"$n"; '
        'if [ "$(wc -l < ' + str(marks) + '/"$n")" -eq 1 ]; then '
        'echo partial > /pfs/out/partial-$n; echo changed > "$in"; exit 1; fi; '
        'cp "$in" /pfs/out/$n'
    )
    spec = make_spec("retry", ["sh", "-c", script], pfs("in", "/*"), datumTries=2)
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store)
    assert counts(job) == ("JOB_SUCCESS", 2, 2, 0, 0, 0)
    assert tree(store, "retry") == {"/a": b"orig", "/b": b"orig"}
    assert [d.attempts for d in J.datum_infos(store, job.seq)] == [2, 2]
