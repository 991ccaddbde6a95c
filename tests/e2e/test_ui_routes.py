"""The dashboard's routes with the real engine behind them (Starlette's test client).

The store is built with the real CLI (`tests/uistore.py`): real commits, real pipelines whose
transforms run, a failed job, a model commit with metrics.json, a predict gallery.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from capstone_cli.backends.embedded import EmbeddedBackend
from capstone_cli.web import create_app
from capstone_cli.web.routes_data import PAGE_SIZE
from tests.clirunner import RunCli
from tests.uistore import CAPTION, PNG, build_demo_store, running_ui


@pytest.fixture
def client(run_cli: RunCli, tmp_path: Path, capstone_home: Path) -> Iterator[TestClient]:
    build_demo_store(run_cli, tmp_path / "work")
    with TestClient(create_app(lambda: EmbeddedBackend(capstone_home))) as c:
        yield c


def job_id(client: TestClient, pipeline: str) -> str:
    found = re.search(rf"/pipelines/{pipeline}/jobs/(\w+)", client.get("/").text)
    assert found, f"no {pipeline} job on the DAG page"
    return found.group(1)


def test_dag_states_in_words_and_exports(client: TestClient) -> None:
    svg = client.get("/").text
    assert re.search(r'href="/pipelines/images".*?✓ success.*?2/2 datums', svg)
    assert re.search(r'href="/pipelines/audit".*?✗ failure.*?2/2 datums, 1 failed', svg)
    assert 'href="/repos/rawdata"' in svg
    exported = client.get("/dag.svg")
    assert exported.headers["content-type"].startswith("image/svg+xml")
    assert exported.text.startswith("<svg") and "<style>" in exported.text
    mermaid = client.get("/dag.mmd").text
    assert "rawdata --> images" in mermaid and "rawdata --> audit" in mermaid


def test_files_previews_and_raw(client: TestClient) -> None:
    repo = client.get("/repos/rawdata").text
    assert "/repos/rawdata/files/master/test.tsv" in repo and "master" in repo
    listing = client.get("/repos/rawdata/files/master/test.tsv").text
    assert "0000000000000000" in listing and "0000000000000001" in listing
    chunk = client.get("/repos/rawdata/files/master/test.tsv/0000000000000000").text
    assert chunk.count("<td>a red circle on grass</td>") == 3
    image = client.get("/repos/images/files/master/0000000000000000/0.png").text
    assert '<img class="preview"' in image
    raw = client.get("/repos/images/raw/master/0000000000000000/0.png")
    assert raw.content == PNG and raw.headers["content-type"] == "image/png"
    metrics = client.get("/repos/model/files/master/saved/metrics.json").text
    assert "&#34;bleu4&#34;: 0.21" in metrics
    missing = client.get("/repos/rawdata/files/master/nope.tsv")
    assert missing.status_code == 404 and "not found" in missing.text
    assert client.get("/repos/nope").status_code == 404


def test_commit_links_to_its_jobs(client: TestClient) -> None:
    job = job_id(client, "images")
    # the job's output commit carries the job's global ID and links back to it
    assert f"/repos/images/commits/{job}" in client.get("/repos/images").text
    page = client.get(f"/repos/images/commits/{job}").text
    assert f"/pipelines/images/jobs/{job}" in page
    assert "/repos/images/files/" + job in page


def test_pipeline_job_datum_pages(client: TestClient) -> None:
    pipeline = client.get("/pipelines/images").text
    assert "<code>/*/*</code>" in pipeline and "rawdata" in pipeline
    assert "Datum batching" in pipeline and "1 worker(s)" in pipeline
    assert "&#34;glob&#34;: &#34;/*/*&#34;" in pipeline  # the spec, rendered as JSON
    failed = job_id(client, "audit")
    job = client.get(f"/pipelines/audit/jobs/{failed}").text
    assert "✗ failure" in job and "audit: chunk 1 is not allowed" in job
    # failed datums first
    states = re.findall(r'class="dstate (\w+)"', job)
    assert states == ["failed", "success"]
    datum = re.search(rf"/pipelines/audit/jobs/{failed}/datums/(\w+)", job)
    assert datum
    log = client.get(f"/pipelines/audit/jobs/{failed}/datums/{datum.group(1)}").text
    assert "auditing" in log and "FAILED" in log


def test_model_predict_search(client: TestClient) -> None:
    model = client.get("/model").text
    assert re.search(r"bleu4</th><td>0.2100</td><td>0.0500</td>\s*<td>\+0.1600 \(better\)", model)
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in model
    assert "Loss per epoch: 2.9, 2.1, 1.6, 1.3" in model
    assert "/repos/images/raw/master/0000000000000000/0.png" in model
    gallery = client.get("/predict").text
    assert CAPTION in gallery and "/repos/inpredict/raw/master/snow.png" in gallery
    assert client.get("/search?q=ima").text.count("/images") >= 2  # repo and pipeline
    failed = job_id(client, "audit")
    hits = client.get(f"/search?q={failed[:8]}").text  # the job and its output commit
    assert f'job: <a href="/pipelines/audit/jobs/{failed}"' in hits
    assert f'commit: <a href="/repos/audit/commits/{failed}"' in hits
    one = client.get("/search?q=rawd", follow_redirects=False)  # a single hit: go there
    assert one.status_code == 303 and one.headers["location"] == "/repos/rawdata"


def test_etag_answers_304_when_unchanged(client: TestClient) -> None:
    first = client.get("/jobs")
    again = client.get("/jobs", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/jobs", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_directory_paging(run_cli: RunCli, tmp_path: Path, capstone_home: Path) -> None:
    src = tmp_path / "many"
    src.mkdir()
    names = [f"f{i:04d}.txt" for i in range(PAGE_SIZE + 50)]
    for name in names:
        (src / name).write_text(name)
    (src / "sub").mkdir()
    (src / "sub" / "x.txt").write_text("x")
    run_cli("put", "big@master:/d", str(src))
    with TestClient(create_app(lambda: EmbeddedBackend(capstone_home))) as client:
        first = client.get("/repos/big/files/master/d").text
        shown = re.findall(r">(f\d{4}\.txt)</a>", first)
        assert shown == names[:PAGE_SIZE]
        after = re.search(r'href="\?after=([^"]+)"', first)
        assert after
        second = client.get(f"/repos/big/files/master/d?after={after.group(1)}").text
        assert re.findall(r">(f\d{4}\.txt)</a>", second) == names[PAGE_SIZE:]
        assert ">sub/</a>" in second and "next page" not in second


def test_capstone_ui_command_serves_on_loopback(
    run_cli: RunCli, tmp_path: Path, capstone_home: Path
) -> None:
    import urllib.request

    run_cli("put", "r@master:/a.txt", str(_file(tmp_path / "a.txt", "hello")))
    with running_ui(capstone_home) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/repos/r/raw/master/a.txt") as resp:
            assert resp.read() == b"hello"


def _file(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_h5_npy_and_size_cap_previews(run_cli: RunCli, tmp_path: Path, capstone_home: Path) -> None:
    h5py = pytest.importorskip("h5py")
    np = pytest.importorskip("numpy")
    src = tmp_path / "saved"
    src.mkdir()
    with h5py.File(src / "saved_model.h5", "w") as f:
        f.create_dataset("model_weights/lstm/kernel", data=np.zeros((256, 1024), dtype="f4"))
    np.save(src / "features.npy", np.zeros((5, 2048), dtype="<f4"))
    (src / "big.txt").write_bytes(b"y" * (3 << 20))
    run_cli("put", "model@master:/saved", str(src))
    with TestClient(create_app(lambda: EmbeddedBackend(capstone_home))) as client:
        h5 = client.get("/repos/model/files/master/saved/saved_model.h5").text
        assert "model_weights/lstm/kernel" in h5 and "shape (256, 1024), dtype float32" in h5
        npy = client.get("/repos/model/files/master/saved/features.npy").text
        assert "(5, 2048)" in npy and "&lt;f4" in npy
        big = client.get("/repos/model/files/master/saved/big.txt").text
        assert f"Showing the first {1 << 20:,} of {3 << 20:,} bytes." in big
        raw = client.get("/repos/model/raw/master/saved/big.txt")
        assert len(raw.content) == 3 << 20  # the raw download is whole
