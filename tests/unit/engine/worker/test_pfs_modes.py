"""`/pfs` as a datum sees it, in both modes (#14): the literal path in a private mount namespace,
and the forced rewrite fallback; outputs that are symlinks follow Pachyderm's handleSymlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from capstone_cli.engine import images
from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.pfsmount import MODE_ENV, pfs_mode
from tests.unit.engine.run.engine_helpers import make_spec, pfs, put, tree


@pytest.fixture(params=["literal", "rewrite"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(MODE_ENV, request.param)
    if pfs_mode().mode != request.param:
        pytest.skip(f"no mount namespace here: {pfs_mode().reason}")
    return str(request.param)


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
    if mode == "literal":
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
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    extra: dict[str, bool],
    expected: dict[str, bytes],
) -> None:
    """The SDK's decorator, unmodified: it loads each datum's env from `/pfs/.env`; a symlink
    to an `empty_files` input is stored with the input's real contents here too."""
    monkeypatch.delenv(MODE_ENV, raising=False)
    if not pfs_mode().literal:
        pytest.skip(f"no mount namespace here: {pfs_mode().reason}")
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
