"""Corpus BLEU-1..4 (Papineni et al. 2002), pure Python, offline.

Counts are pooled over the corpus before the precisions are taken (corpus BLEU, as
`nltk.translate.bleu_score.corpus_bleu` and pycocoevalcap do), the clipped count of an n-gram is
its maximum count in any single reference, and the brevity penalty uses, per hypothesis, the
reference length closest to the hypothesis length (shorter on ties).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

Tokens = Sequence[str]


def _ngrams(tokens: Tokens, n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _closest_ref_length(hyp_len: int, refs: Sequence[Tokens]) -> int:
    return min((abs(len(r) - hyp_len), len(r)) for r in refs)[1]


def corpus_bleu(
    hypotheses: Sequence[Tokens],
    references: Sequence[Sequence[Tokens]],
    max_n: int = 4,
    smooth: bool = False,
) -> float:
    """BLEU-`max_n` with uniform weights 1/max_n over n = 1..max_n.

    `references[i]` is the list of reference token lists for `hypotheses[i]`. With `smooth`,
    every precision gets +1 in numerator and denominator for n > 1 (Lin & Och 2004, "smoothing 2"
    of Chen & Cherry 2014), so a short corpus with no 4-gram match scores above zero.
    """
    if len(hypotheses) != len(references):
        raise ValueError("need one reference list per hypothesis")
    if max_n < 1:
        raise ValueError("max_n must be >= 1")
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references, strict=True):
        if not refs:
            raise ValueError("every hypothesis needs at least one reference")
        hyp_len += len(hyp)
        ref_len += _closest_ref_length(len(hyp), refs)
        for n in range(1, max_n + 1):
            hyp_counts = _ngrams(hyp, n)
            max_ref: Counter[tuple[str, ...]] = Counter()
            for ref in refs:
                max_ref |= _ngrams(ref, n)
            matches[n - 1] += sum(min(c, max_ref[g]) for g, c in hyp_counts.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    if hyp_len == 0:
        return 0.0
    log_precision = 0.0
    for n in range(max_n):
        num, den = matches[n], totals[n]
        if smooth and n > 0:
            num, den = num + 1, den + 1
        if num == 0 or den == 0:
            return 0.0
        log_precision += math.log(num / den) / max_n
    brevity = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return brevity * math.exp(log_precision)


def bleu_1_to_4(
    hypotheses: Sequence[Tokens], references: Sequence[Sequence[Tokens]], smooth: bool = False
) -> dict[str, float]:
    """`{"bleu1": .., "bleu2": .., "bleu3": .., "bleu4": ..}` for metrics.json."""
    return {
        f"bleu{n}": corpus_bleu(hypotheses, references, max_n=n, smooth=smooth) for n in range(1, 5)
    }
