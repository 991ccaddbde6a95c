"""Images stage: one rawdata chunk of `caption<TAB>url` lines -> `<chunk>/<line>.png` + rejects.

Input `rawdata` with glob `/*/*`, so each datum is one chunk file `rawdata/<tsv>/<chunk>`.
Output `<out>/<chunk>/<%06d line>.png` (square RGB, `image_size`), and `<out>/<chunk>/rejects.tsv`
(`line<TAB>url<TAB>reason`, header-less, only when something was rejected).

A web caption dataset loses 30-40% of its URLs to link rot (reference/anchors.md 5.3), so a
failing line is a reject, never a failed datum: the datum fails only when the chunk itself
cannot be read or the output cannot be written. Fetching and decoding run together in a thread
pool of `concurrency` threads (Pillow releases the GIL while decoding, resizing and encoding),
which keeps both cores busy on loopback and hides network latency on the real internet.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from capstone_cli.protocol import stage_params, tsv_line
from workers import runtime
from workers.fetch import FetchConfig, fetch
from workers.imaging import PixelBudget, process_image, release_large_blocks_to_the_os

INPUT_NAMES = ("rawdata",)
REJECTS_FILE = "rejects.tsv"


@dataclass(frozen=True)
class ChunkLine:
    """One line of a rawdata chunk: `caption` and `url` are empty when the line is malformed,
    and `problem` says why (the shared line rule, `capstone_cli.protocol.tsv_line`)."""

    index: int
    caption: str
    url: str
    raw: str
    problem: str = ""

    @property
    def malformed(self) -> bool:
        return bool(self.problem)

    @property
    def stem(self) -> str:
        """The file-name stem of this line's outputs (`%06d`), shared by every stage."""
        return f"{self.index:06d}"


def parse_line(index: int, raw_bytes: bytes) -> ChunkLine:
    """Line `index` of a chunk, parsed by the rule the split used to write it."""
    raw = raw_bytes.decode("utf-8", errors="replace").rstrip("\r")
    parsed = tsv_line.parse_line(raw_bytes)
    if isinstance(parsed, str):
        return ChunkLine(index, "", "", raw, problem=parsed)
    return ChunkLine(index, parsed[0], parsed[1], raw)


def read_chunk(path: Path) -> list[ChunkLine]:
    """Every line of a chunk file, numbered from 0 (a final newline does not start a line)."""
    data = path.read_bytes()
    if not data:
        return []
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    return [parse_line(index, piece) for index, piece in enumerate(pieces)]


def _tsv_field(text: str, limit: int = 2000) -> str:
    """A value safe inside one TSV field: no tabs or newlines, bounded length."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")[:limit]


@dataclass(frozen=True)
class LineOutcome:
    line: ChunkLine
    reason: str = ""  # empty: the PNG was written
    detail: str = ""


class Stage:
    """Fetch, decode and resize every line of a chunk; one thread pool for the process."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = stage_params.resolve("images", params)  # fails fast, before any datum
        # our own max_pixels check replaces Pillow's global warning threshold
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        self._pool: ThreadPoolExecutor | None = None
        self.budget = PixelBudget(self.params["pixels_in_flight"])  # shared by the pool's threads
        release_large_blocks_to_the_os()  # or freed images stay in each thread's heap arena

    @property
    def pool(self) -> ThreadPoolExecutor:
        """Created on first use and kept: with datum batching it serves every chunk."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.params["concurrency"], "images")
        return self._pool

    def process(self, ctx: runtime.DatumContext) -> None:
        chunk_file = ctx.input("rawdata")
        out_dir = ctx.out / chunk_file.name
        lines = read_chunk(chunk_file)
        fetch_config = FetchConfig.from_params(self.params, dict(ctx.env))
        if lines:  # an empty chunk has no output (Pachyderm keeps no empty directories)
            out_dir.mkdir(parents=True, exist_ok=True)
        outcomes = list(self.pool.map(lambda line: self._one(line, fetch_config, out_dir), lines))
        rejects = [outcome for outcome in outcomes if outcome.reason]
        if rejects:
            write_rejects(out_dir / REJECTS_FILE, rejects)
        ctx.log(summary_line(chunk_file.name, len(outcomes) - len(rejects), rejects))

    def _one(self, line: ChunkLine, config: FetchConfig, out_dir: Path) -> LineOutcome:
        """Fetch + decode + write one line; every expected failure becomes a reason code."""
        if line.malformed:
            return LineOutcome(line, "malformed_line", line.problem)
        try:
            fetched = fetch(line.url, config)
            if fetched.data is None:
                return LineOutcome(line, fetched.reason, fetched.detail)
            image = process_image(
                fetched.data, self.params["image_size"], self.params["max_pixels"], self.budget
            )
        except Exception as exc:  # a bug or an exotic failure: one line must not fail the chunk
            print(f"line {line.stem}: unexpected {type(exc).__name__}: {exc}", flush=True)
            return LineOutcome(line, "io_error", f"unexpected {type(exc).__name__}: {exc}")
        if image.png is None:
            return LineOutcome(line, image.reason, image.detail)
        (out_dir / f"{line.stem}.png").write_bytes(image.png)  # disk full: fail the datum
        return LineOutcome(line)


def write_rejects(path: Path, rejects: list[LineOutcome]) -> None:
    """`line<TAB>url<TAB>reason`, sorted by line; the raw line stands in for a missing URL."""
    rows = []
    for outcome in sorted(rejects, key=lambda item: item.line.index):
        url = outcome.line.url or outcome.line.raw
        rows.append(f"{outcome.line.stem}\t{_tsv_field(url)}\t{outcome.reason}\n")
    path.write_text("".join(rows), encoding="utf-8")


def iter_reject_counts(rejects: list[LineOutcome]) -> Iterator[tuple[str, int]]:
    """(reason, count), most frequent first, ties by name (stable log lines)."""
    counts = Counter(outcome.reason for outcome in rejects)
    yield from sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def summary_line(chunk: str, kept: int, rejects: list[LineOutcome]) -> str:
    """`chunk X: 4 images, 1 reject (http_404)`: one log line per datum."""
    images = f"{kept} image{'s' if kept != 1 else ''}"
    if not rejects:
        return f"chunk {chunk}: {images}, 0 rejects"
    reasons = ", ".join(
        reason if count == 1 else f"{reason} x{count}"
        for reason, count in iter_reject_counts(rejects)
    )
    noun = "reject" if len(rejects) == 1 else "rejects"
    return f"chunk {chunk}: {images}, {len(rejects)} {noun} ({reasons})"


if __name__ == "__main__":
    raise SystemExit(runtime.main(Stage, INPUT_NAMES, description=__doc__ or ""))
