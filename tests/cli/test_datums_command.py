"""`capstone datums` on the tutorial's consolidate join over a real split of test.tsv."""

from __future__ import annotations

from pathlib import Path

from capstone_cli.backends.embedded import EmbeddedBackend
from capstone_cli.project import PACKAGED_SPECS
from capstone_cli.results import Upload
from capstone_cli.tsv import split_tsv
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT


def test_consolidate_join_lists_one_datum_per_chunk_with_features(
    run_cli: RunCli, capstone_home: Path
) -> None:
    backend = EmbeddedBackend(capstone_home)
    chunks = list(split_tsv(REPO_ROOT / "testdata" / "test.tsv"))
    backend.put_files("rawdata", "master", chunks)
    names = [c.path.rsplit("/", 1)[1] for c in chunks]
    with_features, without = names[:15], names[15:]
    backend.put_files(
        "features",
        "master",
        [
            Upload(f"/{name}/{line:06d}.npy", data=b"\x93NUMPY")
            for name in with_features
            for line in range(5)
        ],
    )
    backend.close()

    datums = run_cli("datums", "consolidate", "--specs", str(PACKAGED_SPECS), "--json").json()
    assert len(datums) == 15
    for datum in datums:
        by_name = {i["name"]: i for i in datum["inputs"]}
        chunk = by_name["rawdata"]["path"].rsplit("/", 1)[1]
        assert by_name["features"]["path"] == f"/{chunk}/"
        assert by_name["rawdata"]["join_on"] == by_name["features"]["join_on"] == chunk
    assert {d["inputs"][0]["join_on"] for d in datums} == set(with_features)
    table = run_cli("datums", "consolidate", "--specs", str(PACKAGED_SPECS))
    assert "15 datum(s) for consolidate" in table.stderr
    for name in without:
        assert f"/test.tsv/{name}" in table.stderr  # the chunks without features are named


def test_a_spec_reading_its_own_output_repo_is_refused_as_pipeline_create_does(
    run_cli: RunCli, capstone_home: Path, tmp_path: Path
) -> None:
    backend = EmbeddedBackend(capstone_home)
    backend.put_files("loop", "master", [Upload("/a.txt", data=b"a")])  # listable, if allowed
    backend.close()
    spec = tmp_path / "loop.json"
    spec.write_text(
        '{"pipeline": {"name": "loop"}, "input": {"pfs": {"repo": "loop", "glob": "/*"}},'
        ' "transform": {"cmd": ["true"]}}'
    )
    created = run_cli("pipeline", "create", "-f", str(spec), code=3)
    listed = run_cli("datums", str(spec), code=3)
    assert listed.stderr == created.stderr  # the same one-line error and hint
    assert f"{spec}: the pipelines form a cycle: loop -> loop" in listed.stderr
    assert "cannot read, directly or not, from its own output" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 2  # error + hint, no traceback
