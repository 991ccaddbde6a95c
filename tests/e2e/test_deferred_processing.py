"""Pachyderm's `examples/deferred-processing/deferred_processing_plus_transactions`, its pachctl
steps translated to capstone commands, with the job tables its README documents.

Its published specs are read unchanged from tests/fixtures/pachyderm_examples and its
`setup.sh` is run line by line (vendored unchanged, see NOTICE here), each `pachctl` line
translated. Two stand-ins, because this machine has neither the opencv image's `/edges.py`
(cv2) nor ImageMagick's `montage`, nor the network the image URLs need:
- edges_dp's transform is replaced by one that copies each image to /pfs/out as edges.py
  writes it (`<name>.png`); everything else of the spec (name, input, glob, outputBranch) is
  the published one. Once `capstone image map` and cv2 are available, set `EDGES_AS_PUBLISHED`.
- montage_dp runs its published `stdin` unchanged with a `montage` on PATH that writes the
  files it is given into its last argument;
- `put file -i LIST` puts local files named like the list's URLs.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.clirunner import RunCli

HERE = Path(__file__).resolve().parent / "deferred_processing"
SPECS = (
    Path(__file__).resolve().parents[1]
    / "fixtures/pachyderm_examples/deferred-processing/deferred_processing_plus_transactions"
)
EDGES_AS_PUBLISHED = False
EDGES_STAND_IN = [
    "sh",
    "-c",
    'for f in /pfs/images/*; do n=$(basename "$f"); cp "$f" "/pfs/out/${n%.*}.png"; done',
]
# writes the files among its arguments (not the options) into the last one, in order
MONTAGE_STAND_IN = (
    "#!/bin/sh\nfor last; do :; done\n"
    'for f; do if [ "$f" != "$last" ] && [ -f "$f" ]; then echo "$f"; fi; done > "$last"\n'
)


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the example's files, its specs and a `montage` on PATH."""
    work = tmp_path / "example"
    work.mkdir()
    for name in ("setup.sh", "images.txt", "images2.txt", "images3.txt"):
        (work / name).write_bytes((HERE / name).read_bytes())
    for name in ("edges_dp.pipeline.json", "montage_dp.pipeline.json"):
        spec = json.loads((SPECS / name).read_text())
        if name.startswith("edges") and not EDGES_AS_PUBLISHED:
            spec["transform"]["cmd"] = EDGES_STAND_IN
        (work / name).write_text(json.dumps(spec))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "montage").write_text(MONTAGE_STAND_IN)
    (bin_dir / "montage").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path('/usr/bin')}:{Path('/bin')}")
    monkeypatch.chdir(work)
    return work


def local_image(work: Path, url: str) -> str:
    """The file a URL names, made locally (its content: the URL)."""
    path = work / "downloads" / url.rsplit("/", 1)[1]
    path.parent.mkdir(exist_ok=True)
    path.write_text(url + "\n")
    return str(path)


def pachctl(run_cli: RunCli, work: Path, line: str) -> None:
    """One `pachctl` line of the example, as capstone commands."""
    args = shlex.split(line)
    assert args[0] == "pachctl", line
    match args[1:]:
        case ["create", "repo", repo]:
            run_cli("repo", "create", repo)
        case ["create", "pipeline", "-f", spec]:
            run_cli("pipeline", "create", "-f", spec)
        case ["put", "file", target, "-i", listing]:
            urls = (work / listing).read_text().split()
            run_cli("put", target, *(local_image(work, u) for u in urls))
        case ["put", "file", target, "-f", url]:
            run_cli("put", target, local_image(work, url))
        case ["create", "branch", target, "--head", head]:
            run_cli("branch", "create", target, "--head", head)
        case _:
            raise AssertionError(f"no translation for {line!r}")


def job_table(run_cli: RunCli) -> list[tuple[str, str, str]]:
    """`pachctl list job -x` as the README shows it: PIPELINE, ID, PROGRESS (newest first)."""
    return [
        (j["pipeline"], j["id"], f"{j['data_processed']} + {j['data_skipped']} / {j['data_total']}")
        for j in run_cli("jobs", "--all", "--json").json()
    ]


