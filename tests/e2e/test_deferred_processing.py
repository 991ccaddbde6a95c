"""Pachyderm's `examples/deferred-processing/deferred_processing_plus_transactions`, its pachctl
steps translated to capstone commands, with the job tables its README documents.

Its published specs are read unchanged from tests/fixtures/pachyderm_examples and its
`setup.sh` is run line by line (vendored unchanged, see NOTICE here), each `pachctl` line
translated. Its code runs as published: edges_dp's `python3 /edges.py` is Pachyderm's
examples/opencv/edges.py (vendored unchanged in deferred_processing/opencv, the image
`pachyderm/opencv` mapped there with `capstone image map`; the absolute `/edges.py` is the
mapped directory's file by `engine.images.image_path`), and montage_dp's `stdin` runs
ImageMagick's `montage`. edges.py walks "/pfs/images" itself and cv2 (C code) opens what it
finds, so the run needs `/pfs` at its literal path: it runs with the mount namespace and
through PRoot (`.ci/run` installs proot); in the rewrite fallback, or without cv2/matplotlib
(`make`'s `examples` extra) or `montage` (`.ci/run` installs ImageMagick), it is skipped and
says which is missing.

The image URLs need the network: `put file -i LIST` puts small local images (PIL) named like
the list's URLs. The outputs' names are the README's; their sizes cannot be (its images are
the internet's), so the test checks what edges.py makes of ours instead: one PNG per image,
of the image's size, with edges in it.
"""

from __future__ import annotations

import shlex
import shutil
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.clirunner import RunCli
from tests.conftest import use_pfs_mode

HERE = Path(__file__).resolve().parent / "deferred_processing"
SPECS = (
    Path(__file__).resolve().parents[1]
    / "fixtures/pachyderm_examples/deferred-processing/deferred_processing_plus_transactions"
)
IMAGE_SIZE = (64, 48)


@pytest.fixture(params=["literal", "proot"])
def example(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli
) -> Path:
    """A working directory with the example's files and specs, edges_dp's image mapped to the
    vendored edges.py, in each mode that shows `/pfs` at its literal path (edges.py walks
    "/pfs/images" itself; the rewrite fallback cannot serve it); skipped, with the reason,
    where what the example runs is missing."""
    pytest.importorskip("cv2", reason="edges.py needs cv2: install the `examples` extra")
    pytest.importorskip("matplotlib", reason="edges.py needs matplotlib: the `examples` extra")
    if shutil.which("montage") is None:
        pytest.skip("ImageMagick's montage is not installed (.ci/run installs it)")
    use_pfs_mode(monkeypatch, request.param)
    work = tmp_path / "example"
    work.mkdir()
    for name in ("setup.sh", "images.txt", "images2.txt", "images3.txt"):
        shutil.copy(HERE / name, work / name)
    for name in ("edges_dp.pipeline.json", "montage_dp.pipeline.json"):
        shutil.copy(SPECS / name, work / name)
    run_cli("image", "map", "pachyderm/opencv", str(HERE / "opencv"))
    monkeypatch.chdir(work)
    return work


def local_image(work: Path, url: str) -> str:
    """The image a URL names, made locally: a JPEG with a light rectangle placed by the URL."""
    path = work / "downloads" / url.rsplit("/", 1)[1]
    path.parent.mkdir(exist_ok=True)
    seed = zlib.crc32(url.encode())
    x, y = 4 + seed % 20, 4 + seed // 20 % 16
    image = Image.new("RGB", IMAGE_SIZE, "black")
    ImageDraw.Draw(image).rectangle((x, y, x + 30, y + 20), fill="white")
    image.save(path, "JPEG")
    return str(path)


def assert_edges(run_cli: RunCli, work: Path, ref: str) -> None:
    """What edges.py writes for one of our images: a PNG of its size, with edges in it."""
    out = work / "edges" / ref.rsplit("/", 1)[1]
    out.parent.mkdir(exist_ok=True)
    run_cli("get", ref, "-o", str(out))
    with Image.open(out) as png:
        assert (png.format, png.size) == ("PNG", IMAGE_SIZE)
        low, high = png.convert("L").getextrema()
        assert (low, high) == (0, 255)  # black background, white edges


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
    for name in ("kitten", "liberty", "robot"):
        assert_edges(run_cli, example, f"edges_dp@dev:/{name}.png")

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
    with Image.open(out) as montage:  # six 300x300 tiles (+2+2 borders), three by two
        assert montage.format == "PNG"
        assert montage.width >= 3 * 304 and montage.height >= 2 * 304
    assert [e["path"] for e in run_cli("ls", "edges_dp@master", "--json").json()] == [
        "/1VqcWw9.png",
        "/2GI70mb.png",
        "/kitten.png",
        "/liberty.png",
        "/robot.png",
    ]
    assert_edges(run_cli, example, "edges_dp@master:/2GI70mb.png")
