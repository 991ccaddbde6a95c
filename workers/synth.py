"""A seeded, byte-for-byte reproducible synthetic captioning dataset for offline runs and tests.

No image or caption can be downloaded here, and real web captions would need days of training
to show anything. These images carry exactly what their captions say: one shape (circle,
square, triangle) of one colour at one position on a plain background, e.g. "a red circle on
the left". A caption model that learns anything must beat the baseline on the held-out split,
which only holds combinations also seen in training.

    python -m workers.synth --out testdata/offline --count 400 --seed 0

writes `images/%06d.png` (96x96 RGB), `train.tsv` and `heldout.tsv` (`caption<TAB>images/...`,
paths relative to the TSV, which the images stage resolves through `$CAPSTONE_DATA_ROOT`).
Same count and seed, same bytes: only `random.Random(seed)`, Pillow's drawing and zlib are used.

    python -m workers.synth --extend testdata/offline --out out/demo-data --count 1280 --seed 1

writes a larger training set of the same kind (`make demo` trains on it; held-out stays apart).
"""

from __future__ import annotations

import argparse
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 96
HELDOUT_FRACTION = 0.2
SHAPES = ("circle", "square", "triangle")
COLORS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (40, 70, 220),
    "yellow": (240, 220, 40),
    "orange": (245, 140, 20),
    "purple": (140, 50, 180),
}
# caption phrase -> shape centre; "in the middle" reads better than "on the middle"
POSITIONS: dict[str, tuple[int, int]] = {
    "on the left": (24, 48),
    "on the right": (72, 48),
    "at the top": (48, 24),
    "at the bottom": (48, 72),
    "in the middle": (48, 48),
}
BACKGROUNDS = ((245, 245, 245), (200, 200, 200), (70, 70, 70), (20, 20, 20))


@dataclass(frozen=True)
class Sample:
    index: int
    shape: str
    color: str
    position: str

    @property
    def caption(self) -> str:
        article = "an" if self.color[0] in "aeiou" else "a"
        return f"{article} {self.color} {self.shape} {self.position}"

    @property
    def relative_path(self) -> str:
        return f"images/{self.index:06d}.png"

    @property
    def combination(self) -> tuple[str, str, str]:
        return (self.shape, self.color, self.position)


def _jitter(rng: random.Random, rgb: tuple[int, int, int], amount: int) -> tuple[int, int, int]:
    return tuple(min(255, max(0, c + rng.randint(-amount, amount))) for c in rgb)  # type: ignore[return-value]


def draw(sample: Sample, rng: random.Random) -> bytes:
    """The PNG for one sample: size, place and shade jittered, the caption's facts kept."""
    image = Image.new("RGB", (SIZE, SIZE), rng.choice(BACKGROUNDS))
    pen = ImageDraw.Draw(image)
    cx, cy = POSITIONS[sample.position]
    cx, cy = cx + rng.randint(-4, 4), cy + rng.randint(-4, 4)
    radius = rng.randint(12, 18)
    fill = _jitter(rng, COLORS[sample.color], 15)
    box = (cx - radius, cy - radius, cx + radius, cy + radius)
    if sample.shape == "circle":
        pen.ellipse(box, fill=fill)
    elif sample.shape == "square":
        pen.rectangle(box, fill=fill)
    else:
        pen.polygon(
            [(cx, cy - radius), (cx - radius, cy + radius), (cx + radius, cy + radius)], fill=fill
        )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def make_samples(count: int, rng: random.Random) -> list[Sample]:
    return [
        Sample(index, rng.choice(SHAPES), rng.choice(sorted(COLORS)), rng.choice(list(POSITIONS)))
        for index in range(count)
    ]


def split(
    samples: Sequence[Sample], rng: random.Random, fraction: float = HELDOUT_FRACTION
) -> tuple[list[Sample], list[Sample]]:
    """(train, heldout): ~`fraction` held out, each held-out combination kept once in train."""
    first_of_combination: dict[tuple[str, str, str], int] = {}
    for sample in samples:
        first_of_combination.setdefault(sample.combination, sample.index)
    candidates = [s for s in samples if first_of_combination[s.combination] != s.index]
    rng.shuffle(candidates)
    heldout_ids = {s.index for s in candidates[: round(len(samples) * fraction)]}
    train = [s for s in samples if s.index not in heldout_ids]
    heldout = [s for s in samples if s.index in heldout_ids]
    return train, heldout


def write_dataset(out: Path, count: int, seed: int) -> tuple[int, int]:
    """Write (replacing any earlier run's PNGs) and return (train, heldout) sizes."""
    rng = random.Random(seed)
    samples = make_samples(count, rng)
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    for stale in images_dir.glob("*.png"):
        stale.unlink()
    for sample in samples:
        (out / sample.relative_path).write_bytes(draw(sample, rng))
    train, heldout = split(samples, rng)
    for name, part in (("train.tsv", train), ("heldout.tsv", heldout)):
        rows = "".join(f"{s.caption}\t{s.relative_path}\n" for s in part)
        (out / name).write_text(rows, encoding="utf-8", newline="\n")
    return len(train), len(heldout)


def extend_training_set(base: Path, out: Path, count: int, seed: int) -> int:
    """`out/train.tsv`: `base`'s training lines plus `count` new images (all for training).

    More of the same kind of picture for training, never touching `base`'s held-out set: the
    demo trains on this, then captions `base/heldout.tsv`. New images are `images/x%06d.png`,
    `base`'s training images are copied beside them; returns the number of training lines.
    """
    rng = random.Random(seed)
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    rows = (base / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    for row in rows:
        relative = row.rstrip("\n").split("\t")[1]
        (out / relative).write_bytes((base / relative).read_bytes())
    for sample in make_samples(count, rng):
        relative = f"images/x{sample.index:06d}.png"
        (out / relative).write_bytes(draw(sample, rng))
        rows.append(f"{sample.caption}\t{relative}\n")
    (out / "train.tsv").write_text("".join(rows), encoding="utf-8", newline="\n")
    return len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--out", type=Path, default=Path("testdata/offline"))
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--extend",
        type=Path,
        default=None,
        help="a dataset whose training lines to extend with --count new images (into --out)",
    )
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error("--count must be >= 1")
    if args.extend is not None:
        lines = extend_training_set(args.extend, args.out, args.count, args.seed)
        print(f"wrote {args.out / 'train.tsv'}: {lines} training lines")
        return 0
    train, heldout = write_dataset(args.out, args.count, args.seed)
    print(f"wrote {args.count} images to {args.out}: {train} train, {heldout} held out")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
