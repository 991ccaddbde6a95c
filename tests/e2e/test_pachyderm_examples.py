"""Pachyderm's own examples (`joins`, `group`, `shuffle`, 2.12.x) run from their published spec
files with their scripts unchanged (#14): only `capstone image map` says where an image's code
is, the data come from the examples' own Makefile targets, and the outputs are those each
README documents (file names and sizes, contents where shown).

Every run happens three times: with `/pfs` at its literal path (a private mount namespace, where
the machine allows it), through PRoot (`CAPSTONE_PFS_MODE=proot`, what a machine without the
mount capability gets where proot is installed), and with the last fallback
(`CAPSTONE_PFS_MODE=rewrite`, no proot either): there the scripts' own `/pfs/...` paths reach
the scratch root through the Python shim (`engine.worker.pfsshim`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from capstone_cli.workflows.system.doctor import doctor
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT, use_pfs_mode

EXAMPLES = REPO_ROOT / "tests" / "fixtures" / "pachyderm_examples"
JOINS, GROUP, SHUFFLE = EXAMPLES / "joins", EXAMPLES / "group", EXAMPLES / "shuffle"


@pytest.fixture(params=["literal", "proot", "rewrite"])
def pfs_mode(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """The three modes, with the same assertions."""
    use_pfs_mode(monkeypatch, request.param)
    assert doctor(tmp_path).pfs.mode == request.param  # what `capstone doctor` says too
    return str(request.param)


def _make(example: Path, target: str, tmp_path: Path) -> Path:
    """The example's mock data, made by its own Makefile target in a scratch copy."""
    work = tmp_path / f"{example.name}-{target}"
    work.mkdir()
    shutil.copy(example / "Makefile", work / "Makefile")
    subprocess.run(["make", "-s", target], cwd=work, check=True, capture_output=True)
    return work


def _tree(run_cli: RunCli, repo: str, tmp_path: Path) -> dict[str, bytes]:
    dest = tmp_path / f"get-{repo}"
    run_cli("get", f"{repo}@master:/", "-o", str(dest))
    return {
        "/" + p.relative_to(dest).as_posix(): p.read_bytes()
        for p in sorted(dest.rglob("*"))
        if p.is_file()
    }


def _sizes(files: dict[str, bytes]) -> dict[str, int]:
    return {path: len(data) for path, data in files.items()}


def _create(run_cli: RunCli, *specs: Path) -> None:
    for spec in specs:
        run_cli("pipeline", "create", "-f", str(spec))
    run_cli("run")


def _put_dirs(run_cli: RunCli, data: Path, *repos: str) -> None:
    for repo in repos:
        run_cli("repo", "create", repo)
        run_cli("put", f"{repo}@master", str(data / repo))


# --- shuffle ---------------------------------------------------------------------------------


def test_shuffle_stores_what_symlinks_to_empty_files_point_at(
    run_cli: RunCli, tmp_path: Path, pfs_mode: str
) -> None:
    """README "Output files": `ln -s` of `empty_files` inputs stores their real contents."""
    for repo, files in (
        ("fruits", ("mango.jpeg", "apple.jpeg")),
        ("pricing", ("mango.json", "apple.json")),
    ):
        run_cli("repo", "create", repo)
        for name in files:
            run_cli("put", f"{repo}@master", str(SHUFFLE / name))
    _create(run_cli, SHUFFLE / "shuffle.pipeline.json")
    out = _tree(run_cli, "shuffle", tmp_path)
    assert _sizes(out) == {
        "/apple/cost.json": 23,
        "/apple/img.jpeg": 5097,  # 4.978KiB
        "/mango/cost.json": 22,
        "/mango/img.jpeg": 7198,  # 7.029KiB
    }
    assert out["/apple/img.jpeg"] == (SHUFFLE / "apple.jpeg").read_bytes()
    assert out["/mango/cost.json"] == (SHUFFLE / "mango.json").read_bytes()


# --- joins -----------------------------------------------------------------------------------

JOIN_IMAGE = "pachyderm/example-joins-inner-outer:2.1.0"


def _records(text: str) -> list[tuple[str, str]]:
    """(store line, order id or NONE) per record the joins scripts write."""
    found = []
    for chunk in re.split(r"\n(?=Return at|Purchase at|This return)", text):
        chunk = chunk.strip()
        if not chunk:
            continue
        head = chunk.splitlines()[0].strip()
        order = re.search(r"ORDER_HEADER\|(\w+)\|", chunk)
        found.append((head, order.group(1) if order else "NONE"))
    return sorted(found)


