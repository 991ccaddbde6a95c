"""The bad-input corpus (issue #8): every case where a user hands capstone something broken.

Each case drives the CLI where the user meets the input (`train --tsv`, `put`, `get`,
`pipeline create -f`, `apply`, `datums`, `predict`, `repo delete`) and asserts:
- the exit code named in `capstone_cli/errors.py`;
- stderr ends with ONE `error:` line (plus an optional `hint:` line), no traceback, no
  "this is a bug" fallback;
- nothing half-made: the store's repos, branch heads, commits, pipelines and jobs are exactly
  as before (`store_state`).
Where the right answer is a per-record reject (a malformed TSV line without --strict, a broken
image inside a job), the test asserts the reject and its reason instead.
Images and URLs are judged inside the images stage (a real job over a real chunk); the TensorFlow
cases (a corrupt model, a vocabulary that does not match) are in test_bad_inputs_models.py.
"""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path

import pytest

from capstone_cli.errors import ExitCode
from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.tsv import SplitReport, chunk_name, split_tsv
from tests.clirunner import Result, RunCli
from tests.conftest import REPO_ROOT

SPECS = PACKAGED_SPECS
MB = 1 << 20


# -- what every case asserts -------------------------------------------------------------
def assert_clean_error(result: Result, code: ExitCode, *needles: str) -> str:
    """Exit `code`; stderr ends with one `error:` line and at most one `hint:` line."""
    text = result.stdout + result.stderr
    assert result.exit_code == int(code), text
    assert "Traceback" not in text, text
    assert "this is a bug" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    tail = lines[errors[0] :]
    assert len(tail) == 1 or (len(tail) == 2 and tail[1].startswith("hint:")), result.stderr
    message = tail[0]
    for needle in needles:
        assert needle in message, (needle, message)
    return message


def store_state(home: Path) -> tuple[object, ...]:
    """Repos with their branch heads, commits, pipelines and jobs; () for an empty store."""
    db = home / "store.db"
    if not db.exists():
        return ()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        state = (
            con.execute(
                "SELECT r.name, b.name, b.head FROM repos r "
                "LEFT JOIN branches b ON b.repo_id = r.id ORDER BY 1, 2"
            ).fetchall(),
            con.execute("SELECT id, commit_set FROM commits ORDER BY id").fetchall(),
            con.execute("SELECT name, version FROM pipelines ORDER BY name").fetchall(),
            con.execute("SELECT seq, state FROM jobs ORDER BY seq").fetchall(),
        )
    finally:
        con.close()
    return () if not any(state) else state


# -- TSV: `capstone train --tsv` -----------------------------------------------------------
GOOD = b"a red circle\thttp://example.com/1.jpg\n"
TSV_LINE_CASES = [
    # (issue wording, file content, bad line number, reason in the message)
    ("no tab", GOOD + b"a dog on the grass\n", 2, "no tab between caption and URL"),
    ("three columns", b"a\tb\tc\n", 1, "3 columns, expected 2"),
    ("empty caption", b"\thttp://example.com/1.jpg\n", 1, "empty caption"),
    ("non-UTF-8 bytes", GOOD + b"caf\xe9 au lait\thttp://x/2.jpg\n", 2, "not valid UTF-8"),
    ("a 10 MB line", GOOD + b"x" * (10 * MB) + b"\thttp://x/2.jpg\n", 2, "longer than 1 MiB"),
    ("URL: unsupported scheme", b"a cat\tftp://example.com/a.jpg\n", 1, "scheme 'ftp'"),
    ("URL: data scheme", b"a cat\tdata:image/png;base64,AAAA\n", 1, "scheme 'data'"),
    (
        "CRLF and BOM lines pass, the third fails",
        b"\xef\xbb\xbf" + GOOD[:-1] + b"\r\n" + GOOD[:-1] + b"\r\nbroken\r\n",
        3,
        "no tab",
    ),
]


