"""Two models' Agent Forest by a pass over slots against brute force and the kernel contraction."""

import itertools

import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts, multinomial_counts
from slmmux_theory.engines.pooled import pooled_vote_accuracy_batched
from slmmux_theory.rules.agent_forest import pooled_vote_accuracy_exact
from slmmux_theory.engines.wide_pooled import (
    hypergeometric_pooled_pairs,
    multinomial_pooled_pairs,
)


def _vote(sequence, answers, tie):
    """P(correct) of the plurality of an ordered sequence of slots; ⊥ (last) never votes."""
    valid = np.bincount(sequence, minlength=answers)[:-1]
    top = valid.max()
    if top == 0:
        return 0.0
    winners = np.flatnonzero(valid == top)
    if tie == "random":
        return float(0 in winners) / len(winners)
    return float(next(s for s in sequence if s in winners) == 0)


def _brute_hypergeometric(first, second, k, tie):
    """Mean over every ordered draw of k of each model's recorded samples (listed one by one)."""
    def draws(row):
        samples = np.repeat(np.arange(len(row)), row)
        return [list(samples[list(c)]) for c in itertools.permutations(range(len(samples)), k)]

    values = [_vote(a + b, len(first), tie) for a in draws(first) for b in draws(second)]
    return float(np.mean(values))


def _brute_multinomial(first, second, k, tie):
    """Sum over every ordered k-tuple of answers of each model, weighted by its probability."""
    slots = range(len(first))
    total = 0.0
    for xs in itertools.product(slots, repeat=k):
        for ys in itertools.product(slots, repeat=k):
            weight = np.prod(first[list(xs)]) * np.prod(second[list(ys)])
            if weight > 0:
                total += weight * _vote(list(xs) + list(ys), len(first), tie)
    return total


@pytest.mark.parametrize("tie", ["random", "first_seen"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_hypergeometric_matches_enumerating_every_draw(k, tie):
    rng = np.random.default_rng(k)
    for _ in range(6):
        answers = int(rng.integers(2, 6))
        first, second = rng.integers(0, 3, size=(2, answers))
        first[-1] += max(0, k - first.sum())  # every row holds at least k samples
        second[0] += 1
        second[-1] += max(0, k - second.sum())
        got = hypergeometric_pooled_pairs(first[None, None], second[None, None], k, tie)[0, 0]
        assert got == pytest.approx(_brute_hypergeometric(first, second, k, tie), abs=1e-12)


@pytest.mark.parametrize("tie", ["random", "first_seen"])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_multinomial_matches_enumerating_every_tuple(k, tie):
    rng = np.random.default_rng(10 + k)
    for _ in range(4):
        answers = int(rng.integers(2, 5))
        first, second = rng.dirichlet(np.full(answers, 0.7), size=2)
        first[1 % answers] = 0.0  # a slot a model never takes
        first /= first.sum()
        got = multinomial_pooled_pairs(first[None, None], second[None, None], k, tie)[0, 0]
        assert got == pytest.approx(_brute_multinomial(first, second, k, tie), abs=1e-12)


@pytest.mark.parametrize("k", [2, 5])
def test_equals_the_kernel_contraction_on_wider_cells(k):
    rng = np.random.default_rng(k)
    counts = rng.integers(0, 3, size=(2, 40, 7))
    counts[..., -1] += k
    kernel = pooled_vote_accuracy_batched(hypergeometric_counts(counts, k).probs[None], k, 7)[0]
    got = hypergeometric_pooled_pairs(counts[:1], counts[1:], k)[0]
    np.testing.assert_allclose(got, np.asarray(kernel), atol=1e-12)
    probs = counts / counts.sum(-1, keepdims=True)
    kernel = pooled_vote_accuracy_batched(multinomial_counts(probs, k).probs[None], k, 7)[0]
    np.testing.assert_allclose(multinomial_pooled_pairs(probs[:1], probs[1:], k)[0],
                               np.asarray(kernel), atol=1e-12)


@pytest.mark.parametrize("law", ["hypergeometric", "multinomial"])
def test_first_seen_equals_the_tuple_kernel(law):
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 3, size=(2, 30, 6))
    counts[..., -1] += 3
    if law == "hypergeometric":
        laws, got = hypergeometric_counts(counts, 3), hypergeometric_pooled_pairs(
            counts[:1], counts[1:], 3, "first_seen")[0]
    else:
        probs = counts / counts.sum(-1, keepdims=True)
        laws, got = multinomial_counts(probs, 3), multinomial_pooled_pairs(
            probs[:1], probs[1:], 3, "first_seen")[0]
    kernel = pooled_vote_accuracy_exact(laws, 3, tie="first_seen")
    np.testing.assert_allclose(got, np.asarray(kernel), atol=1e-12)


def test_rows_with_fewer_than_k_samples_are_refused():
    with pytest.raises(ValueError, match="at least k = 3"):
        hypergeometric_pooled_pairs(np.array([[[1, 1, 0]]]), np.array([[[3, 0, 0]]]), 3)