def test_inner_join_as_the_readme_lists(run_cli: RunCli, tmp_path: Path, pfs_mode: str) -> None:
    data = _make(JOINS, "setup", tmp_path)
    _put_dirs(run_cli, data, "stores", "purchases")
    run_cli("image", "map", JOIN_IMAGE, str(JOINS / "src"))
    pipelines = JOINS / "pipelines" / "inner"
    _create(
        run_cli, pipelines / "inner_join.pipeline.json", pipelines / "reduce_inner.pipeline.json"
    )
    assert _sizes(_tree(run_cli, "inner_join", tmp_path)) == {
        "/02108/ORDERW078929_STOREID2.txt": 104,
        "/02108/ORDERW080520_STOREID1.txt": 105,
        "/02108/ORDERW080521_STOREID1.txt": 105,
        "/90210/ORDERW080231_STOREID5.txt": 102,
        "/90210/ORDERW080528_STOREID5.txt": 102,
        "/90210/ORDERW598471_STOREID3.txt": 104,
    }
    reduced = _tree(run_cli, "reduce_inner", tmp_path)
    assert sorted(reduced) == ["/02108.txt", "/90210.txt"]
    assert _records(reduced["/02108.txt"].decode()) == [
        ("Purchase at store: 1 - washington st.", "W080520"),
        ("Purchase at store: 1 - washington st.", "W080521"),
        ("Purchase at store: 2 - hollywood bvd.", "W078929"),
    ]
    assert _records(reduced["/90210.txt"].decode()) == [
        ("Purchase at store: 3 - beverly hills", "W598471"),
        ("Purchase at store: 5 - tremont st.", "W080231"),
        ("Purchase at store: 5 - tremont st.", "W080528"),
    ]


UNKNOWN = [("This return store does not exist", "W261452")]
RETURNS = {
    "/02108.txt": [("Return at store: 1 - washington st.", "W080520")],
    "/90210.txt": [
        ("Return at store: 5 - tremont st.", "W080231"),
        ("Return at store: 5 - tremont st.", "W080528"),
    ],
}
STORES_ONLY = {
    "/02108.txt": [("Return at store: 2 - hollywood bvd.", "NONE")],
    "/90210.txt": [("Return at store: 3 - beverly hills", "NONE")],
    "/94107.txt": [("Return at store: 4 - mariposa st.", "NONE")],
}


