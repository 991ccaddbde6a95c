"""Pachyderm's tutorial-201, with pachyderm_sdk in place of pachctl, against `capstone serve`;
then `CAPSTONE_BACKEND=pachyderm capstone train` and `predict` against the same kind of server.

The steps are the tutorial's: create the `rawdata` repo, create the four pipelines from the
specs `capstone render` writes, put the TSV chunks in one commit, wait for the commit set, list
the jobs, read logs, get `model@master:/saved/saved_model.h5` and load it. Images are this
machine's files (testdata/offline, absolute paths in the chunks): the server's workers run here.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
from pachyderm_sdk.api import pfs, pps

from capstone_cli.tsv import split_tsv
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import Served
from tests.e2e.test_train_predict import subset_tsv
from tests.smallspecs import shrink_specs, training_specs

pytestmark = [pytest.mark.ml, pytest.mark.slow]

STAGES = ["images", "features", "consolidate", "model"]
SMALL = {  # tiny images, random weights, one epoch: a real run in seconds
    "images": {"image_size": 32},
    "features": {"image_size": 32, "weights": "none"},
    "model": {"epochs": 1, "batch_size": 32},
}


def test_tutorial_steps_through_pachyderm_sdk(
    served: Served, run_cli: RunCli, tmp_path: Path
) -> None:
    client = served.client
    specs = shrink_specs(tmp_path / "specs", SMALL)
    rendered = tmp_path / "rendered"
    run_cli("render", *STAGES, "-o", str(rendered), "--specs", str(specs))

    client.pfs.create_repo(repo=pfs.Repo(name="rawdata"))
    for stage in STAGES:
        client.pps.create_pipeline_v2(
            create_pipeline_request_json=(rendered / f"{stage}.json").read_text()
        )
    assert {p.pipeline.name for p in client.pps.list_pipeline()} == set(STAGES)

    chunks = list(split_tsv(subset_tsv(tmp_path, 20)))  # relative paths made absolute
    assert len(chunks) == 4
    with client.pfs.commit(branch=pfs.Branch.from_uri("rawdata@master")) as commit:
        for chunk in chunks:
            assert chunk.data is not None
            commit.put_file_from_bytes(path=chunk.path, data=chunk.data)
    jobs = list(client.pps.inspect_job_set(job_set=pps.JobSet(id=commit.id), wait=True))
    assert {j.job.pipeline.name: j.state for j in jobs} == {
        stage: pps.JobState.JOB_SUCCESS for stage in STAGES
    }

    listed = {j.job.pipeline.name for j in client.pps.list_job() if j.job.id == commit.id}
    assert listed == set(STAGES)
    model = pps.Pipeline(name="model")
    logs = [m.message for m in client.pps.get_logs(pipeline=model)]
    assert logs, "the model stage logged nothing"

    saved = pfs.File.from_uri("model@master:/saved/saved_model.h5")
    data = client.pfs.pfs_file(file=saved).read()
    with h5py.File(io.BytesIO(data), "r") as h5:  # a Keras HDF5 model: config and weights
        assert "model_config" in h5.attrs and "model_weights" in h5


def test_pachyderm_backend_trains_and_predicts_against_serve(
    served: Served, tmp_path: Path
) -> None:
    specs = training_specs(tmp_path / "specs", image_size=64, epochs=3)  # as the embedded e2e
    env = {
        **served.env,
        "CAPSTONE_HOME": str(tmp_path / "client-home"),  # the CLI's own home stays unused
        "CAPSTONE_BACKEND": "pachyderm",
        "PACHD_ADDRESS": f"grpc://127.0.0.1:{served.port}",
        "PACH_CONFIG": str(tmp_path / "no-pachctl-config.json"),
        "PYTHONPATH": str(REPO_ROOT),
    }

    def capstone(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "capstone_cli", *args, "--specs", str(specs)],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        return done

    tsv = subset_tsv(tmp_path, 40)  # relative image paths, files of this machine
    out = tmp_path / "model"
    summary = json.loads(capstone("train", "--tsv", str(tsv), "--out", str(out), "--json").stdout)
    assert summary["chunks"] == 8
    assert (out / "saved_model.h5").is_file()

    image = tsv.parent / "images" / "000000.png"
    predicted = capstone("predict", str(image), "--out", str(tmp_path / "captions"), "--json")
    [caption] = json.loads(predicted.stdout)
    words = set(json.loads((out / "vocab.json").read_text())["words"])
    assert caption["caption"] and set(caption["caption"].split()) <= words
    assert Path(caption["output"]).read_text().strip() == caption["caption"]