@pytest.mark.parametrize(
    ("content", "line", "reason"),
    [case[1:] for case in TSV_LINE_CASES],
    ids=[case[0] for case in TSV_LINE_CASES],
)
def test_tsv_malformed_line_with_strict_is_one_error_and_nothing_written(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, content: bytes, line: int, reason: str
) -> None:
    tsv = tmp_path / "captions.tsv"
    tsv.write_bytes(content)
    result = run_cli(
        "train", "--tsv", str(tsv), "--strict", "--specs", str(SPECS), "--out",
        str(tmp_path / "out"), code=1,
    )  # fmt: skip
    assert_clean_error(result, ExitCode.ERROR, f"captions.tsv:{line}: malformed line", reason)
    assert store_state(capstone_home) == ()  # no repo, no pipeline, no commit
    assert not (tmp_path / "out").exists()


TSV_FILE_CASES = [
    # (issue wording, how to make the file, message part without / with --strict, exit code)
    ("an empty file", lambda p: p.write_bytes(b""), "is empty", "is empty", ExitCode.ERROR),
    ("blank lines only", lambda p: p.write_bytes(b"\n\r\n\n"), "no usable", "no usable", 1),
    ("only malformed lines", lambda p: p.write_bytes(b"x\ny\n"), "no usable", ":1: malformed", 1),
    ("a directory instead of a file", lambda p: p.mkdir(), "is a directory", "is a directory", 1),
    ("a missing file", lambda p: None, "no such file", "no such file", ExitCode.NOT_FOUND),
]


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize(
    ("make", "lenient_reason", "strict_reason", "code"),
    [case[1:] for case in TSV_FILE_CASES],
    ids=[case[0] for case in TSV_FILE_CASES],
)
def test_tsv_unusable_file_is_one_error_and_nothing_written(
    run_cli: RunCli,
    tmp_path: Path,
    capstone_home: Path,
    make: object,
    lenient_reason: str,
    strict_reason: str,
    code: int,
    strict: bool,
) -> None:
    tsv = tmp_path / "captions.tsv"
    make(tsv)  # type: ignore[operator]
    args = ["train", "--tsv", str(tsv), "--specs", str(SPECS), "--out", str(tmp_path / "out")]
    result = run_cli(*args, *(["--strict"] if strict else []), code=code)
    assert_clean_error(result, ExitCode(code), strict_reason if strict else lenient_reason)
    assert store_state(capstone_home) == ()


def test_tsv_malformed_lines_without_strict_are_skipped_with_their_reason(
    run_cli: RunCli, tmp_path: Path
) -> None:
    """Lenient mode: each bad line is reported (number + reason) as soon as the upload is
    committed, and the commit holds exactly the good lines. The pipelines are stopped so the
    test stops at the upload (the missing model is then the error, exit 4)."""
    run_cli("apply", "--specs", str(SPECS))
    for stage in ("images", "features", "consolidate", "model"):
        run_cli("pipeline", "stop", stage)
    tsv = tmp_path / "captions.tsv"
    tsv.write_bytes(
        b"\xef\xbb\xbfa red circle\timages/1.png\r\n"  # BOM + CRLF: accepted
        b"no tab on this line\n"
        b"a\tb\tc\n"
        b"\thttp://example.com/2.jpg\n"
        b"caf\xe9\thttp://example.com/3.jpg\n" + b"y" * (10 * MB) + b"\thttp://example.com/4.jpg\n"
        b"a cat\tftp://example.com/5.jpg\n"
        b"a blue square\thttp://example.com/6.jpg\n"
    )
    result = run_cli("train", "--tsv", str(tsv), "--specs", str(SPECS), code=4)
    warnings = [line for line in result.stderr.splitlines() if "skipped malformed line" in line]
    assert [w.split("captions.tsv:")[1] for w in warnings] == [
        "2: skipped malformed line (no tab between caption and URL)",
        "3: skipped malformed line (3 columns, expected 2 (caption<TAB>url))",
        "4: skipped malformed line (empty caption)",
        "5: skipped malformed line (not valid UTF-8)",
        "6: skipped malformed line (line longer than 1 MiB)",
        "7: skipped malformed line (unsupported URL scheme 'ftp' (use http(s) or a local path))",
    ]
    assert_clean_error(result, ExitCode.NOT_FOUND, "produced no model")
    out = tmp_path / "chunk.tsv"
    run_cli("get", f"rawdata@master:/captions.tsv/{chunk_name('captions.tsv', 0)}", "-o", str(out))
    assert (
        out.read_bytes()
        == (
            f"a red circle\t{tmp_path}/images/1.png\na blue square\thttp://example.com/6.jpg\n"
        ).encode()
    )