def _merge(*parts: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    merged: dict[str, list[tuple[str, str]]] = {}
    for part in parts:
        for path, records in part.items():
            merged[path] = sorted(merged.get(path, []) + records)
    return merged


@pytest.mark.parametrize(
    ("stores_outer", "returns_outer", "expected"),
    [
        (False, True, _merge(RETURNS, {"/UNKNOWN.txt": UNKNOWN})),  # case 1
        (True, False, _merge(RETURNS, STORES_ONLY)),  # case 2
        (True, True, _merge(RETURNS, STORES_ONLY, {"/UNKNOWN.txt": UNKNOWN})),  # case 3
    ],
    ids=["case1-returns", "case2-stores", "case3-both"],
)
def test_outer_join_cases_as_the_readme_lists(
    run_cli: RunCli,
    tmp_path: Path,
    pfs_mode: str,
    stores_outer: bool,
    returns_outer: bool,
    expected: dict[str, list[tuple[str, str]]],
) -> None:
    """The README's three cases: `outer_join` set on returns, on stores, on both (the published
    spec is case 3; cases 1 and 2 edit the flags as the README says)."""
    data = _make(JOINS, "setup", tmp_path)
    _put_dirs(run_cli, data, "stores", "returns")
    run_cli("image", "map", JOIN_IMAGE.split(":")[0], str(JOINS / "src"))  # any tag
    pipelines = JOINS / "pipelines" / "outer"
    spec = json.loads((pipelines / "outer_join.pipeline.json").read_text())
    stores, returns = (j["pfs"] for j in spec["input"]["join"])
    stores["outerJoin"], returns["outerJoin"] = stores_outer, returns_outer
    edited = tmp_path / "outer_join.pipeline.json"
    edited.write_text(json.dumps(spec))
    _create(run_cli, edited, pipelines / "reduce_outer.pipeline.json")
    joined = _sizes(_tree(run_cli, "outer_join", tmp_path))
    if (stores_outer, returns_outer) == (False, True):  # README: 103B, 200B, 99B
        by_dir: dict[str, int] = {}
        for path, size in joined.items():
            by_dir[path.split("/")[1]] = by_dir.get(path.split("/")[1], 0) + size
        assert by_dir == {"02108": 103, "90210": 200, "UNKNOWN": 99}
    reduced = _tree(run_cli, "reduce_outer", tmp_path)
    assert {path: _records(text.decode()) for path, text in reduced.items()} == expected


# --- group -----------------------------------------------------------------------------------


def test_group_lab_by_hospital_and_patient(run_cli: RunCli, tmp_path: Path, pfs_mode: str) -> None:
    data = _make(GROUP, "setup-lab", tmp_path)
    _put_dirs(run_cli, data, "labresults")
    lab = GROUP / "pipelines" / "lab"
    _create(
        run_cli,
        lab / "lab_group_by_hospital.pipeline.json",
        lab / "lab_group_by_patient.pipeline.json",
        lab / "reduce_group_by_hospital.pipeline.json",
        lab / "reduce_group_by_patient.pipeline.json",
    )
    results = {p.name: p.read_bytes() for p in (data / "labresults").iterdir()}
    for grouped, reduced, key in (
        ("group_by_hospital", "reduce_group_by_hospital", r"-CLIA(\w+)\.txt"),
        ("group_by_patient", "reduce_group_by_patient", r"-PATID(\d+)-"),
    ):
        groups: dict[str, list[str]] = {}
        for name in sorted(results):
            groups.setdefault(re.search(key, name).group(1), []).append(name)  # type: ignore[union-attr]
        assert _tree(run_cli, grouped, tmp_path) == {
            f"/{g}/{name}": results[name] for g, names in groups.items() for name in names
        }
        assert _tree(run_cli, reduced, tmp_path) == {
            f"/{g}.txt": b"".join(results[n] for n in names) for g, names in groups.items()
        }
    assert sorted(groups) == ["1", "2", "3", "4"]


def test_group_retail_store_revenue(run_cli: RunCli, tmp_path: Path, pfs_mode: str) -> None:
    data = _make(GROUP, "setup-retail", tmp_path)
    _put_dirs(run_cli, data, "stores", "purchases", "returns")
    run_cli("image", "map", "pachyderm/example-group:2.1.0", str(GROUP / "src"))
    _create(run_cli, GROUP / "pipelines" / "retail" / "retail_group.pipeline.json")
    out = _tree(run_cli, "group_store_revenue", tmp_path)
    assert sorted(out) == [f"/{i}.txt" for i in range(6)]
    assert out["/5.txt"] == (
        b"\nStore: 5 - tremont st. \n\nORDER_AMOUNT|450.0|RETURN_AMOUNT|350.0|NET_AMOUNT|100.0\n"
    )
    assert out["/0.txt"] == (
        b"\nThis return store does not exist \n"
        b"\nORDER_AMOUNT|0.0|RETURN_AMOUNT|50.0|NET_AMOUNT|-50.0\n"
    )
    assert out["/4.txt"].startswith(b"\nStore: 4 - mariposa st. \n\nORDER_AMOUNT|0.0|")


def _cat_pipelines(run_cli: RunCli, tmp_path: Path) -> Path:
    """Two pipelines whose `sh` reads a `/pfs` path it builds itself ("/pfs/$N"): one command
    then runs two jobs."""
    (tmp_path / "in" / "data").mkdir(parents=True)
    (tmp_path / "in" / "data" / "a.txt").write_text("a\n")
    _put_dirs(run_cli, tmp_path / "in", "data")
    spec = tmp_path / "cat.json"
    spec.write_text(
        "\n---\n".join(
            json.dumps(
                {
                    "pipeline": {"name": name},
                    "input": {"pfs": {"repo": "data", "glob": "/*"}},
                    "transform": {
                        "cmd": ["sh", "-c", 'N=pfs; cat "/$N/data/a.txt" > /pfs/out/a.txt'],
                    },
                }
            )
            for name in ("cat", "cat2")
        )
    )
    return spec


def test_rewrite_mode_says_so_once_and_why_a_non_python_program_fails(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback's documented limit: a non-Python program that builds a `/pfs` path itself
    (here `sh` reading "/pfs/$NAME") misses its files; the command says once, on stderr, which
    mode it runs in and why, and the job's log says so too."""
    use_pfs_mode(monkeypatch, "rewrite")
    spec = _cat_pipelines(run_cli, tmp_path)
    failed = run_cli("pipeline", "create", "-f", str(spec), code=5)
    notice = "/pfs: rewritten to a scratch dir (CAPSTONE_PFS_MODE=rewrite)"
    assert failed.stderr.count(notice) == 1, failed.stderr
    assert "cat2: JOB_FAILURE" in failed.stderr  # two jobs ran, the notice came once
    assert "/pfs/data/a.txt: No such file or directory" in failed.stderr
    logs = run_cli("logs", "-p", "cat").stdout
    assert "/pfs: rewritten to a scratch dir (CAPSTONE_PFS_MODE=rewrite)" in logs
    status = json.loads(run_cli("status", "--json").stdout)
    assert status["pfs"] == {"mode": "rewrite", "reason": "CAPSTONE_PFS_MODE=rewrite"}


def test_proot_mode_says_so_once_and_a_non_python_program_finds_its_files(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the rewrite fallback cannot do, PRoot does: the same `sh` finds "/pfs/$N/..."; the
    command says once which mode it runs in, and each job's log too."""
    use_pfs_mode(monkeypatch, "proot")
    spec = _cat_pipelines(run_cli, tmp_path)
    done = run_cli("pipeline", "create", "-f", str(spec))
    notice = "/pfs: through proot (ptrace path translation, "
    assert done.stderr.count(notice) == 1, done.stderr
    assert "): CAPSTONE_PFS_MODE=proot; each system call" in done.stderr
    for name in ("cat", "cat2"):
        assert _tree(run_cli, name, tmp_path) == {"/a.txt": b"a\n"}
        assert notice in run_cli("logs", "-p", name).stdout
    status = json.loads(run_cli("status", "--json").stdout)
    assert status["pfs"] == {"mode": "proot", "reason": "CAPSTONE_PFS_MODE=proot"}
