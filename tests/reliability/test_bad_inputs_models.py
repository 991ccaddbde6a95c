"""Bad models through `capstone predict` (issue #8, models): a corrupt `saved_model.h5` and a
vocabulary that does not match the model. (Predict before any training is in
test_bad_inputs.py: it needs no TensorFlow.)

A tiny caption model is built once with the project's own code (`build_caption_model`, 20 words)
and put in `model@master:/saved` with its vocabulary and params, as the model stage writes them.
`capstone predict` then runs the real predict job: the worker fails the datum, the job ends in
JOB_FAILURE (exit 5), and the one-line error carries the worker's own reason, so the user knows
to retrain rather than to read a traceback. The store keeps the failed job; the model is
untouched.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from capstone_cli.errors import ExitCode
from capstone_cli.project import PACKAGED_SPECS
from tests.clirunner import RunCli
from tests.conftest import REPO_ROOT
from tests.reliability.test_bad_inputs import assert_clean_error

pytestmark = [pytest.mark.ml, pytest.mark.slow]

IMAGE = REPO_ROOT / "testdata" / "image.png"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """saved/: a 20-word untrained model, its vocabulary and the features params."""
    from workers.captioning.model import ModelConfig, build_caption_model
    from workers.captioning.text import SPECIALS, Vocabulary

    out = tmp_path_factory.mktemp("model") / "saved"
    out.mkdir()
    model = build_caption_model(ModelConfig(vocab_size=20, max_len=6, embedding_dim=8, units=8))
    model.save(out / "saved_model.h5")
    words = [*SPECIALS, *(f"w{i}" for i in range(20 - len(SPECIALS)))]
    Vocabulary(words).save(out / "vocab.json")
    features = {"backbone": "resnet50", "weights": "none", "image_size": 32, "batch_size": 4}
    (out / "params.json").write_text(json.dumps({"features": features}))
    return out


def damage(saved: Path, tmp_path: Path, how: str) -> Path:
    copy = Path(shutil.copytree(saved, tmp_path / "saved"))
    if how == "corrupt":
        (copy / "saved_model.h5").write_bytes(b"<html>this is not an HDF5 file</html>")
    else:  # a vocabulary from another training run: one word more than the model predicts
        vocab = json.loads((copy / "vocab.json").read_text())
        vocab["words"].append("extraword")
        (copy / "vocab.json").write_text(json.dumps(vocab))
    return copy


@pytest.mark.parametrize(
    ("how", "needle"),
    [
        ("corrupt", "cannot load model"),
        ("vocab", "has 21 words but the model predicts 20"),
    ],
    ids=["a corrupt saved_model.h5", "a vocabulary that does not match the model"],
)
def test_predict_with_a_bad_model_is_exit_5_with_the_reason(
    run_cli: RunCli, saved: Path, tmp_path: Path, how: str, needle: str
) -> None:
    run_cli("put", "model@master:/saved", str(damage(saved, tmp_path, how)), "--no-run")
    model_head = run_cli("commits", "model", "--json").json()
    result = run_cli(
        "predict", str(IMAGE), "--specs", str(PACKAGED_SPECS), "--out", str(tmp_path), code=5
    )
    message = assert_clean_error(result, ExitCode.JOB_FAILED, "pipeline predict", needle)
    assert "RuntimeError" in message
    assert "capstone logs -p predict" in result.stderr
    assert not (tmp_path / f"{IMAGE.name}.txt").exists()
    assert run_cli("commits", "model", "--json").json() == model_head
