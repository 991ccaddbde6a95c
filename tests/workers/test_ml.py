"""TensorFlow tests of the captioning workers: h5 reload, mask, features, determinism, end to end.

Small everything (64-px images, tiny model) so the module stays well under the 3-minute budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.workers.stagerun import run_stage_process

pytestmark = pytest.mark.ml

ROOT = Path(__file__).resolve().parents[2]
IMAGE_SIZE = 64
FEATURE_PARAMS = {
    "backbone": "resnet50",
    "weights": "none",
    "seed": 0,
    "image_size": IMAGE_SIZE,
    "batch_size": 16,
    "layer": "conv3_block4_out",  # the default, set here so saved/params.json matches it whole
}
COLOURS = {"red": (220, 30, 30), "green": (30, 180, 30), "blue": (30, 30, 220)}
SHAPES = ("circle", "square")
SIDES = ("left", "right")


def fresh_python(code: str, *args: str) -> str:
    """Run `code` in a new interpreter (nothing imported or registered beforehand)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def draw_shape(path: Path, colour: str, shape: str, side: str, jitter: int) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    cx = (16 if side == "left" else 48) + jitter
    box = (cx - 10, 22 + jitter, cx + 10, 42 + jitter)
    (draw.ellipse if shape == "circle" else draw.rectangle)(box, fill=COLOURS[colour])
    image.save(path)


