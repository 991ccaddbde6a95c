"""Corpus BLEU against values computed by hand (no TensorFlow)."""

from __future__ import annotations

import math

import pytest

from workers.captioning.bleu import bleu_1_to_4, corpus_bleu


def toks(text: str) -> list[str]:
    return text.split()


CAT_HYP = toks("the cat sat on the mat")
CAT_REF = toks("the cat is on the mat")
# p1 = 5/6, p2 = 3/5, p3 = 1/4, p4 = 0/3, equal lengths so BP = 1.


@pytest.mark.parametrize(
    ("hyps", "refs", "max_n", "smooth", "expected"),
    [
        ([CAT_HYP], [[CAT_REF]], 1, False, 5 / 6),
        ([CAT_HYP], [[CAT_REF]], 2, False, math.sqrt(5 / 6 * 3 / 5)),
        ([CAT_HYP], [[CAT_REF]], 3, False, 0.5),
        ([CAT_HYP], [[CAT_REF]], 4, False, 0.0),
        # smoothing 2: p_n = (m+1)/(t+1) for n > 1 -> 5/6 * 4/6 * 2/5 * 1/4 = 1/18
        ([CAT_HYP], [[CAT_REF]], 4, True, (1 / 18) ** 0.25),
        # clipping: "the" counts at most once (its count in the reference)
        ([toks("the the the the")], [[toks("the cat")]], 1, False, 0.25),
        # brevity penalty exp(1 - r/c) with r=4, c=2
        ([toks("the cat")], [[toks("the cat sat on")]], 1, False, math.exp(-1)),
        # closest reference length, shorter on ties (2 and 4 around 3 -> 2, so BP = 1)
        ([toks("a b c")], [[toks("a b"), toks("a b c d")]], 1, False, 1.0),
        # clip against the max count over references: "the" twice in the second reference
        ([toks("the the cat")], [[toks("the cat"), toks("the the dog")]], 1, False, 1.0),
        # corpus pooling: (2 + 0) / (2 + 4), not the mean of sentence scores (0.5)
        ([toks("a b"), toks("c d e f")], [[toks("a b")], [toks("x y z w")]], 1, False, 2 / 6),
        # empty hypothesis corpus scores zero
        ([[]], [[toks("a b")]], 1, False, 0.0),
    ],
)
def test_corpus_bleu_hand_computed(
    hyps: list[list[str]], refs: list[list[list[str]]], max_n: int, smooth: bool, expected: float
) -> None:
    assert corpus_bleu(hyps, refs, max_n=max_n, smooth=smooth) == pytest.approx(expected)


def test_perfect_match_is_one_for_every_order() -> None:
    hyp = toks("a red circle on the left")
    assert bleu_1_to_4([hyp], [[hyp]]) == pytest.approx(
        {"bleu1": 1.0, "bleu2": 1.0, "bleu3": 1.0, "bleu4": 1.0}
    )


def test_bleu_1_to_4_matches_corpus_bleu() -> None:
    scores = bleu_1_to_4([CAT_HYP], [[CAT_REF]])
    assert scores["bleu3"] == pytest.approx(0.5)
    assert scores["bleu4"] == 0.0


@pytest.mark.parametrize(
    ("hyps", "refs", "max_n"),
    [([CAT_HYP], [], 4), ([CAT_HYP], [[]], 4), ([CAT_HYP], [[CAT_REF]], 0)],
)
def test_bad_arguments_raise(
    hyps: list[list[str]], refs: list[list[list[str]]], max_n: int
) -> None:
    with pytest.raises(ValueError):
        corpus_bleu(hyps, refs, max_n=max_n)
