"""Bad images and bad URLs where they enter: the images stage of a real `capstone` job.

One chunk holds every case of the issue (local files and URLs served by a real HTTP server on
127.0.0.1); `capstone put` commits it and runs the images job. A bad image or URL never fails
the job: each becomes a row of `rejects.tsv` with its reason code, and the job log says how many
lines were rejected and why. Odd but valid images (CMYK, 16-bit, animated, PNG named .jpg) are
decoded, not rejected. (The decoding rules themselves are unit-tested in
tests/workers/test_images.py; this checks what a user sees through the CLI.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clirunner import RunCli
from tests.smallspecs import shrink_specs
from tests.workers.httpserver import Route, RouteServer
from tests.workers.test_images import (
    HTML_PAGE,
    animated_gif,
    bomb_png,
    cmyk_jpeg,
    encode,
    noisy_jpeg,
    png16,
    solid,
    truncated_jpeg,
)

CHUNK = "0000000000000000"


@pytest.fixture
def server() -> Iterator[RouteServer]:
    with RouteServer() as running:
        yield running


# 32-px images and no retries: every case fails permanently, so the job stays short
IMAGES_32PX_NO_RETRIES = {
    "images": {"image_size": 32, "retries": 0, "connect_timeout": 2, "read_timeout": 2}
}


def cases(server: RouteServer, files: Path) -> list[tuple[str, str, str]]:
    """(issue wording, URL or path, expected reason; "" = decoded into a PNG)."""
    local = {
        "zero.jpg": b"",
        "truncated.jpg": truncated_jpeg(),
        "page.jpg": HTML_PAGE,
        "huge.png": bomb_png(),  # 30000 x 30000 declared
        "cmyk.jpg": cmyk_jpeg(),
        "deep.png": png16(),
        "anim.gif": animated_gif(),
        "png-named.jpg": encode(solid((0, 0, 255)), "PNG"),
    }
    for name, data in local.items():
        (files / name).write_bytes(data)
    add = server.add
    add("/loop1.jpg", Route.redirect("/loop2.jpg"))
    add("/loop2.jpg", Route.redirect("/loop1.jpg"))
    return [
        ("images: zero bytes", str(files / "zero.jpg"), "not_an_image"),
        ("images: truncated", str(files / "truncated.jpg"), "decode_error"),
        ("images: HTML", str(files / "page.jpg"), "not_an_image"),
        ("images: huge dimensions", str(files / "huge.png"), "too_many_pixels"),
        ("images: CMYK", str(files / "cmyk.jpg"), ""),
        ("images: 16-bit", str(files / "deep.png"), ""),
        ("images: animated GIF", str(files / "anim.gif"), ""),
        ("images: PNG named .jpg", str(files / "png-named.jpg"), ""),
        (
            "images: HTML served as an image",
            add("/page.jpg", Route(body=HTML_PAGE)),
            "not_an_image",
        ),
        ("URLs: a good one", add("/good.jpg", Route(body=noisy_jpeg())), ""),
        ("URLs: unsupported scheme", "ftp://example.com/a.jpg", "unsupported_scheme"),
        (
            "URLs: redirect to another scheme (ftp)",
            add("/to-ftp.jpg", Route.redirect("ftp://example.com/a.jpg")),
            "redirect_scheme",
        ),
        (
            "URLs: redirect to another scheme (file)",
            add("/to-file.jpg", Route.redirect(f"file://{files / 'cmyk.jpg'}")),
            "redirect_scheme",
        ),
        ("URLs: endless redirects", server.url("/loop1.jpg"), "too_many_redirects"),
        ("URLs: 404", add("/missing.jpg", Route(status=404)), "http_404"),
    ]


def test_bad_images_and_urls_are_rejected_per_line_with_a_reason(
    run_cli: RunCli, server: RouteServer, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    table = cases(server, files)
    chunk = tmp_path / "chunk.tsv"
    chunk.write_text("".join(f"case {i}\t{url}\n" for i, (_, url, _) in enumerate(table)))
    specs = shrink_specs(tmp_path / "specs", IMAGES_32PX_NO_RETRIES)
    run_cli("apply", "images", "--specs", str(specs))
    run_cli("put", f"rawdata@master:/captions.tsv/{CHUNK}", str(chunk))  # runs the job: exit 0

    (job,) = [j for j in run_cli("jobs", "-p", "images", "--json").json() if j["data_total"]]
    assert (job["state"], job["data_processed"], job["data_failed"]) == ("JOB_SUCCESS", 1, 0)
    rejects_file = tmp_path / "rejects.tsv"
    run_cli("get", f"images@master:/{CHUNK}/rejects.tsv", "-o", str(rejects_file))
    rows = [line.split("\t") for line in rejects_file.read_text().splitlines()]
    got = {int(index): reason for index, _url, reason in rows}
    listing = run_cli("ls", f"images@master:/{CHUNK}", "--json").json()
    pngs = {int(Path(e["path"]).stem) for e in listing if e["path"].endswith(".png")}
    for index, (case, _url, reason) in enumerate(table):
        if reason:
            assert got.get(index) == reason, case
            assert index not in pngs, case
        else:
            assert index in pngs and index not in got, case
    rejected = sum(1 for _, _, reason in table if reason)
    log = run_cli("logs", "-p", "images").stdout
    assert f"chunk {CHUNK}: {len(table) - rejected} images, {rejected} rejects (" in log
