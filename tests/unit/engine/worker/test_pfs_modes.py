"""`/pfs` as a datum sees it, in the three modes (#14): the literal path in a private mount
namespace, through PRoot (forced), and the forced rewrite fallback; outputs that are symlinks
follow Pachyderm's handleSymlinks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capstone_cli.engine import images, procid
from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.pfsmount import MODE_ENV, pfs_mode
from tests.conftest import use_pfs_mode
from tests.unit.engine.run.engine_helpers import make_spec, pfs, put, tree


@pytest.fixture(params=["literal", "proot", "rewrite"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    return use_pfs_mode(monkeypatch, request.param)


@pytest.fixture(params=["literal", "proot"])
def at_pfs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The modes in which a datum's processes find their files at `/pfs` itself."""
    return use_pfs_mode(monkeypatch, request.param)


def _run(store: Store, name: str, stdin: list[str], **input_extra: object) -> J.Job:
    spec = make_spec(name, ["bash"], pfs("in", "/*", **input_extra), transform={"stdin": stdin})
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store)
    return job


@pytest.mark.parametrize(
    "extra", [{}, {"empty_files": True}, {"lazy": True}], ids=["plain", "empty", "lazy"]
)
def test_a_symlink_into_an_input_stores_the_real_contents(
    store: Store, mode: str, extra: dict[str, bool]
) -> None:
    put(store, "in", {"/a.txt": b"alpha", "/b.txt": b"beta!"})
    stdin = [
        'for f in $(find -L /pfs -type f -path "*/in/*"); do',
        '  wc -c < "$f" > /pfs/out/$(basename $f).seen; ln -s "$f" /pfs/out/$(basename $f)',
        "done",
    ]
    job = _run(store, "links", stdin, **extra)
    assert job.state == "JOB_SUCCESS", job.reason
    out = tree(store, "links")
    assert out["/a.txt"] == b"alpha" and out["/b.txt"] == b"beta!"
    seen = b"0\n" if extra.get("empty_files") else None  # the process saw empty files
    if seen is not None:
        assert out["/a.txt.seen"] == seen and out["/b.txt.seen"] == seen
    else:
        assert out["/a.txt.seen"] == b"5\n"


def test_a_symlink_into_pfs_but_not_an_input_fails_the_datum(store: Store, mode: str) -> None:
    put(store, "in", {"/a": b"x"})
    job = _run(store, "bad", ["echo hi > /pfs/out/real", "ln -s /pfs/out/real /pfs/out/link"])
    assert job.state == "JOB_FAILURE"
    (datum,) = J.datum_infos(store, job.seq)
    assert "could not find input 'out'" in datum.reason


def test_a_symlink_elsewhere_is_stored_with_its_contents(
    store: Store, mode: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"from elsewhere")
    put(store, "in", {"/a": b"x"})
    job = _run(store, "else", [f"ln -s {outside} /pfs/out/copy"])
    assert job.state == "JOB_SUCCESS", job.reason
    assert tree(store, "else") == {"/copy": b"from elsewhere"}


def test_literal_pfs_globs_relative_paths_and_leaves_no_mount(store: Store, mode: str) -> None:
    put(store, "in", {"/d/x.csv": b"1", "/d/y.csv": b"2", "/d/z.txt": b"3"})
    stdin = [
        "cd /pfs/in/d && ls *.csv > /pfs/out/globbed",
        'echo "$in" > /pfs/out/var',
        "cat ../d/x.csv > /pfs/out/relative",
    ]
    spec = make_spec("glob", ["bash"], pfs("in", "/d"), transform={"stdin": stdin})
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS", job.reason
    out = tree(store, "glob")
    assert out["/globbed"] == b"x.csv\ny.csv\n" and out["/relative"] == b"1"
    if mode != "rewrite":
        assert out["/var"] == b"/pfs/in/d\n"
    # nothing was mounted in the machine's namespace (pid 1's), during or after the run
    assert " /pfs " not in Path("/proc/1/mountinfo").read_text()