def test_tsv_line_without_newline_is_read_in_bounded_memory(tmp_path: Path) -> None:
    """A 64 MB 'line' (no newline at all) is skipped without being loaded: peak < 4 MiB."""
    tsv = tmp_path / "huge.tsv"
    with tsv.open("wb") as f:
        f.write(GOOD)
        f.truncate(len(GOOD) + 64 * MB)  # 64 MB of NUL bytes, no newline
    report = SplitReport()
    tracemalloc.start()
    try:
        chunks = list(split_tsv(tsv, report=report))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [c.data for c in chunks] == [GOOD]
    assert report.malformed == [(2, "line longer than 1 MiB")]
    assert peak < 4 * MB, peak


# -- paths: `capstone put` and `capstone get` ----------------------------------------------
def _files(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("a")
    (src / "sub" / "b.txt").write_text("b")
    return src


PUT_CASES = [
    # (issue wording, target, sources relative to tmp, exit code, message part)
    ("path ../x", "r@master:/../x", ["src/a.txt"], ExitCode.USAGE, "'..' segments"),
    ("path a/../x", "r@master:/a/../x", ["src/a.txt"], ExitCode.USAGE, "'..' segments"),
    ("glob characters in the target", "r@master:/x*y", ["src/a.txt"], ExitCode.USAGE, "glob"),
    ("glob characters in a file name", "r@master", ["g[1].txt"], ExitCode.USAGE, "'[]'"),
    ("glob characters deep in a directory", "r@master", ["globdir"], ExitCode.USAGE, "'*'"),
    ("a non-ASCII file name", "r@master", ["café.txt"], ExitCode.USAGE, "printable ASCII"),
    ("a bad repo name", "r!x@master", ["src/a.txt"], ExitCode.USAGE, "invalid repo name"),
    ("a missing project", "nope/r@master", ["src/a.txt"], ExitCode.NOT_FOUND, "'nope' not found"),
    ("a bad branch name", "r@ma..ster", ["src/a.txt"], ExitCode.USAGE, "invalid branch name"),
    ("a missing source", "r@master", ["nope.txt"], ExitCode.NOT_FOUND, "no such file"),
    ("not a regular file", "r@master", ["/dev/null"], ExitCode.ERROR, "not a regular file"),
    (
        "a file and a directory at one path",
        "r@master",
        ["src/a.txt", "clash"],
        ExitCode.CONFLICT,
        "path collision",
    ),
]


@pytest.mark.parametrize(
    ("target", "sources", "code", "needle"),
    [case[1:] for case in PUT_CASES],
    ids=[case[0] for case in PUT_CASES],
)
def test_put_bad_path_is_one_error_and_nothing_written(
    run_cli: RunCli,
    tmp_path: Path,
    capstone_home: Path,
    target: str,
    sources: list[str],
    code: ExitCode,
    needle: str,
) -> None:
    _files(tmp_path)
    (tmp_path / "g[1].txt").write_text("g")
    (tmp_path / "café.txt").write_text("c")
    (tmp_path / "globdir" / "deep").mkdir(parents=True)
    (tmp_path / "globdir" / "deep" / "x*.txt").write_text("x")
    (tmp_path / "clash" / "a.txt").mkdir(parents=True)  # /a.txt/... under the file /a.txt
    (tmp_path / "clash" / "a.txt" / "inner").write_text("i")
    run_cli("put", "other@master", str(tmp_path / "src"), "--no-run")  # something to keep
    before = store_state(capstone_home)
    paths = [s if s.startswith("/") else str(tmp_path / s) for s in sources]
    result = run_cli("put", target, *paths, "--no-run", code=int(code))
    assert_clean_error(result, code, needle)
    assert store_state(capstone_home) == before  # no repo r, no commit


@pytest.fixture
def repo_with_tree(run_cli: RunCli, tmp_path: Path) -> None:
    run_cli("put", "r@master", str(_files(tmp_path)), "--no-run")


GET_CASES = [
    # (issue wording, source, how to prepare dest, exit code, message part)
    ("../x in the repo path", "r@master:/../etc/passwd", "fresh", ExitCode.USAGE, "'..'"),
    ("glob characters in the repo path", "r@master:/s*b", "fresh", ExitCode.USAGE, "glob"),
    (
        "a target outside the destination (symlinked dir)",
        "r@master:/",
        "symlinked",
        ExitCode.USAGE,
        "outside",
    ),
    ("a symlink as the target file", "r@master:/a.txt", "symlink-file", ExitCode.USAGE, "symlink"),
    ("a directory onto an existing file", "r@master:/sub", "file", ExitCode.USAGE, "is a file"),
    (
        "a file where a directory is needed",
        "r@master:/",
        "blocking-file",
        ExitCode.USAGE,
        "is a file",
    ),
    (
        "a missing destination directory",
        "r@master:/a.txt",
        "missing-parent",
        ExitCode.USAGE,
        "does not exist",
    ),
    ("a missing path", "r@master:/nope", "fresh", ExitCode.NOT_FOUND, "not found"),
    ("a missing repo", "nope@master:/", "fresh", ExitCode.NOT_FOUND, "not found"),
]


@pytest.mark.usefixtures("repo_with_tree")
@pytest.mark.parametrize(
    ("source", "prepare", "code", "needle"),
    [case[1:] for case in GET_CASES],
    ids=[case[0] for case in GET_CASES],
)
def test_get_never_writes_outside_the_destination(
    run_cli: RunCli, tmp_path: Path, source: str, prepare: str, code: ExitCode, needle: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    if prepare == "symlinked":
        dest.mkdir()
        (dest / "sub").symlink_to(outside)  # /sub/b.txt would land in `outside`
    elif prepare == "symlink-file":
        dest.mkdir()
        (dest / "a.txt").symlink_to(outside / "victim")
        dest = dest / "a.txt"
    elif prepare == "file":
        dest.write_text("keep me")
    elif prepare == "blocking-file":
        dest.mkdir()
        (dest / "sub").write_text("keep me")
    elif prepare == "missing-parent":
        dest = dest / "no" / "such" / "a.txt"
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "src" not in p.parts)
    result = run_cli("get", source, "-o", str(dest), code=int(code))
    assert_clean_error(result, code, needle)
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "src" not in p.parts)
    assert after == before  # not one file written, not even /a.txt before the refused /sub
    assert list(outside.iterdir()) == []


