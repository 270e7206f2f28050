"""Tests for slmmux_theory.engines.wide_levels: the slot-by-slot level laws against the
enumeration of every count vector (replay_levels, mux_levels) on rows small enough to enumerate,
and hand values."""

from __future__ import annotations

import numpy as np
import pytest

from slmmux_theory.engines.counts import multinomial_counts
from slmmux_theory.engines.levels import mux_accuracy_from_levels, mux_levels
from slmmux_theory.engines.replay import replay_levels
from slmmux_theory.engines.wide_levels import hypergeometric_levels, multinomial_levels
from slmmux_theory.inference.majority import hypergeometric_majority


def _random_counts(seed, models=3, questions=6, answers=6, samples=12):
    generator = np.random.default_rng(seed)
    probs = generator.dirichlet(np.full(answers, 0.6), size=(models, questions))
    return np.stack([[generator.multinomial(samples, p) for p in row] for row in probs])


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1])
def test_hypergeometric_levels_match_the_enumeration(k, seed):
    counts = _random_counts(seed)
    ours, enumerated = hypergeometric_levels(counts, k), replay_levels(counts, k)
    np.testing.assert_allclose(ours.level, enumerated.level, atol=1e-12)
    np.testing.assert_allclose(ours.level_correct, enumerated.level_correct, atol=1e-12)


@pytest.mark.parametrize("k", [1, 3, 4])
def test_multinomial_levels_match_the_enumeration(k):
    generator = np.random.default_rng(3)
    probs = generator.dirichlet(np.full(5, 0.8), size=(2, 4))
    probs[0, 0, -1] = 0.0  # a row without ⊥ mass
    probs[0, 0] /= probs[0, 0].sum()
    ours, enumerated = multinomial_levels(probs, k), mux_levels(multinomial_counts(probs, k))
    np.testing.assert_allclose(ours.level, enumerated.level, atol=1e-12)
    np.testing.assert_allclose(ours.level_correct, enumerated.level_correct, atol=1e-12)


def test_hand_values():
    # 2 correct, 1 wrong, 1 ⊥ recorded; draw 2: C(4,2) = 6 pairs.
    # {c,c}: level 2 correct (1); {c,w}: level 1 tie, correct half (2 pairs); {c,⊥}: level 1
    # correct (2); {w,⊥}: level 1 wrong (1).
    levels = hypergeometric_levels(np.array([[[2, 1, 1]]]), 2)
    assert levels.level[0, 0].tolist() == pytest.approx([0.0, 5 / 6, 1 / 6])
    assert levels.level_correct[0, 0].tolist() == pytest.approx([0.0, (1 + 2) / 6, 1 / 6])


def test_a_wide_row_is_fast_and_a_law():
    # 60 distinct wrong answers, 80 samples, k = 9: about 10^11 count vectors to enumerate.
    counts = np.zeros((1, 1, 62), dtype=int)
    counts[0, 0, 0], counts[0, 0, 1:61], counts[0, 0, -1] = 15, 1, 5
    counts[0, 0, 1] = 1 + 80 - counts.sum()
    levels = hypergeometric_levels(counts, 9)
    assert levels.level.sum() == pytest.approx(1.0)
    assert np.all(levels.level_correct <= levels.level + 1e-15)
    accuracy = float(mux_accuracy_from_levels(levels, np.array([0]), "model_order")[0])
    assert 0.0 < accuracy < 1.0


@pytest.mark.parametrize("k", [3, 9, 25])
def test_the_levels_correct_mass_is_the_generating_function_majority(k):
    # Two independent routes to maj@k of a wide row: the level laws' correct mass (a pass over
    # slots) and the generating-function sum of inference.majority (no levels at all).
    generator = np.random.default_rng(k)
    counts = generator.multinomial(80, generator.dirichlet(np.full(40, 0.3), size=(2, 3)))
    levels = hypergeometric_levels(counts, k)
    np.testing.assert_allclose(levels.level_correct.sum(-1), hypergeometric_majority(counts, k),
                               atol=1e-12)


def test_too_few_samples_is_an_error():
    with pytest.raises(ValueError, match="at least k = 3"):
        hypergeometric_levels(np.array([[[1, 1, 0]]]), 3)
