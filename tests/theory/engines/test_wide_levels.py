"""Tests for slmmux_theory.engines.wide_levels: the slot-by-slot level laws against the
enumeration of every count vector (mux_levels of hypergeometric_counts / multinomial_counts) on
rows small enough to enumerate, and hand values."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts, multinomial_counts
from slmmux_theory.engines.levels import (
    MuxLevels,
    mux_accuracy_from_levels,
    mux_levels,
    mux_subset_accuracy,
)
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
    ours = hypergeometric_levels(counts, k)
    enumerated = mux_levels(hypergeometric_counts(counts, k))
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


def _literal_levels(pool, k):
    """Brute force: every k-subset of the recorded samples, its mode count and the chance
    (uniform ties) that the mode is slot 0; ⊥ (last slot) never a mode. Shape [2, k + 1]."""
    samples = np.repeat(np.arange(len(pool)), pool)
    out = np.zeros((2, k + 1))
    subsets = list(itertools.combinations(range(len(samples)), k))
    for subset in subsets:
        counts = np.bincount(samples[list(subset)], minlength=len(pool))[:-1]
        top = counts.max()
        tied = (counts == top) & (top > 0)
        out[0, top] += 1
        out[1, top] += tied[0] / max(tied.sum(), 1)
    return out / len(subsets)


@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_levels_equal_every_subset_of_the_samples(k):
    # Independent of any count law: list the k-subsets of 9 recorded samples themselves.
    pool = np.array([3, 2, 2, 1, 1])  # correct 3, wrong 2, 2, 1, ⊥ 1
    want = _literal_levels(pool, k)
    levels = hypergeometric_levels(pool[None, None], k)
    np.testing.assert_allclose(levels.level[0, 0], want[0], atol=1e-12)
    np.testing.assert_allclose(levels.level_correct[0, 0], want[1], atol=1e-12)


@pytest.mark.parametrize("k", [9, 16])
def test_a_wide_row_against_monte_carlo(k):
    # 80 recorded samples over 40 slots: no enumeration reaches this, simulation does.
    generator = np.random.default_rng(11)
    pool = generator.multinomial(80, generator.dirichlet(np.full(42, 0.4)))
    levels = hypergeometric_levels(pool[None, None], k)
    samples = np.repeat(np.arange(len(pool)), pool)
    draws = 40_000
    picks = np.argsort(generator.random((draws, len(samples))), axis=1)[:, :k]
    counts = np.zeros((draws, len(pool)), dtype=int)
    np.add.at(counts, (np.arange(draws)[:, None], samples[picks]), 1)
    valid = counts[:, :-1]
    top = valid.max(1)
    tied = (valid == top[:, None]) & (top[:, None] > 0)
    correct_share = tied[:, 0] / np.maximum(tied.sum(1), 1)
    for c in range(k + 1):
        for value, exact in (((top == c) * 1.0, levels.level[0, 0, c]),
                             ((top == c) * correct_share, levels.level_correct[0, 0, c])):
            error = max(value.std() / np.sqrt(draws), 1e-4)
            assert abs(value.mean() - exact) < 4 * error, (c, value.mean(), exact)


def test_wide_levels_under_jit_and_vmap():
    # The levels feed the jitted subset engine; vmapping the per-subset combination over
    # subsets gives the same accuracies.
    generator = np.random.default_rng(5)
    counts = generator.multinomial(80, generator.dirichlet(np.full(30, 0.3), size=(4, 7)))
    levels = hypergeometric_levels(counts, 9)
    subsets = np.array([[0, 1], [1, 3], [2, 3]])
    priority = np.array([2, 0, 3, 1])
    batched = mux_subset_accuracy(levels, subsets, priority)

    def one(subset):
        return mux_accuracy_from_levels(
            MuxLevels(jnp.asarray(levels.level)[subset],
                      jnp.asarray(levels.level_correct)[subset]),
            jnp.asarray(priority)[subset], "validation_accuracy")

    np.testing.assert_allclose(jax.jit(jax.vmap(one))(jnp.asarray(subsets)), batched,
                               atol=1e-12)
    loops = [[float(mux_accuracy_from_levels(
        MuxLevels(levels.level[list(s), q:q + 1], levels.level_correct[list(s), q:q + 1]),
        priority[list(s)], "validation_accuracy")[0]) for q in range(7)] for s in subsets]
    np.testing.assert_allclose(batched, loops, atol=1e-12)


def test_replay_levels_are_the_pass_over_slots_and_equal_the_enumeration():
    # replay_levels (what the plan calls) equals the enumerated count laws where they run.
    counts = _random_counts(4, answers=7)
    for hypergeometric in (True, False):
        array = counts if hypergeometric else counts / counts.sum(-1, keepdims=True)
        law = hypergeometric_counts if hypergeometric else multinomial_counts
        ours, enumerated = replay_levels(array, 4, hypergeometric), mux_levels(law(array, 4))
        np.testing.assert_allclose(ours.level, enumerated.level, atol=1e-12)
        np.testing.assert_allclose(ours.level_correct, enumerated.level_correct, atol=1e-12)