SDK_STAGE = """
import os, sys
from pachyderm_sdk import batch_all_datums

@batch_all_datums
def main():
    name = os.path.basename(os.environ["in"])
    if sys.argv[1] == "link":  # the shuffle idiom, in a batching worker
        os.symlink(os.environ["in"], f"/pfs/out/{name}")
        return
    with open(os.environ["in"]) as src, open(f"/pfs/out/{name}", "w") as dst:
        dst.write(src.read().upper())

main()
"""


@pytest.mark.parametrize(
    ("how", "extra", "expected"),
    [
        ("upper", {}, {"/a": b"ABC", "/b": b"DEF"}),
        ("link", {"empty_files": True}, {"/a": b"abc", "/b": b"def"}),
    ],
)
def test_pachyderm_sdk_batch_all_datums_reads_pfs_env(
    store: Store,
    tmp_path: Path,
    at_pfs: str,
    how: str,
    extra: dict[str, bool],
    expected: dict[str, bytes],
) -> None:
    """The SDK's decorator, unmodified: it loads each datum's env from `/pfs/.env`; a symlink
    to an `empty_files` input is stored with the input's real contents here too."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "stage.py").write_text(SDK_STAGE)
    images.map_image(store.home, "sdk-stage:1", code)
    put(store, "in", {"/a": b"abc", "/b": b"def"})
    spec = make_spec(
        "sdk",
        ["python", "stage.py", how],
        pfs("in", "/*", **extra),
        transform={"image": "sdk-stage:1", "datumBatching": True},
    )
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS", job.reason
    assert tree(store, "sdk") == expected


def test_a_program_that_builds_its_own_pfs_path_finds_it(store: Store, mode: str) -> None:
    """`cat` and `find` (C programs) given `/pfs` paths that no spec word shows: found at `/pfs`
    itself (mount namespace, PRoot); not found when rewriting, the limit `doctor` states."""
    put(store, "in", {"/a": b"alpha"})
    stdin = [
        "set -e",
        'p=/pf; wc -c < "${p}s/in/a" > /pfs/out/size',
        'find -L "${p}s" -path "*/in/*" -type f > /pfs/out/found',
    ]
    job = _run(store, "built", stdin)
    if mode == "rewrite":
        assert job.state == "JOB_FAILURE"
        return
    assert job.state == "JOB_SUCCESS", job.reason
    assert tree(store, "built") == {"/size": b"5\n", "/found": b"/pfs/in/a\n"}


SDK_SEEN = """
import glob, os
from pachyderm_sdk import batch_all_datums

@batch_all_datums
def main():
    seen = sorted(glob.glob("/pfs/in/*"))
    with open(f"/pfs/out/{os.path.basename(seen[0])}", "w") as out:
        out.write(f"{os.getpid()} {os.getcwd()} {' '.join(seen)}")

main()
"""


def test_one_batching_worker_sees_each_datum_at_pfs(
    store: Store, tmp_path: Path, at_pfs: str
) -> None:
    """One long-running worker process (started once, under PRoot in proot mode) is shown each
    datum's inputs at `/pfs`, and only them, from its mapped image directory."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "seen.py").write_text(SDK_SEEN)
    images.map_image(store.home, "seen:1", code)
    put(store, "in", {"/a": b"1", "/b": b"2"})
    spec = make_spec(
        "seen",
        ["python", "seen.py"],
        pfs("in", "/*"),
        transform={"image": "seen:1", "datumBatching": True},
    )
    P.create_pipeline(store, spec)
    (job,) = R.run_pending(store, parallelism=1)
    assert job.state == "JOB_SUCCESS", job.reason
    out = {path: data.decode().split() for path, data in tree(store, "seen").items()}
    assert out["/a"][1:] == [str(code), "/pfs/in/a"] and out["/b"][1:] == [str(code), "/pfs/in/b"]
    assert out["/a"][0] == out["/b"][0]  # the same process served both datums