# -- specs: `capstone pipeline create -f`, `capstone datums`, `capstone apply` -------------
SPEC_CASES = [
    # (issue wording, spec text, message parts)
    (
        "YAML syntax error (with line number)",
        'pipeline:\n  name: p1\ntransform:\n  cmd: [python3, -c, "pass"\ninput:\n'
        '  pfs: {repo: r, glob: "/*"}\n',
        ["spec.yaml:5:", "YAML"],
    ),
    (
        "unknown field",
        "pipeline: {name: p1}\ntransform: {cmd: [python3]}\ninput: {pfs: {repo: r, glob: /*}}\n"
        "paralelism_spec: {constant: 2}\n",
        ["paralelism_spec: unknown field"],
    ),
    (
        "wrong type",
        "pipeline: {name: p1}\ntransform: {cmd: python3 -c pass}\n"
        "input: {pfs: {repo: r, glob: /*}}\n",
        ["transform.cmd: must be a list"],
    ),
    (
        "duplicate input names",
        "pipeline: {name: p1}\ntransform: {cmd: [python3]}\ninput:\n  cross:\n"
        "    - pfs: {repo: r, glob: /*}\n    - pfs: {repo: r, glob: /}\n",
        ["input name 'r' is used more than once"],
    ),
    (
        "duplicate keys",
        "pipeline: {name: p1}\npipeline: {name: p2}\ntransform: {cmd: [python3]}\n",
        ["duplicate key 'pipeline'"],
    ),
    (
        "a cycle in the DAG",
        "pipeline: {name: a}\ntransform: {cmd: [python3]}\ninput: {pfs: {repo: b, glob: /*}}\n"
        "---\npipeline: {name: b}\ntransform: {cmd: [python3]}\n"
        "input: {pfs: {repo: a, glob: /*}}\n",
        ["cycle: a -> b -> a"],
    ),
    (
        "a pipeline reading its own output",
        "pipeline: {name: r}\ntransform: {cmd: [python3]}\ninput: {pfs: {repo: r, glob: /*}}\n",
        ["cycle: r -> r"],
    ),
]
DAG_ONLY = ("a cycle in the DAG", "a pipeline reading its own output")  # `datums` lists one spec