def test_deferred_processing_plus_transactions(run_cli: RunCli, example: Path) -> None:
    # 2.1: sh setup.sh
    for line in (example / "setup.sh").read_text().splitlines():
        if line.startswith("pachctl"):
            pachctl(run_cli, example, line)
    jobs = job_table(run_cli)
    assert [(p, progress) for p, _id, progress in jobs] == [
        ("edges_dp", "2 + 1 / 3"),
        ("edges_dp", "1 + 0 / 1"),
        ("montage_dp", "0 + 0 / 0"),
        ("edges_dp", "0 + 0 / 0"),
    ]
    # 2.2 / 2.3: edges_dp's commits are on dev; dev's head is the newest finished one
    branches = {b["name"]: b for b in run_cli("branch", "list", "edges_dp", "--json").json()}
    assert branches["dev"]["head"] == jobs[0][1]
    assert branches["dev"]["provenance"] == ["images_dp_1@master"]
    assert branches["master"]["head"] is None  # pachd makes an empty commit here
    assert {c["branch"] for c in run_cli("commits", "edges_dp", "--json").json()} == {"dev"}
    assert [e["path"] for e in run_cli("ls", "edges_dp@dev", "--json").json()] == [
        "/kitten.png",
        "/liberty.png",
        "/robot.png",
    ]

    # 2.5 / 2.6: one more image starts edges_dp only
    pachctl(
        run_cli,
        example,
        "pachctl put file images_dp_1@master:1VqcWw9.jpg -f http://imgur.com/1VqcWw9.jpg",
    )
    jobs = job_table(run_cli)
    assert jobs[0][0::2] == ("edges_dp", "1 + 3 / 4") and jobs[1][0] == "edges_dp"
    edges_job = jobs[0][1]

    # 2.7 / 2.8: moving master to dev starts montage_dp, in the same commit set as edges_dp's
    pachctl(run_cli, example, "pachctl create branch edges_dp@master --head dev")
    jobs = job_table(run_cli)
    assert jobs[0] == ("montage_dp", edges_job, "0 + 0 / 0")  # images_dp_2 is still empty
    assert len(jobs) == 6

    # 2.9 / 2.10: and again
    pachctl(
        run_cli,
        example,
        "pachctl put file images_dp_1@master:2GI70mb.jpg -f http://imgur.com/2GI70mb.jpg",
    )
    assert job_table(run_cli)[0][0::2] == ("edges_dp", "1 + 4 / 5")
    edges_job = job_table(run_cli)[0][1]
    pachctl(run_cli, example, "pachctl create branch edges_dp@master --head dev")
    jobs = job_table(run_cli)
    assert jobs[0] == ("montage_dp", edges_job, "0 + 0 / 0") and len(jobs) == 8

    # 3.5 (without the transaction): an image in images_dp_2 makes the montage of everything
    pachctl(
        run_cli,
        example,
        "pachctl put file images_dp_2@master:9iIlokw.jpg -f http://imgur.com/9iIlokw.jpg",
    )
    assert job_table(run_cli)[0][0::2] == ("montage_dp", "1 + 0 / 1")
    # 3.8: pachctl list files montage_dp@master
    assert [
        (e["path"], e["type"]) for e in run_cli("ls", "montage_dp@master", "--json").json()
    ] == [("/montage.png", "file")]
    out = example / "montage.png"
    run_cli("get", "montage_dp@master:/montage.png", "-o", str(out))
    paths = out.read_text().split()
    assert paths == sorted(paths) and len(paths) == 6  # `find /pfs -type f | sort`
    inputs = [Path(p).name for p in paths]
    assert set(inputs) == {
        "1VqcWw9.png",
        "2GI70mb.png",
        "kitten.png",
        "liberty.png",
        "robot.png",
        "9iIlokw.jpg",
    }
