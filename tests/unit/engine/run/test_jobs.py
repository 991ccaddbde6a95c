"""Commit sets and jobs across a DAG: shared IDs, upstream first, unrunnable, logs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from capstone_cli.engine.run import jobs as J
from capstone_cli.engine.run import logs as L
from capstone_cli.engine.run import pipelines as P
from capstone_cli.engine.run import runner as R
from capstone_cli.engine.store.store import Store
from tests.unit.engine.run.engine_helpers import counts, make_spec, pfs, put, tree

COPY_UP = ["sh", "-c", "cp -r /pfs/in/. /pfs/out/"]
COPY_DOWN = ["sh", "-c", "cp -r /pfs/up/. /pfs/out/"]


def _dag(store: Store, up_cmd: list[str] = COPY_UP) -> None:
    P.create_pipeline(store, make_spec("up", up_cmd, pfs("in", "/*"), datumTries=1))
    P.create_pipeline(store, make_spec("down", COPY_DOWN, pfs("up", "/*")))
    R.run_pending(store)


def test_input_commit_starts_one_commit_set_across_the_dag(store: Store) -> None:
    store.create_repo("in")
    _dag(store)
    commit = put(store, "in", {"/a": b"1", "/b": b"2"})
    jobs = J.list_jobs(store, commit_set=commit.id)
    assert sorted(j.pipeline for j in jobs) == ["down", "up"]
    assert {(c.repo, c.origin) for c in store.commits_in_set(commit.id)} == {
        ("in", "USER"),
        ("up", "AUTO"),
        ("down", "AUTO"),
    }
    ran = R.run_pending(store)
    assert [j.pipeline for j in ran] == ["up", "down"]
    assert all(j.state == "JOB_SUCCESS" for j in ran)
    assert tree(store, "down") == {"/a": b"1", "/b": b"2"}
    assert J.get_job(store, "down", commit.id[:8]).id == commit.id


def test_failed_upstream_makes_downstream_unrunnable(store: Store) -> None:
    store.create_repo("in")
    _dag(store, ["sh", "-c", "exit 1"])
    put(store, "in", {"/a": b"1"})
    up, down = R.run_pending(store)
    assert up.state == "JOB_FAILURE"
    assert (down.state, down.reason) == (
        "JOB_UNRUNNABLE",
        "unrunnable because the following upstream pipelines failed: up",
    )
    out = store.commits_in_set(down.id)
    assert all(c.finished and c.error for c in out if c.repo != "in")


def test_jobs_newest_first_and_counts(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    _dag(store)
    put(store, "in", {"/b": b"2"})
    R.run_pending(store)
    ups = J.list_jobs(store, "up")
    assert [j.seq for j in ups] == sorted((j.seq for j in ups), reverse=True)
    assert counts(ups[0]) == ("JOB_SUCCESS", 2, 1, 1, 0, 0)
    info = ups[0].info()
    assert info.state == "JOB_SUCCESS" and info.upload_bytes == 1 and info.download_bytes == 1


def test_logs_user_and_master_lines(store: Store) -> None:
    put(store, "in", {"/a": b"1"})
    P.create_pipeline(
        store, make_spec("talk", ["sh", "-c", "echo out-line; echo err-line >&2"], pfs("in", "/*"))
    )
    (job,) = R.run_pending(store)
    lines = list(L.query_logs(store, "talk", job.id))
    user = [(ln.message, ln.stream) for ln in lines if not ln.master]
    assert user == [("out-line", "stdout"), ("err-line", "stderr")]
    (datum,) = J.datum_infos(store, job.seq)
    assert all(ln.datum == datum.id for ln in lines if not ln.master)
    master = [ln.message for ln in L.query_logs(store, "talk", master_only=True)]
    assert master[0].startswith("started job: 1 datums") and master[-1].endswith("JOB_SUCCESS")
    followed = list(L.query_logs(store, "talk", follow=True, poll_seconds=0.01))
    assert len(followed) == len(lines)


def test_a_job_deleted_while_its_datum_runs_leaves_nothing_to_the_next_job(
    store: Store, tmp_path: Path
) -> None:
    """pachd's DeleteJob on the newest job mid-datum: its datum is not recorded, and its seq
    is never handed to a later job (which would then list the deleted job's datum)."""
    started, release = tmp_path / "started", tmp_path / "release"
    wait = (
        f"touch {started}; while [ ! -e {release} ]; do sleep 0.05; done; cp -r /pfs/in/. /pfs/out/"
    )
    store.create_repo("in")
    P.create_pipeline(store, make_spec("slow", ["sh", "-c", wait], pfs("in", "/*")))
    first = put(store, "in", {"/a": b"1"})

    def run_in_thread() -> None:
        with Store(store.home) as own:  # a connection per thread, as the server's runner
            R.run_pending(own)

    runner = threading.Thread(target=run_in_thread)
    runner.start()
    while not started.exists():
        time.sleep(0.05)
    doomed = J.get_job(store, "slow", first.id)
    with store.transaction():
        J.delete_job(store, doomed)
    release.touch()
    runner.join(timeout=60)
    assert not runner.is_alive()
    assert store.db.execute(
        "SELECT count(*) FROM job_datums WHERE job_seq=?", (doomed.seq,)
    ).fetchone() == (0,)

    second = put(store, "in", {"/b": b"2"})
    job = J.get_job(store, "slow", second.id)
    assert job.seq > doomed.seq
    R.run_pending(store)
    assert sorted(d.files for d in J.datum_infos(store, job.seq)) == [["in:/a"], ["in:/b"]]


def test_jobs_and_their_inputs_survive_the_seq_migration(store: Store) -> None:
    store.create_repo("in")
    _dag(store)
    put(store, "in", {"/a": b"1"})
    R.run_pending(store)
    before = [store.db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES]
    with store.transaction():  # as a store from before m007: the migration runs again
        store.db.execute("DELETE FROM _migrations WHERE name='m007_job_seq_never_reused'")
    with Store(store.home) as again:
        after = [again.db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES]
        assert after == before and before[0]
        assert again.db.execute("PRAGMA foreign_key_check").fetchall() == []


TABLES = ("jobs", "job_inputs")
