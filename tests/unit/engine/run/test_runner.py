"""Running jobs on the embedded engine: datums, skipping, failures, outputs, environment."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from capstone_cli.engine.datums.listing import list_datums
from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from capstone_cli.engine.worker.pfsmount import pfs_mode
from tests.conftest import use_pfs_mode
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put, tree

COPY = ["sh", "-c", "cp -r /pfs/in/. /pfs/out/"]


def run(store: Store) -> list[J.JobRow]:
    return R.run_pending(store)


def test_copy_50_files_then_5_new_are_the_only_ones_processed(store: Store) -> None:
    files = {f"/f{i:02d}": f"data {i}".encode() for i in range(50)}
    put(store, "in", files)
    P.create_pipeline(store, make_spec("copy", COPY, pfs("in", "/*")))
    (job,) = run(store)
    assert counts(job) == ("JOB_SUCCESS", 50, 50, 0, 0, 0)
    assert tree(store, "copy") == files
    more = {f"/g{i}": b"new" for i in range(5)}
    put(store, "in", more)
    (job2,) = run(store)
    assert counts(job2) == ("JOB_SUCCESS", 55, 5, 50, 0, 0)
    assert tree(store, "copy") == files | more
    states = {d.state for d in R.J.datum_infos(store, job2.seq)}
    assert states == {"SUCCESS", "SKIPPED"}
    # a vanished datum's outputs are removed; a changed one is re-run
    put(store, "in", {"/f00": b"changed"}, delete=("/f01",))
    (job3,) = run(store)
    assert counts(job3) == ("JOB_SUCCESS", 54, 1, 53, 0, 0)
    out = tree(store, "copy")
    assert out["/f00"] == b"changed" and "/f01" not in out and len(out) == 54


def _flaky_cmd(marks: Path) -> list[str]:
    return [
        "sh",
        "-c",
        f'n=$(basename "$in"); echo x >> {marks}/"$n"; '
        'if grep -q bad "$in"; then echo "bad input $n" >&2; exit 1; fi; cp "$in" /pfs/out/',
    ]


def test_failing_datum_is_retried_fails_job_and_alone_reruns_when_fixed(
    store: Store, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    put(store, "in", {"/a": b"ok", "/b": b"bad", "/c": b"ok"})
    P.create_pipeline(store, make_spec("flaky", _flaky_cmd(marks), pfs("in", "/*"), datumTries=2))
    (job,) = run(store)
    assert counts(job) == ("JOB_FAILURE", 3, 2, 0, 1, 0)
    failed = [d for d in J.datum_infos(store, job.seq) if d.state == "FAILED"]
    assert job.reason == f"datum {failed[0].id} failed" and failed[0].attempts == 2
    assert (marks / "b").read_text().count("x") == 2
    assert store.head("flaky", "master").error == job.reason  # type: ignore[union-attr]
    user = [ln.message for ln in R.logs.query_logs(store, "flaky", datum=failed[0].id)]
    assert "bad input b" in user
    put(store, "in", {"/b": b"fine now"})
    (job2,) = run(store)
    # the base is the last SUCCESSFUL job: none, so a and c run again too (Pachyderm semantics)
    assert counts(job2) == ("JOB_SUCCESS", 3, 3, 0, 0, 0)
    put(store, "in", {"/d": b"ok"})
    (job3,) = run(store)
    assert counts(job3) == ("JOB_SUCCESS", 4, 1, 3, 0, 0)
    assert {p.name: p.read_text().count("x") for p in marks.iterdir()} == {
        "a": 2,
        "b": 3,
        "c": 2,
        "d": 1,
    }


def test_only_the_failed_datum_reruns_after_a_success(store: Store, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    put(store, "in", {"/a": b"ok", "/c": b"ok"})
    P.create_pipeline(store, make_spec("flaky", _flaky_cmd(marks), pfs("in", "/*"), datumTries=1))
    run(store)
    put(store, "in", {"/b": b"bad"})
    (job,) = run(store)
    assert counts(job) == ("JOB_FAILURE", 3, 0, 2, 1, 0)
    put(store, "in", {"/b": b"good"})
    (job2,) = run(store)
    assert counts(job2) == ("JOB_SUCCESS", 3, 1, 2, 0, 0)
    assert {p.name: p.read_text().count("x") for p in marks.iterdir()} == {"a": 1, "b": 2, "c": 1}


@pytest.mark.parametrize(
    ("transform", "expected", "outputs"),
    [
        ({"errCmd": ["true"]}, ("JOB_SUCCESS", 1, 0, 0, 0, 1), {}),
        ({"errCmd": ["false"]}, ("JOB_FAILURE", 1, 0, 0, 1, 0), {}),
        ({"acceptReturnCode": [3]}, ("JOB_SUCCESS", 1, 1, 0, 0, 0), {"/o": b"hi\n"}),
        ({}, ("JOB_FAILURE", 1, 0, 0, 1, 0), {}),
    ],
)
def test_err_cmd_and_accept_return_code(
    store: Store,
    transform: dict[str, object],
    expected: tuple[object, ...],
    outputs: dict[str, bytes],
) -> None:
    put(store, "in", {"/a": b"x"})
    cmd = ["sh", "-c", "echo hi > /pfs/out/o; exit 3"]
    spec = make_spec("p", cmd, pfs("in", "/*"), datumTries=1, transform=transform)
    P.create_pipeline(store, spec)
    (job,) = run(store)
    assert counts(job) == expected
    head = store.head("p", "master")
    assert head is not None
    assert {p: store.blobs.read(d) for p, d, _s, _x in store.iter_files(head)} == outputs


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in state


@pytest.mark.parametrize("mode", ["literal", "proot"])
def test_datum_timeout_kills_the_whole_process_group(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    use_pfs_mode(monkeypatch, mode)  # proot: PRoot leads the group, its tracees in it
    pidfile = tmp_path / "pid"
    put(store, "in", {"/a": b"x"})
    cmd = ["sh", "-c", f"sleep 30 & echo $! > {pidfile}; wait"]
    spec = make_spec("slow", cmd, pfs("in", "/*"), datumTries=1, datumTimeout="1s")
    P.create_pipeline(store, spec)
    loaders = set(Path("/tmp").glob("prooted-*"))  # a killed PRoot's loader file is removed
    t0 = time.monotonic()
    (job,) = run(store)
    assert time.monotonic() - t0 < 10
    assert job.state == "JOB_FAILURE"
    (datum,) = J.datum_infos(store, job.seq)
    assert "timed out" in datum.reason
    assert _dead(int(pidfile.read_text()))
    assert set(Path("/tmp").glob("prooted-*")) <= loaders


def test_duplicate_output_path_fails_the_job_naming_both_datums(store: Store) -> None:
    put(store, "in", {"/a": b"1", "/b": b"2"})
    cmd = ["sh", "-c", "cp $in /pfs/out/same"]
    P.create_pipeline(store, make_spec("dup", cmd, pfs("in", "/*")))
    (job,) = run(store)
    ids = sorted(d.id for d in J.datum_infos(store, job.seq))
    assert job.state == "JOB_FAILURE"
    assert "duplicate path output by different datums: /same" in job.reason
    assert ids[0] in job.reason and ids[1] in job.reason


def test_duplicate_with_an_inherited_output_fails_too(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    P.create_pipeline(
        store, make_spec("dup", ["sh", "-c", "cp $in /pfs/out/same"], pfs("in", "/*"))
    )
    (first,) = run(store)
    assert first.state == "JOB_SUCCESS"
    put(store, "in", {"/b": b"2"})
    (job,) = run(store)
    assert job.state == "JOB_FAILURE" and "/same" in job.reason


def test_file_directory_collision_fails_the_job(store: Store) -> None:
    put(store, "in", {"/a": b"1", "/b": b"2"})
    cmd = [
        "sh",
        "-c",
        'if [ "$(basename $in)" = a ]; then echo > /pfs/out/x; '
        "else mkdir /pfs/out/x && echo > /pfs/out/x/y; fi",
    ]
    P.create_pipeline(store, make_spec("col", cmd, pfs("in", "/*")))
    (job,) = run(store)
    assert job.state == "JOB_FAILURE" and "file / directory path collision" in job.reason


def test_every_job_reruns_everything(store: Store, tmp_path: Path) -> None:
    marks = tmp_path / "m"
    marks.mkdir()
    put(store, "in", {"/a": b"ok", "/c": b"ok"})
    spec = make_spec("ej", _flaky_cmd(marks), pfs("in", "/*"), reprocessSpec="every_job")
    P.create_pipeline(store, spec)
    run(store)
    put(store, "in", {"/d": b"ok"})
    (job,) = run(store)
    assert counts(job) == ("JOB_SUCCESS", 3, 3, 0, 0, 0)
    assert tree(store, "ej") == {"/a": b"ok", "/c": b"ok", "/d": b"ok"}


def _names_cmd() -> list[str]:
    # one output file per datum named after its ID, listing the files it saw
    return [
        "sh",
        "-c",
        'cd /pfs && find . -path ./out -prune -o -path "./.*" -prune -o -type f -print | sort '
        '> "/pfs/out/$PACH_DATUM_ID"',
    ]


@pytest.mark.parametrize(
    "input_doc",
    [
        {"join": [pfs("left", "/(*)", joinOn="$1"), pfs("right", "/(*)", joinOn="$1")]},
        {"cross": [pfs("left", "/*"), pfs("right", "/*")]},
    ],
    ids=["join", "cross"],
)
def test_join_and_cross_process_exactly_the_listed_datums(
    store: Store, input_doc: dict[str, object]
) -> None:
    put(store, "left", {"/k1": b"l1", "/k2": b"l2", "/k3": b"l3"})
    put(store, "right", {"/k1": b"r1", "/k2": b"r2", "/k9": b"r9"})
    spec = make_spec("combo", _names_cmd(), input_doc)
    P.create_pipeline(store, spec)
    (job,) = run(store)
    assert spec.input is not None
    expected = list_datums(spec.input, store, pipeline="combo")
    out = tree(store, "combo")
    assert sorted(out) == sorted("/" + d.id for d in expected)
    assert job.data_processed == len(expected) == (2 if "join" in input_doc else 9)
    for d in expected:
        seen = out["/" + d.id].decode().split()
        assert seen == sorted(f"./{i.name}{i.file.path}" for i in d.inputs)


def test_environment_and_pfs_rewriting(store: Store) -> None:
    put(store, "images", {"/dir/liberty.png": b"png"})
    cmd = ["sh"]
    stdin = [
        'echo "$images" > /pfs/out/env',
        'echo "$images_COMMIT $PACH_JOB_ID $PACH_OUTPUT_COMMIT_ID" >> /pfs/out/env',
        'echo "$PPS_PIPELINE_NAME $PPS_PROJECT_NAME $GREETING $PACH_DATUM_ID" >> /pfs/out/env',
        "cat /pfs/images/dir/liberty.png > /pfs/out/copy",
    ]
    spec = make_spec(
        "envp", cmd, pfs("images", "/*/*"), transform={"stdin": stdin, "env": {"GREETING": "hello"}}
    )
    job_id = P.create_pipeline(store, spec)
    (job,) = run(store)
    assert job.state == "JOB_SUCCESS", job.reason
    out = tree(store, "envp")
    path, commits, names = out["/env"].decode().splitlines()
    if pfs_mode().at_pfs:  # as in a Pachyderm worker
        assert path == "/pfs/images/dir/liberty.png"
    else:  # rewritten: the scratch root's real path
        assert path.endswith("/images/dir/liberty.png") and not path.startswith("/pfs")
    in_commit = store.head("images", "master")
    assert in_commit is not None
    assert commits.split() == [in_commit.id, job_id, job_id]
    (datum,) = J.datum_infos(store, job.seq)
    assert names.split() == ["envp", "default", "hello", datum.id]
    assert out["/copy"] == b"png"


def test_parallel_datums_all_complete(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    put(store, "in", {f"/f{i}": str(i).encode() for i in range(12)})
    P.create_pipeline(
        store, make_spec("par", COPY, pfs("in", "/*"), parallelismSpec={"constant": 4})
    )
    jobs = R.run_pending(store, parallelism=3)
    assert counts(jobs[0]) == ("JOB_SUCCESS", 12, 12, 0, 0, 0)
    assert len(tree(store, "par")) == 12


def test_empty_input_succeeds_with_zero_datums(store: Store) -> None:
    store.create_repo("in")
    P.create_pipeline(store, make_spec("e", COPY, pfs("in", "/*")))
    (job,) = run(store)
    assert counts(job) == ("JOB_SUCCESS", 0, 0, 0, 0, 0)


def test_scratch_dirs_are_removed(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    P.create_pipeline(store, make_spec("s", COPY, pfs("in", "/*")))
    orphan = store.home / "scratch" / "12345-dead"
    orphan.mkdir(parents=True)
    run(store)
    assert list((store.home / "scratch").iterdir()) == []
    assert os.path.isdir(store.home / "scratch")