def synthetic_images(root: Path, chunks: int, per_chunk: int) -> dict[str, list[str]]:
    """`root/<chunk>/<line>.png` laid out like the images repo; returns captions per chunk."""
    combos = [(c, s, d) for c in COLOURS for s in SHAPES for d in SIDES]
    captions: dict[str, list[str]] = {}
    k = 0
    for chunk in range(chunks):
        name = f"{chunk:016x}"
        (root / name).mkdir(parents=True)
        captions[name] = []
        for line in range(per_chunk):
            colour, shape, side = combos[k % len(combos)]
            draw_shape(root / name / f"{line:06d}.png", colour, shape, side, (k // 12) % 3 - 1)
            captions[name].append(f"a {colour} {shape} on the {side}")
            k += 1
    return captions


# ---------------------------------------------------------------- model: h5 and mask


def small_trained_model(tmp: Path, feature_pca: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
    import keras

    from workers.captioning import pca
    from workers.captioning.model import ModelConfig, build_caption_model, compile_caption_model

    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    feats = rng.random((32, 2048), dtype=np.float32)
    config = ModelConfig(
        vocab_size=20, max_len=6, embedding_dim=16, units=16, feature_pca=feature_pca
    )
    whitening = pca.whitening(feats, feature_pca) if feature_pca else None
    model = build_caption_model(config, feature_whitening=whitening)
    compile_caption_model(model, 1e-2)
    prefixes = np.zeros((32, 6), np.int32)
    prefixes[:, -3:] = rng.integers(1, 20, (32, 3))
    model.fit([feats, prefixes], rng.integers(0, 20, 32), epochs=1, verbose=0)
    return model, feats, prefixes


@pytest.mark.parametrize("feature_pca", [0, 8])  # standardised, or PCA-whitened features
def test_h5_reloads_in_fresh_process_with_identical_predictions(
    tmp_path: Path, feature_pca: int
) -> None:
    model, feats, prefixes = small_trained_model(tmp_path, feature_pca)
    if feature_pca:  # the projection is fixed: training leaves the fitted whitening as it was
        assert not model.get_layer("feature_pca").trainable_weights
    model.save(tmp_path / "saved_model.h5")
    np.save(tmp_path / "f.npy", feats)
    np.save(tmp_path / "p.npy", prefixes)
    fresh_python(
        "import sys, numpy as np, keras\n"
        "import workers.captioning.model  # registers TokenMask\n"
        "d = sys.argv[1]\n"
        "m = keras.models.load_model(d + '/saved_model.h5')\n"
        "x = [np.load(d + '/f.npy'), np.load(d + '/p.npy')]\n"
        "np.save(d + '/out.npy', m.predict_on_batch(x))\n",
        str(tmp_path),
    )
    expected = model.predict_on_batch([feats, prefixes])
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, atol=1e-6)


@pytest.mark.parametrize(("carry_mask", "padding_matters"), [(True, False), (False, True)])
def test_mask_is_carried_through_the_merge(
    tmp_path: Path, carry_mask: bool, padding_matters: bool
) -> None:
    """Same weights, same prefix, more padding: identical output only when the mask is carried.

    The `carry_mask=False` case is the negative control (Keras 3's default loses the mask at
    `add()`), proving the comparison can fail.
    """
    from workers.captioning.model import ModelConfig, build_caption_model

    model, feats, prefixes = small_trained_model(tmp_path)
    longer = build_caption_model(
        ModelConfig(vocab_size=20, max_len=11, embedding_dim=16, units=16, carry_mask=carry_mask)
    )
    longer.set_weights(model.get_weights())
    padded = np.zeros((32, 11), np.int32)
    padded[:, -6:] = prefixes
    diff = np.abs(
        longer.predict_on_batch([feats, padded]) - model.predict_on_batch([feats, prefixes])
    )
    assert bool(diff.max() > 1e-4) is padding_matters


# ---------------------------------------------------------------- decoding (no model needed)


def table_step(table: dict[tuple[int, ...], list[float]], vocab: int) -> Any:
    """A fake step: next-word probabilities looked up by the unpadded prefix."""

    def step(features: np.ndarray, prefixes: np.ndarray) -> np.ndarray:
        out = np.full((len(prefixes), vocab), 1e-6)
        for i, row in enumerate(prefixes):
            key = tuple(int(t) for t in row if t)
            out[i] = table.get(key, [1e-6] * 3 + [1.0] + [1e-6] * (vocab - 4))
        return out

    return step


def test_greedy_and_beam_search() -> None:
    from workers.captioning.decode import beam_decode, greedy_decode

    # start=2, end=3; greedy takes 4 (0.6) then 6 (0.34); beam finds 5 (0.4) then 7 (0.9).
    table = {
        (2,): [0, 0, 0, 0, 0.6, 0.4, 0, 0],
        (2, 4): [0, 0, 0, 0.33, 0, 0, 0.34, 0.33],
        (2, 5): [0, 0, 0, 0.1, 0, 0, 0, 0.9],
    }
    step = table_step(table, 8)
    feats = np.zeros((2, 4), np.float32)
    assert greedy_decode(step, feats, 2, 3, max_len=5) == [[4, 6], [4, 6]]
    assert beam_decode(step, feats, 2, 3, max_len=5, beam_width=3) == [[5, 7], [5, 7]]
    assert beam_decode(step, feats, 2, 3, max_len=5, beam_width=1) == [[4, 6], [4, 6]]
    assert greedy_decode(step, feats, 2, 3, max_len=1) == [[4], [4]]  # stops at max_len


# ---------------------------------------------------------------- features across processes


def test_random_backbone_identical_across_processes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    np.save(tmp_path / "img.npy", rng.integers(0, 256, (3, 32, 32, 3)).astype(np.uint8))
    code = (
        "import sys, numpy as np\n"
        "from workers.captioning.features import FeatureExtractor\n"
        "imgs = np.load(sys.argv[1] + '/img.npy')\n"
        "for seed in (0, 1):\n"
        "    f = FeatureExtractor(weights='none', seed=seed, image_size=32, batch_size=2)\n"
        "    np.save(f'{sys.argv[1]}/{sys.argv[2]}_{seed}.npy', f.extract(imgs))\n"
    )
    fresh_python(code, str(tmp_path), "a")
    fresh_python(code, str(tmp_path), "b")
    a0, b0 = np.load(tmp_path / "a_0.npy"), np.load(tmp_path / "b_0.npy")
    assert a0.shape == (3, 512) and a0.dtype == np.float32
    np.testing.assert_array_equal(a0, b0)
    np.testing.assert_array_equal(np.load(tmp_path / "a_1.npy"), np.load(tmp_path / "b_1.npy"))
    assert not np.array_equal(a0, np.load(tmp_path / "a_1.npy"))  # the seed matters


@pytest.mark.parametrize(
    ("layer", "dim"), [("top", 2048), ("conv2_block3_out", 256), ("conv3_block4_out", 512)]
)
def test_backbone_layer_sets_the_feature_width(layer: str, dim: int) -> None:
    from workers.captioning.features import FeatureExtractor

    extractor = FeatureExtractor(weights="none", image_size=32, batch_size=2, layer=layer)
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3)).astype(np.uint8)
    features = extractor.extract(images)
    assert extractor.feature_dim == dim and features.shape == (3, dim)
    assert np.isfinite(features).all() and features.std(axis=0).max() > 0  # images differ
    assert extractor.extract(images[:0]).shape == (0, dim)


