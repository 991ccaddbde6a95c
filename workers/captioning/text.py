"""Caption cleaning and the word vocabulary, shared by consolidate, model and predict.

Cleaning must be identical everywhere a caption is turned into tokens (consolidate writes cleaned
captions, model builds the vocabulary from them, BLEU compares against them), so it lives here once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

PAD, UNK, START, END = "<pad>", "<unk>", "<start>", "<end>"
SPECIALS: tuple[str, ...] = (PAD, UNK, START, END)
VOCAB_FORMAT = "capstone-vocab"
VOCAB_VERSION = 1

_APOSTROPHES = frozenset("'’`´")


def clean_caption(caption: str) -> str:
    """Lowercase, strip punctuation and digits, collapse whitespace, drop 1-letter words but "a".

    The consolidate stage's rule exactly (tests compare the two): apostrophes vanish
    ("don't" -> "dont"), any other non-letter becomes a space ("left-hand" -> "left hand").
    """
    letters = "".join(
        "" if ch in _APOSTROPHES else (ch if ch.isalpha() else " ") for ch in caption.lower()
    )
    return " ".join(w for w in letters.split() if len(w) > 1 or w == "a")


def tokenize(caption: str) -> list[str]:
    """The words of a caption after `clean_caption`."""
    return clean_caption(caption).split()


class Vocabulary:
    """Word <-> id mapping: `<pad>`=0, `<unk>`=1, `<start>`=2, `<end>`=3, then words by frequency.

    The size limit counts the special tokens, so `size` equals the model's output layer width.
    """

    def __init__(self, words: Sequence[str]) -> None:
        if tuple(words[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"a vocabulary must start with {list(SPECIALS)}")
        if len(set(words)) != len(words):
            raise ValueError("a vocabulary must not repeat words")
        self.words: list[str] = list(words)
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(
        cls, captions: Iterable[str], max_size: int | None = None, min_count: int = 1
    ) -> Vocabulary:
        """Build from cleaned (or raw) captions; ties in frequency break alphabetically (stable)."""
        counts: Counter[str] = Counter()
        for caption in captions:
            counts.update(tokenize(caption))
        return cls.from_counts(counts, max_size, min_count)

    @classmethod
    def from_counts(
        cls, counts: Counter[str], max_size: int | None = None, min_count: int = 1
    ) -> Vocabulary:
        """Build from word counts gathered elsewhere (the model stage's streaming pass)."""
        if max_size is not None and max_size < len(SPECIALS) + 1:
            raise ValueError(f"vocab_size must be at least {len(SPECIALS) + 1}")
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_count and w not in SPECIALS),
            key=lambda w: (-counts[w], w),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(SPECIALS)]
        return cls([*SPECIALS, *ranked])

    @property
    def size(self) -> int:
        return len(self.words)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def unk_id(self) -> int:
        return self.index[UNK]

    @property
    def start_id(self) -> int:
        return self.index[START]

    @property
    def end_id(self) -> int:
        return self.index[END]

    def encode(self, caption: str, add_bounds: bool = True) -> list[int]:
        """Token ids of a caption, unknown words as `<unk>`, wrapped in `<start>`/`<end>`."""
        ids = [self.index.get(w, self.unk_id) for w in tokenize(caption)]
        return [self.start_id, *ids, self.end_id] if add_bounds else ids

    def decode(self, ids: Iterable[int]) -> str:
        """Words of ids, stopping at `<end>`, skipping `<pad>`/`<start>`."""
        words: list[str] = []
        for i in ids:
            i = int(i)
            if i == self.end_id:
                break
            if i in (self.pad_id, self.start_id) or not 0 <= i < self.size:
                continue
            words.append(self.words[i])
        return " ".join(words)

    def to_json(self) -> dict[str, object]:
        return {"format": VOCAB_FORMAT, "version": VOCAB_VERSION, "words": self.words}

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(self.to_json(), ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        """Load `vocab.json`; a foreign or newer file is a clear error, not a silent mis-mapping."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read vocabulary {path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != VOCAB_FORMAT:
            raise ValueError(f"{path} is not a capstone vocabulary file")
        if data.get("version") != VOCAB_VERSION:
            raise ValueError(
                f"{path} has vocabulary format version {data.get('version')!r}; "
                f"this worker reads version {VOCAB_VERSION}"
            )
        words = data.get("words")
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{path}: 'words' must be a list of strings")
        return cls(words)