def test_without_a_working_proot_the_fallback_says_why_and_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real probes on a PATH without proot, then with a `proot` that fails as PRoot does where
    ptrace is forbidden: `rewrite`, with the reason and the hint."""
    monkeypatch.setenv(MODE_ENV, "proot")
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    found = pfs_mode()
    assert found.mode == "rewrite"
    assert found.reason == (
        "CAPSTONE_PFS_MODE=proot; proot is not installed (not on PATH): "
        "install proot (Debian/Ubuntu: apt-get install proot) for C programs"
    )
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "proot").write_text(
        "#!/bin/sh\necho 'proot error: ptrace(TRACEME): Operation not permitted' >&2\nexit 1\n"
    )
    (broken / "proot").chmod(0o755)
    monkeypatch.setenv("PATH", str(broken))
    found = pfs_mode()
    assert found.mode == "rewrite"
    said = "proot error: ptrace(TRACEME): Operation not permitted"
    assert found.reason.startswith(f"CAPSTONE_PFS_MODE=proot; {broken / 'proot'} does not work")
    assert said in found.reason and "apt-get install proot" in found.reason


def test_without_the_mount_capability_the_mode_is_proot(tmp_path: Path) -> None:
    """The order literal -> proot -> rewrite, on this machine with CAP_SYS_ADMIN dropped
    (`setpriv`, as an unprivileged user or a container without it would be)."""
    if shutil.which("setpriv") is None or shutil.which("proot") is None:
        pytest.skip("needs util-linux's setpriv and proot")
    if pfs_mode().mode != "literal":
        pytest.skip(f"no mount namespace here anyway: {pfs_mode().reason}")
    script = "from capstone_cli.engine.worker.pfsmount import pfs_mode; print(pfs_mode())"
    env = {k: v for k, v in os.environ.items() if k != MODE_ENV}
    drop = ["setpriv", "--bounding-set=-sys_admin", "--inh-caps=-sys_admin"]
    done = subprocess.run(
        [*drop, sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert done.stdout.startswith("PfsMode(mode='proot', reason='[Errno 1] unshare"), done.stdout


def test_a_datum_ends_with_its_command_and_its_strays_are_killed(store: Store, mode: str) -> None:
    """A background child left running is killed when the datum's command exits, and the
    command's exit status is the datum's, in every mode (PRoot itself would wait for the
    child: `pfsproot.TraceeWatch`)."""
    put(store, "in", {"/a": b"x"})
    script = "sleep 300 & echo $! > /pfs/out/stray; exit 3"
    spec = make_spec(
        "strays",
        ["sh", "-c", script],
        pfs("in", "/*"),
        transform={"acceptReturnCode": [3]},
        datumTimeout="120s",  # not reached: the datum ends with `sh`
    )
    P.create_pipeline(store, spec)
    before = _seccomp_state()
    (job,) = R.run_pending(store)
    assert job.state == "JOB_SUCCESS", job.reason  # exit 3 seen, and accepted
    assert _seccomp_state() == before  # PRoot's statx filter stayed off the engine's thread
    stray = int(tree(store, "strays")["/stray"])
    # SIGKILL was sent before the job ended; the kernel may take a moment to carry it out
    deadline = time.monotonic() + 10
    while (found := procid.identify(stray)) is not None and found[0] != "Z":
        assert time.monotonic() < deadline, f"the stray {stray} still runs: {found}"
        time.sleep(0.01)


def _seccomp_state() -> list[str]:
    """This thread's seccomp mode and no_new_privs bit (run_pending runs a slot on it)."""
    lines = Path("/proc/thread-self/status").read_text().splitlines()
    return [ln for ln in lines if ln.startswith(("Seccomp:", "Seccomp_filters:", "NoNewPrivs:"))]
