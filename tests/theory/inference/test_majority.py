"""Tests of slmmux_theory.inference.majority: exact maj@k by generating functions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts, multinomial_counts
from slmmux_theory.inference import majority
from slmmux_theory.rules.self_consistency import self_consistency_accuracy_exact


def brute_force_multinomial(probs, k):
    """Enumerate every ordered sequence of k answers: the definition of maj@k."""
    total = 0.0
    for sequence in itertools.product(range(len(probs)), repeat=k):
        weight = math.prod(probs[a] for a in sequence)
        votes = np.bincount(sequence, minlength=len(probs))[:-1]  # ⊥ never votes
        if votes.max() > 0 and votes[0] == votes.max():
            total += weight / (votes == votes.max()).sum()
    return total


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_multinomial_matches_brute_force_with_ties_and_abstentions(k):
    probs = np.array([0.3, 0.25, 0.2, 0.1, 0.15])  # correct, three wrong, ⊥
    assert majority.multinomial_majority(probs, k) == pytest.approx(
        brute_force_multinomial(probs, k), abs=1e-13)


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_multinomial_and_hypergeometric_match_the_enumerating_engine(k):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(6, 0.6), size=(1, 25))
    expected = np.asarray(self_consistency_accuracy_exact(multinomial_counts(probs, k)))[0]
    np.testing.assert_allclose(majority.multinomial_majority(probs[0], k), expected, atol=1e-12)
    pools = rng.multinomial(12, probs[0])[None]
    expected = np.asarray(self_consistency_accuracy_exact(hypergeometric_counts(pools, k)))[0]
    np.testing.assert_allclose(majority.hypergeometric_majority(pools[0], k), expected,
                               atol=1e-12)


def test_hypergeometric_of_a_large_pool_tends_to_the_multinomial():
    # Drawing 9 of 10^5 recorded samples is nearly i.i.d. sampling.
    probs = np.array([0.4, 0.35, 0.15, 0.1])
    pool = np.round(probs * 100_000)
    assert majority.hypergeometric_majority(pool, 9) == pytest.approx(
        majority.multinomial_majority(probs, 9), abs=1e-3)


def test_dirichlet_law_is_the_mean_of_the_multinomial_law_over_draws():
    # Exact Dirichlet-multinomial maj@k against a Monte Carlo average over π, within 4 SE.
    rng = np.random.default_rng(1)
    alpha = np.array([0.8, 0.5, 0.3, 0.2])
    draws = rng.dirichlet(alpha, size=20_000)
    values = majority.multinomial_majority(draws, 7)
    error = values.std() / np.sqrt(values.size)
    assert abs(majority.dirichlet_majority(alpha, 7) - values.mean()) < 4 * error


def test_dirichlet_tree_equals_the_flat_dirichlet_when_consistent_and_monte_carlo_when_not():
    top = np.array([0.7, 0.9, 0.2])
    split = np.array([0.5, 0.3, 0.1])  # sums to the wrong mass 0.9: the tree is flat
    flat = np.array([0.7, 0.5, 0.3, 0.1, 0.2])
    for k in (1, 4, 9):
        assert majority.dirichlet_tree_majority(top, split, k) == pytest.approx(
            majority.dirichlet_majority(flat, k), abs=1e-12)
    rng = np.random.default_rng(2)
    wide = split * 5  # a split more even than the flat Dirichlet's
    outer = rng.dirichlet(top, size=20_000)
    inner = rng.dirichlet(wide, size=20_000)
    probs = np.concatenate([outer[:, :1], outer[:, 1:2] * inner, outer[:, 2:]], axis=1)
    values = majority.multinomial_majority(probs, 9)
    error = values.std() / np.sqrt(values.size)
    assert abs(majority.dirichlet_tree_majority(top, wide, 9) - values.mean()) < 4 * error


def test_large_k_and_many_slots_stay_probabilities_and_batch_shapes_are_kept():
    rng = np.random.default_rng(3)
    pools = rng.multinomial(80, rng.dirichlet(np.full(40, 0.3), size=(2, 3)))
    values = majority.hypergeometric_majority(pools, 25)
    assert values.shape == (2, 3)
    assert np.all((values >= 0) & (values <= 1 + 1e-12))
    # A pool that is all correct wins surely; all wrong never.
    sure = np.zeros(40)
    sure[0] = 80
    assert majority.hypergeometric_majority(sure, 25) == pytest.approx(1.0)
    assert majority.hypergeometric_majority(np.roll(sure, 1), 25) == 0.0


def non_correct_sequences(length, u, v, atoms, gamma):
    """Every ordered sequence of ``length`` non-correct samples with its probability.

    Sequential urns, the definition of the tree: wrong with probability (u + wrong so far) /
    (u + v + so far), else ⊥; a wrong sample joins atom j with weight atoms[j] + its count, a
    new answer (labelled in order of appearance) with weight γ, an earlier new one with its
    count. Yields (wrong counts per label, probability).
    """
    def extend(wrong, abstain, probability):
        done = sum(wrong) + abstain
        if done == length:
            yield wrong, probability
            return
        wrong_share = (u + sum(wrong)) / (u + v + done)
        if v > 0 or abstain > 0:
            yield from extend(wrong, abstain + 1, probability * (1 - wrong_share))
        weights = [a + c for a, c in zip(atoms, wrong)] + list(wrong[len(atoms):]) + [gamma]
        total = sum(atoms) + gamma + sum(wrong)
        for label, weight in enumerate(weights):
            if weight == 0:
                continue
            grown = list(wrong) + ([0] if label == len(wrong) else [])
            grown[label] += 1
            yield from extend(grown, abstain, probability * wrong_share * weight / total)

    yield from extend([0] * len(atoms), 0, 1.0)


def brute_force_tree(correct_law, u, v, atoms, gamma, k):
    total = 0.0
    for c in range(1, k + 1):
        for wrong, probability in non_correct_sequences(k - c, u, v, atoms, gamma):
            top = max(wrong, default=0)
            if c > top:
                total += correct_law[c] * probability
            elif c == top:
                total += correct_law[c] * probability / (1 + wrong.count(c))
    return total


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_tree_majority_matches_the_sequential_urns_with_any_correct_law(k):
    rng = np.random.default_rng(k)
    correct_law = rng.dirichlet(np.ones(k + 1))  # no structure at all: any law on 0..k
    for u, v, atoms, gamma in ((1.3, 0.4, [2.0, 1.0], 0.7), (0.8, 0.0, [1.0], 2.5),
                               (2.0, 1.0, [], 1.2)):
        expected = brute_force_tree(correct_law, u, v, atoms, gamma, k)
        value = majority.tree_majority(correct_law, np.array([u, v]),
                                       np.array(atoms or [0.0]), k, diffuse=gamma)
        assert value == pytest.approx(expected, abs=1e-12)


def test_tree_majority_keeps_batch_shapes_like_a_loop():
    # The NumPy analogue of vmap: a batch [3, 2] equals the loop over its entries.
    rng = np.random.default_rng(11)
    k = 7
    correct_law = rng.dirichlet(np.ones(k + 1), size=(3, 1))
    not_correct = rng.uniform(0.2, 2.0, size=(3, 2, 2))
    atoms = rng.uniform(0.0, 2.0, size=(1, 2, 4))
    gamma = rng.uniform(0.2, 3.0, size=(3, 2))
    batch = majority.tree_majority(correct_law, not_correct, atoms, k, gamma)
    assert batch.shape == (3, 2)
    for i, j in itertools.product(range(3), range(2)):
        assert batch[i, j] == pytest.approx(majority.tree_majority(
            correct_law[i, 0], not_correct[i, j], atoms[0, j], k, gamma[i, j]), abs=1e-14)


def test_tree_majority_rejects_a_correct_law_of_the_wrong_length():
    with pytest.raises(ValueError, match="k \\+ 1"):
        majority.tree_majority(np.ones(3) / 3, np.array([1.0, 1.0]), np.array([1.0]), 3)