def test_unknown_backbone_layer_is_refused_naming_the_choices() -> None:
    from workers.captioning.features import FeatureExtractor

    with pytest.raises(RuntimeError, match=r"unknown layer 'conv9'.*'top'.*conv3_block4_out"):
        FeatureExtractor(weights="none", image_size=32, layer="conv9")


# ---------------------------------------------------------------- stages end to end


def run_stage(
    module: str,
    out: Path,
    params: dict[str, Any],
    inputs: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through the stage's entry point (`runtime.main`), as `python -m workers.<stage>` does."""
    import importlib

    from workers import runtime

    stage = importlib.import_module(f"workers.{module}")
    for name, path in inputs.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.delenv("PPS_WORKER_GRPC_PORT", raising=False)
    code = runtime.main(
        stage.Stage, stage.INPUT_NAMES, ["--out", str(out), "--params", json.dumps(params)]
    )
    assert code == 0


def consolidate_like(features_repo: Path, captions: dict[str, list[str]], out: Path) -> None:
    """What the consolidate stage writes: captions.tsv + row-aligned features.npy per chunk."""
    from workers.consolidate import read_image_ids

    for chunk, lines in captions.items():
        rows = sorted(p for p in (features_repo / chunk).glob("*.npy"))
        image_ids = read_image_ids(features_repo / chunk)
        (out / chunk).mkdir(parents=True)
        (out / chunk / "captions.tsv").write_text(
            "".join(f"{p.stem}\t{image_ids[p.stem]}\t{lines[int(p.stem)]}\n" for p in rows)
        )
        np.save(out / chunk / "features.npy", np.stack([np.load(p) for p in rows]))


MODEL_PARAMS = {
    "epochs": 25,
    "batch_size": 32,
    "max_len": 8,
    "embedding_dim": 32,
    "units": 64,
    "learning_rate": 0.005,
    "seed": 0,
    "val_fraction": 0.25,
    "features": FEATURE_PARAMS,
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    mp = pytest.MonkeyPatch()
    pfs = tmp_path_factory.mktemp("pfs")
    captions = synthetic_images(pfs / "images", chunks=3, per_chunk=16)
    for chunk in captions:  # one datum per chunk, as glob /* gives
        run_stage(
            "features", pfs / "features", FEATURE_PARAMS, {"images": pfs / "images" / chunk}, mp
        )
    consolidate_like(pfs / "features", captions, pfs / "consolidate")
    run_stage("model", pfs / "model", MODEL_PARAMS, {"consolidate": pfs / "consolidate"}, mp)
    mp.undo()
    yield {"pfs": pfs}


def test_features_stage_writes_one_vector_per_image(pipeline: dict[str, Path]) -> None:
    pfs = pipeline["pfs"]
    chunk = pfs / "features" / f"{0:016x}"
    files = sorted(p.name for p in chunk.iterdir())
    assert files == [*(f"{i:06d}.npy" for i in range(16)), "images.tsv"]

    # Identity by the image's bytes: image k and k + 36 are copies of one picture (same
    # combination, same offset), so chunk 0's line 0 is chunk 2's line 4
    def ids(n: int) -> dict[str, str]:
        table = (pfs / "features" / f"{n:016x}" / "images.tsv").read_text().splitlines()
        return dict(row.split("\t") for row in table)

    assert len(set(ids(0).values())) == 16
    assert ids(0)["000000"] == ids(2)["000004"] != ids(0)["000001"]
    vector = np.load(chunk / "000000.npy", allow_pickle=False)
    # conv3_block4_out pools to 512 values (the tutorial's "top": 2048)
    assert vector.shape == (512,) and vector.dtype == np.float32


def test_model_stage_learns_better_than_baseline(pipeline: dict[str, Path]) -> None:
    saved = pipeline["pfs"] / "model" / "saved"
    assert {p.name for p in saved.iterdir()} >= {
        "saved_model.h5",
        "vocab.json",
        "metrics.json",
        "params.json",
    }
    metrics = json.loads((saved / "metrics.json").read_text())
    params = json.loads((saved / "params.json").read_text())
    assert params["features"] == FEATURE_PARAMS and params["epochs"] == 25
    # 48 images but 36 distinct (12 combinations x 3 offsets): the split is by distinct image
    assert metrics["captions"] == 48 and 0 < metrics["val_images"] < 36
    assert 0 <= metrics["exact"] <= metrics["exact_of"] == metrics["val_images"]
    assert metrics["train_loss_per_epoch"][-1] < metrics["train_loss_per_epoch"][0]
    assert metrics["bleu"]["bleu1"] > metrics["baseline_bleu"]["bleu1"]


def test_predict_stage_captions_images(pipeline: dict[str, Path], tmp_path: Path) -> None:
    """A fresh `python -m workers.predict` process, as the engine runs it."""
    inpredict = tmp_path / "inpredict"
    inpredict.mkdir()
    draw_shape(inpredict / "new.png", "blue", "square", "right", 0)
    inputs = {
        "model": str(pipeline["pfs"] / "model" / "saved"),
        "inpredict": str(inpredict / "new.png"),
    }
    params = json.dumps({"beam_width": 2})
    done = run_stage_process("predict", tmp_path / "out", inputs, "--params", params, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    caption = (tmp_path / "out" / "new.png.txt").read_text()
    assert caption.endswith("\n") and caption.strip()
    vocab = json.loads((pipeline["pfs"] / "model" / "saved" / "vocab.json").read_text())["words"]
    assert set(caption.split()) <= set(vocab)


def copy_saved(pipeline: dict[str, Path], tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(pipeline["pfs"] / "model" / "saved", tmp_path / "saved"))


@pytest.mark.parametrize("damage", ["corrupt_h5", "truncated_h5", "vocab_mismatch"])
def test_predict_gives_one_line_error(
    pipeline: dict[str, Path], tmp_path: Path, damage: str
) -> None:
    from workers.predict import Captioner

    saved = copy_saved(pipeline, tmp_path)
    h5 = saved / "saved_model.h5"
    if damage == "corrupt_h5":
        h5.write_bytes(b"this is not an HDF5 file")
    elif damage == "truncated_h5":
        h5.write_bytes(h5.read_bytes()[: h5.stat().st_size // 2])
    else:
        vocab = json.loads((saved / "vocab.json").read_text())
        vocab["words"].append("extraword")
        (saved / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(RuntimeError) as info:
        Captioner(saved)
    message = str(info.value)
    assert "\n" not in message
    assert ("vocabulary" in message) if damage == "vocab_mismatch" else ("cannot load" in message)


def test_training_is_deterministic_with_a_seed(
    pipeline: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {**MODEL_PARAMS, "epochs": 3}
    runs = []
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        run_stage(
            "model",
            tmp_path / name,
            {**params, "seed": seed},
            {"consolidate": pipeline["pfs"] / "consolidate"},
            monkeypatch,
        )
        runs.append(json.loads((tmp_path / name / "saved" / "metrics.json").read_text()))
    assert runs[0]["train_loss_per_epoch"] == runs[1]["train_loss_per_epoch"]
    assert runs[0]["val_loss"] == runs[1]["val_loss"]
    assert runs[0]["train_loss_per_epoch"] != runs[2]["train_loss_per_epoch"]


def test_predict_keeps_the_model_loaded_across_datums(
    pipeline: dict[str, Path], tmp_path: Path
) -> None:
    """Each datum sees the model at its own path: the same files must not load it again."""
    import shutil

    from workers.predict import Stage

    saved = pipeline["pfs"] / "model" / "saved"
    first, second, damaged = (
        Path(shutil.copytree(saved, tmp_path / name / "saved")) for name in ("a", "b", "c")
    )
    stage = Stage({})
    loaded = stage.captioner(first)
    assert stage.captioner(second) is loaded
    (damaged / "saved_model.h5").write_bytes(b"not the same model")
    with pytest.raises(RuntimeError, match="cannot load"):
        stage.captioner(damaged)


def test_model_stage_reports_epochs_as_progress(
    pipeline: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's progress file ends at the last epoch (the live display's `epoch 2/2`)."""
    from capstone_cli.protocol.progress import PROGRESS_ENV, read_progress

    progress = tmp_path / "progress"
    monkeypatch.setenv(PROGRESS_ENV, str(progress))
    run_stage(
        "model",
        tmp_path / "out",
        {**MODEL_PARAMS, "epochs": 2},
        {"consolidate": pipeline["pfs"] / "consolidate"},
        monkeypatch,
    )
    assert read_progress(progress) == {"done": 2, "total": 2, "unit": "epoch"}
