"""The pipeline/jobs contract: create, skip on re-put, jobs --json, datum list, logs, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clirunner import RunCli

SPEC = """
pipeline: {name: copy}
transform:
  cmd: [sh, -c, "cp -r /pfs/in/. /pfs/out/ && echo copied"]
input:
  pfs: {repo: in, glob: "/*"}
"""

JOB_KEYS = {
    "pipeline",
    "id",
    "state",
    "data_total",
    "data_processed",
    "data_skipped",
    "data_failed",
    "data_recovered",
    "reason",
    "datum_progress",
    "created",
    "started",
    "finished",
}


def setup_copy(run_cli: RunCli, tmp_path: Path, n: int = 5) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(n):
        (src / f"f{i}.txt").write_text(f"file {i}")
    run_cli("put", "in@master", str(src))
    spec = tmp_path / "copy.yaml"
    spec.write_text(SPEC)
    run_cli("pipeline", "create", "-f", str(spec))
    return src


def test_create_runs_and_put_skips(run_cli: RunCli, tmp_path: Path) -> None:
    src = setup_copy(run_cli, tmp_path)
    (src / "extra.txt").write_text("new")
    run_cli("put", "in@master:/extra.txt", str(src / "extra.txt"))
    jobs = run_cli("jobs", "--json").json()
    assert set(jobs[0]) == JOB_KEYS
    latest = jobs[0]
    assert latest["state"] == "JOB_SUCCESS"
    assert (latest["data_total"], latest["data_processed"], latest["data_skipped"]) == (6, 1, 5)
    names = [e["path"] for e in run_cli("ls", "copy@master", "--json").json()]
    assert names == ["/extra.txt", "/f0.txt", "/f1.txt", "/f2.txt", "/f3.txt", "/f4.txt"]


def test_datum_list_and_logs(run_cli: RunCli, tmp_path: Path) -> None:
    setup_copy(run_cli, tmp_path, n=3)
    job = run_cli("jobs", "--json").json()[0]
    datums = run_cli("datum", "list", f"copy@{job['id']}", "--json").json()
    assert len(datums) == 3 and {d["state"] for d in datums} == {"SUCCESS"}
    logs = run_cli("logs", "-p", "copy", "-j", job["id"]).stdout
    assert logs.count("copied") == 3
    master = run_cli("logs", "-p", "copy", "--master").stdout
    assert "copied" not in master and master.strip()
    inspected = run_cli("job", "inspect", f"copy@{job['id']}", "--json").json()
    assert inspected["state"] == "JOB_SUCCESS"


def test_pipeline_errors(run_cli: RunCli, tmp_path: Path) -> None:
    setup_copy(run_cli, tmp_path, n=1)
    res = run_cli("pipeline", "create", "-f", str(tmp_path / "copy.yaml"), code=7)
    assert "already exists" in res.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("glob:", "globb:"))
    res = run_cli("pipeline", "update", "-f", str(bad), code=3)
    assert "input.pfs.globb" in res.stderr and "hint:" in res.stderr
    run_cli("job", "inspect", "copy", code=2)
    run_cli("job", "inspect", "copy@ffffffff", code=4)


def test_failed_job_exit_code(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "x").write_text("x")
    run_cli("put", "in@master", str(tmp_path / "x"))
    spec = tmp_path / "fail.yaml"
    spec.write_text(
        SPEC.replace("copy}", "boom}").replace(
            '"cp -r /pfs/in/. /pfs/out/ && echo copied"', '"echo nope >&2; exit 1"'
        )
    )
    res = run_cli("pipeline", "create", "-f", str(spec), code=5)
    assert "JOB_FAILURE" in res.stderr and "capstone logs -p boom" in res.stderr
    status = run_cli("status", "--json").json()
    assert "nope" in status["failed_datums"][0]["log_tail"]


def test_dag_outputs(run_cli: RunCli, tmp_path: Path) -> None:
    setup_copy(run_cli, tmp_path, n=1)
    assert '"in" -> "copy"' in run_cli("dag", "--dot").stdout
    assert "in --> copy" in run_cli("dag", "--mermaid").stdout
    assert "copy" in run_cli("pipeline", "list").stdout


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("jobTimeout: 60s", "job_timeout"),
        ("s3Out: true", "s3_out"),
        ("egress: {URL: 's3://b/x'}", "egress"),
        ("egress: {}", "egress"),
        ("service: {}", "service"),
        ("spout: {service: {}}", "spout"),
    ],
)
def test_unsupported_fields_are_refused(
    run_cli: RunCli, tmp_path: Path, extra: str, field: str
) -> None:
    (tmp_path / "x").write_text("x")
    run_cli("put", "in@master", str(tmp_path / "x"))
    ok = tmp_path / "ok.yaml"
    ok.write_text(SPEC.replace("name: copy", "name: first"))
    spec = tmp_path / "u.yaml"
    spec.write_text(ok.read_text() + "---\n" + SPEC + extra + "\n")
    res = run_cli("pipeline", "create", "-f", str(spec), code=3)
    assert f"pipeline copy: {field}: " in res.stderr
    assert "not supported by the embedded engine" in res.stderr
    assert run_cli("pipeline", "list", "--json").json() == []  # nothing half-written


def test_cron_input_is_refused_as_cron(run_cli: RunCli, tmp_path: Path) -> None:
    """Not `repo not found` for the missing pfs repo crossed with it, nor for the tick repo."""
    spec = tmp_path / "cron.yaml"
    spec.write_text(
        "pipeline: {name: ticker}\ntransform: {cmd: [sh]}\ninput:\n  cross:\n"
        "  - pfs: {repo: absent, glob: /}\n  - cron: {name: tick, spec: '@every 10s'}\n"
    )
    res = run_cli("pipeline", "create", "-f", str(spec), code=3)
    assert "input.cross[1].cron: a cron input is not supported" in res.stderr


COPY_TEMPLATE = """
function(name, src)
{
  pipeline: { name: name },
  transform: { cmd: ["sh", "-c", "cp -r /pfs/" + src + "/. /pfs/out/"] },
  input: { pfs: { repo: src, glob: "/*" } },
}
"""


def test_jsonnet_create_and_update(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    run_cli("put", "in@master", str(tmp_path / "f.txt"))
    template = tmp_path / "copy.jsonnet"
    template.write_text(COPY_TEMPLATE)
    args = ("--jsonnet", str(template), "--arg", "name=viajsonnet", "--arg", "src=in")
    run_cli("pipeline", "create", *args)
    assert [e["path"] for e in run_cli("ls", "viajsonnet@master", "--json").json()] == ["/f.txt"]
    run_cli("pipeline", "update", *args, "--reprocess")
    res = run_cli("pipeline", "create", "--jsonnet", str(template), "--arg", "name=x", code=3)
    assert res.stderr.startswith(f"error: {template}") and "src" in res.stderr
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    both = run_cli("pipeline", "create", "-f", str(spec), "--jsonnet", str(template), code=2)
    assert "exactly one" in both.stderr
    assert (
        "--arg needs --jsonnet"
        in run_cli("pipeline", "create", "-f", str(spec), "--arg", "a=b", code=2).stderr
    )