@pytest.mark.parametrize(
    ("text", "needles"),
    [case[1:] for case in SPEC_CASES],
    ids=[case[0] for case in SPEC_CASES],
)
def test_bad_spec_is_one_error_exit_3_and_nothing_created(
    run_cli: RunCli,
    tmp_path: Path,
    capstone_home: Path,
    text: str,
    needles: list[str],
    request: pytest.FixtureRequest,
) -> None:
    run_cli("put", "r@master", str(_files(tmp_path) / "a.txt"), "--no-run")
    before = store_state(capstone_home)
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = run_cli("pipeline", "create", "-f", str(spec), code=3)
    assert_clean_error(result, ExitCode.INVALID_SPEC, *needles)
    assert store_state(capstone_home) == before
    if not any(name in request.node.name for name in DAG_ONLY):
        listed = run_cli("datums", str(spec), code=3)
        assert_clean_error(listed, ExitCode.INVALID_SPEC, *needles)


def test_pipeline_named_like_an_existing_repo_is_a_conflict(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    a_file = str(_files(tmp_path) / "a.txt")
    run_cli("put", "r@master", a_file, "--no-run")
    run_cli("put", "taken@master", a_file, "--no-run")
    before = store_state(capstone_home)
    spec = tmp_path / "spec.yaml"
    spec.write_text("pipeline: {name: taken}\ntransform: {cmd: [python3]}\n"
                    "input: {pfs: {repo: r, glob: /*}}\n")  # fmt: skip
    result = run_cli("pipeline", "create", "-f", str(spec), code=7)
    assert_clean_error(result, ExitCode.CONFLICT, "a repo named 'taken' already exists")
    assert store_state(capstone_home) == before


def test_stage_named_like_an_existing_repo_creates_nothing(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    """`apply` would create the `rawdata` source repo first: the conflict is found before."""
    run_cli("put", "images@master", str(_files(tmp_path) / "a.txt"), "--no-run")
    before = store_state(capstone_home)
    result = run_cli("apply", "images", "--specs", str(SPECS), code=7)
    assert_clean_error(result, ExitCode.CONFLICT, "a repo named 'images' already exists")
    assert store_state(capstone_home) == before


STAGE_CASES = [
    # (issue wording, edit of specs/images.yaml, message parts)
    (
        "YAML syntax error in a stage",
        lambda t: t.replace("worker: workers.images", "worker: workers.images\n  oops: ["),
        ["images.yaml:4:", "YAML"],
    ),
    ("unknown field in a stage", lambda t: t + "paralelism: 3\n", ["paralelism: unknown field"]),
    ("wrong type in a stage", lambda t: t + "datum_tries: three\n", ["datum_tries"]),
]


@pytest.mark.parametrize(
    ("edit", "needles"), [case[1:] for case in STAGE_CASES], ids=[case[0] for case in STAGE_CASES]
)
def test_bad_stage_definition_is_one_error_exit_3(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, edit: object, needles: list[str]
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for path in SPECS.iterdir():
        (specs / path.name).write_text(path.read_text())
    stage = specs / "images.yaml"
    stage.write_text(edit(stage.read_text()))  # type: ignore[operator]
    result = run_cli("apply", "images", "--specs", str(specs), code=3)
    assert_clean_error(result, ExitCode.INVALID_SPEC, *needles)
    assert store_state(capstone_home) == ()


# -- repos: `capstone repo delete` -----------------------------------------------------------
COPY_SPEC = (
    "pipeline: {name: cp}\ntransform: {cmd: [sh, -c, 'cp -r /pfs/src/* /pfs/out/']}\n"
    "input: {pfs: {repo: src, glob: /*}}\n"
)


@pytest.fixture
def pipeline_cp(run_cli: RunCli, tmp_path: Path) -> None:
    run_cli("put", "src@master", str(_files(tmp_path) / "a.txt"), "--no-run")
    spec = tmp_path / "cp.yaml"
    spec.write_text(COPY_SPEC)
    run_cli("pipeline", "create", "-f", str(spec))


@pytest.mark.usefixtures("pipeline_cp")
@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_repo_delete_refuses_a_pipeline_output_repo_even_with_force(
    run_cli: RunCli, capstone_home: Path, force: bool
) -> None:
    """As pachd: "cannot delete a repo associated with a pipeline - delete the pipeline
    instead", whatever --force says (pfs driver canDeleteRepo, Pachyderm 2.5+)."""
    before = store_state(capstone_home)
    result = run_cli("repo", "delete", "cp", *(["--force"] if force else []), code=7)
    assert_clean_error(result, ExitCode.CONFLICT, "output repo of pipeline 'cp'")
    assert "capstone pipeline delete cp" in result.stderr
    assert store_state(capstone_home) == before


@pytest.mark.usefixtures("pipeline_cp")
def test_repo_delete_of_a_pipeline_input_needs_force(
    run_cli: RunCli, capstone_home: Path, tmp_path: Path
) -> None:
    """As pachd's deleteBranch: an input repo (its branch has subvenance) is deleted only
    with --force; the pipeline stays, and works again once the repo is back."""
    before = store_state(capstone_home)
    result = run_cli("repo", "delete", "src", code=7)
    assert_clean_error(result, ExitCode.CONFLICT, "pipeline(s) cp read it")
    assert "--force" in result.stderr
    assert store_state(capstone_home) == before
    run_cli("repo", "delete", "src", "--force")
    assert "src" not in {r["name"] for r in run_cli("repo", "list", "--json").json()}
    assert [p["name"] for p in run_cli("pipeline", "list", "--json").json()] == ["cp"]
    run_cli("status")
    run_cli("run")
    run_cli("put", "src@master", str(tmp_path / "src" / "sub" / "b.txt"))
    assert run_cli("jobs", "-p", "cp", "--json").json()[0]["state"] == "JOB_SUCCESS"
    assert "consistent" in run_cli("fsck").stdout + run_cli("fsck").stderr


def test_repo_delete_of_a_missing_repo_is_not_found(run_cli: RunCli) -> None:
    assert_clean_error(run_cli("repo", "delete", "nope", code=4), ExitCode.NOT_FOUND, "nope")


# -- images: `capstone predict FILE` refuses what is not an image before uploading ---------
PREDICT_CASES = [
    ("zero bytes", b"", "empty file"),
    ("HTML", b"<!DOCTYPE html><html><body>Image not found</body></html>", "not an image"),
    ("text named .jpg", b"just some words\n", "not an image"),
]


@pytest.mark.parametrize(
    ("data", "needle"), [c[1:] for c in PREDICT_CASES], ids=[c[0] for c in PREDICT_CASES]
)
def test_predict_refuses_a_non_image_before_uploading(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path, data: bytes, needle: str
) -> None:
    image = tmp_path / "photo.jpg"
    image.write_bytes(data)
    result = run_cli("predict", str(image), "--specs", str(SPECS), code=1)
    assert_clean_error(result, ExitCode.ERROR, "photo.jpg", needle)
    assert store_state(capstone_home) == ()


def test_predict_before_any_training(run_cli: RunCli, capstone_home: Path) -> None:
    result = run_cli("predict", str(REPO_ROOT / "testdata" / "image.png"), "--specs", str(SPECS),
                     code=4)  # fmt: skip
    assert_clean_error(result, ExitCode.NOT_FOUND, "no trained model")
    assert "capstone train" in result.stderr
    assert store_state(capstone_home) == ()
