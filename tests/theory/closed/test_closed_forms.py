"""Tests for slmmux_theory.closed.closed_forms: spec values, brute force over sequences, jit/vmap."""

import doctest
import itertools
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.closed import closed_forms
from slmmux_theory.closed.closed_forms import (
    TIE_CONVENTIONS,
    agent_forest_binary_approximation,
    binomial_majority_accuracy,
    dataset_accuracy_per_question,
    dispersed_plurality_accuracy,
    multinomial_count_vectors,
    mux_binary_approximation,
    plurality_accuracy,
    poisson_binomial_pmf,
    pooled_vote_binary_accuracy,
    pooled_vote_count_moments,
    voting_helps,
    voting_helps_threshold,
)

# One grid shape everywhere: each (N, tie, shape) is one XLA compilation, the main test cost.
GRID = np.linspace(0.0, 1.0, 101)
INTERIOR = (GRID > 0) & (GRID < 1) & (GRID != 0.5)
TIE_VALUE = {"counted": 1.0, "strict": 0.0, "coin": 0.5}


def brute_majority(num_samples, p, tie):
    """Sum over all 2^N sample sequences (1 = correct)."""
    total = 0.0
    for sequence in itertools.product((0, 1), repeat=num_samples):
        correct = sum(sequence)
        prob = p**correct * (1 - p) ** (num_samples - correct)
        if 2 * correct > num_samples:
            total += prob
        elif 2 * correct == num_samples:
            total += TIE_VALUE[tie] * prob
    return total


def brute_plurality(probs, num_samples, abstention_slot=False, dispersed_slot=None):
    """Sum over all L^N sequences; the dispersed slot's draws are distinct new answers."""
    num_answers = len(probs)
    voting = num_answers - 1 if abstention_slot else num_answers
    total = 0.0
    for sequence in itertools.product(range(num_answers), repeat=num_samples):
        prob = math.prod(probs[a] for a in sequence)
        if prob == 0.0:
            continue
        labels = []
        for position, a in enumerate(sequence):
            if a >= voting:
                continue  # abstention never votes
            labels.append(("new", position) if a == dispersed_slot else a)
        if not labels:
            continue
        counts = {label: labels.count(label) for label in set(labels)}
        top = max(counts.values())
        winners = [label for label, c in counts.items() if c == top]
        if 0 in winners:
            total += prob / len(winners)
    return total


@pytest.mark.parametrize(
    "num_samples, p, tie, expected, tolerance",
    [
        (3, 0.6, "counted", 0.648, 1e-12),
        (3, 0.7, "counted", 0.784, 1e-12),
        (5, 0.6, "counted", 0.6826, 5e-5),
        (5, 0.7, "counted", 0.8369, 5e-5),
        (9, 0.6, "counted", 0.7334, 5e-5),
        (9, 0.7, "counted", 0.9012, 5e-5),
        (2, 0.3, "counted", 0.51, 1e-12),
        (4, 0.3, "counted", 0.3483, 1e-12),
        (2, 0.3, "strict", 0.09, 1e-12),
        (4, 0.3, "strict", 0.0837, 1e-12),
        (2, 0.3, "coin", 0.3, 1e-12),
        (4, 0.3, "coin", 0.216, 1e-12),
    ],
)
def test_majority_reference_values(num_samples, p, tie, expected, tolerance):
    assert float(binomial_majority_accuracy(num_samples, p, tie)) == pytest.approx(
        expected, abs=tolerance
    )


def test_majority_three_samples_is_the_cubic():
    p = GRID
    np.testing.assert_allclose(binomial_majority_accuracy(3, p), 3 * p**2 - 2 * p**3, atol=1e-14)


@pytest.mark.parametrize("tie", TIE_CONVENTIONS)
@pytest.mark.parametrize("num_samples", range(1, 9))
def test_majority_matches_brute_force(num_samples, tie):
    got = np.asarray(binomial_majority_accuracy(num_samples, GRID, tie))
    expected = [brute_majority(num_samples, p, tie) for p in GRID]
    np.testing.assert_allclose(got, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("m", range(1, 7))
def test_coin_identity(m):
    np.testing.assert_allclose(
        binomial_majority_accuracy(2 * m, GRID, "coin"),
        binomial_majority_accuracy(2 * m - 1, GRID),
        atol=1e-13,
    )


@pytest.mark.parametrize("num_samples", [1, 3, 5, 7, 11])
def test_odd_conventions_coincide(num_samples):
    values = [
        np.asarray(binomial_majority_accuracy(num_samples, GRID, tie)) for tie in TIE_CONVENTIONS
    ]
    np.testing.assert_allclose(values[0], values[1], atol=1e-14)
    np.testing.assert_allclose(values[0], values[2], atol=1e-14)


def test_majority_jit_and_vmap_match():
    jitted = jax.jit(binomial_majority_accuracy, static_argnums=(0, 2))
    mapped = jax.vmap(lambda p: binomial_majority_accuracy(6, p, "coin"))
    direct = binomial_majority_accuracy(6, GRID, "coin")
    np.testing.assert_array_equal(jitted(6, jnp.asarray(GRID), "coin"), direct)
    np.testing.assert_allclose(mapped(jnp.asarray(GRID)), direct, atol=1e-15, rtol=0)
    assert jnp.shape(binomial_majority_accuracy(3, 0.5)) == ()
    assert binomial_majority_accuracy(3, np.full((2, 3), 0.5)).shape == (2, 3)


@pytest.mark.parametrize("num_samples", [3, 5, 7, 9, 13])
@pytest.mark.parametrize("tie", TIE_CONVENTIONS)
def test_corrected_claim_odd(num_samples, tie):
    helps = np.asarray(voting_helps(num_samples, GRID, tie))
    np.testing.assert_array_equal(helps[INTERIOR], GRID[INTERIOR] > 0.5)


@pytest.mark.parametrize("num_samples", [3, 4, 6, 8, 10, 12])
def test_corrected_claim_coin(num_samples):
    helps = np.asarray(voting_helps(num_samples, GRID, "coin"))
    np.testing.assert_array_equal(helps[INTERIOR], GRID[INTERIOR] > 0.5)


def test_paper_claim_fails_for_even_counted():
    # METHODS §5.2 item 1: A(N, p) > p with p < 1/2 for every even N under the paper's formula.
    for num_samples in (2, 4, 10, 200):
        assert bool(voting_helps(num_samples, 0.499)), num_samples
    assert bool(voting_helps(2, 0.3)) and bool(voting_helps(4, 0.3))
    assert not bool(voting_helps(4, 0.3, "strict")) and not bool(voting_helps(4, 0.3, "coin"))


def test_two_samples_with_coin_equal_one_sample():
    np.testing.assert_allclose(binomial_majority_accuracy(2, GRID, "coin"), GRID, atol=1e-15)
    assert not np.any(np.asarray(voting_helps(1, GRID)))


@pytest.mark.parametrize("tie", TIE_CONVENTIONS)
@pytest.mark.parametrize("num_samples", range(1, 13))
def test_threshold_statement_on_grid(num_samples, tie):
    threshold = voting_helps_threshold(num_samples, tie)
    accuracy = np.asarray(binomial_majority_accuracy(num_samples, GRID, tie))
    if (num_samples == 1) or (num_samples == 2 and tie == "coin"):
        # A = p identically: nothing to compare but the identity itself.
        np.testing.assert_allclose(accuracy, GRID, atol=1e-15)
        assert threshold == 1.0
        return
    checked = (GRID > 0) & (GRID < 1) & (np.abs(GRID - threshold) > 1e-6)
    helps = np.asarray(voting_helps(num_samples, GRID, tie))
    np.testing.assert_array_equal(helps[checked], GRID[checked] > threshold)
    if 0 < threshold < 1:
        # The threshold is a root of the gain, not just a point between two grid values.
        assert float(binomial_majority_accuracy(num_samples, threshold, tie)) == pytest.approx(
            threshold, abs=1e-12
        )
    if tie != "coin" and num_samples % 2 == 0 and num_samples >= 4:
        assert (threshold < 0.5) if tie == "counted" else (threshold > 0.5)


def test_threshold_of_four_samples_is_the_quadratic_root():
    # A(4, p) - p = p (p - 1)(3p^2 - 5p + 1): root (5 - sqrt 13) / 6 (hand algebra).
    assert voting_helps_threshold(4, "counted") == pytest.approx((5 - math.sqrt(13)) / 6, abs=1e-12)
    assert voting_helps_threshold(4, "strict") == pytest.approx((1 + math.sqrt(13)) / 6, abs=1e-12)


@pytest.mark.parametrize(
    "probs, num_samples, expected",
    [
        ((0.4, 0.2, 0.2, 0.2), 5, 0.5094),
        ((0.4, 0.2, 0.2, 0.2), 9, 0.5986),
        ((0.3,) + (0.1,) * 7, 9, 0.547),
        ((0.4, 0.6), 9, 0.2666),
        ((0.6, 0.2, 0.2), 3, 0.696),
        ((0.1, 0.9), 3, 0.028),
    ],
)
def test_plurality_reference_values(probs, num_samples, expected):
    decimals = len(str(expected).split(".")[1])
    assert float(plurality_accuracy(probs, num_samples)) == pytest.approx(
        expected, abs=0.5 * 10**-decimals
    )


@pytest.mark.parametrize(
    "probs, num_samples, abstention",
    [
        ((0.5, 0.3, 0.2), 4, False),
        ((0.2, 0.3, 0.5), 5, False),
        ((0.3, 0.3, 0.4), 6, False),
        ((0.4, 0.25, 0.35), 5, True),
        ((0.1, 0.2, 0.3, 0.4), 4, True),
        ((0.25, 0.25, 0.25, 0.25), 5, False),
        ((0.0, 0.5, 0.5), 3, False),
        ((1.0, 0.0, 0.0), 3, True),
    ],
)
def test_plurality_matches_brute_force(probs, num_samples, abstention):
    got = float(plurality_accuracy(probs, num_samples, abstention_slot=abstention))
    assert got == pytest.approx(brute_plurality(probs, num_samples, abstention), abs=1e-12)


def test_two_label_plurality_is_coin_majority():
    for num_samples in (1, 2, 3, 4, 7):
        got = jax.vmap(lambda p, n=num_samples: plurality_accuracy(jnp.stack([p, 1 - p]), n))(
            jnp.asarray(GRID)
        )
        np.testing.assert_allclose(
            got, binomial_majority_accuracy(num_samples, GRID, "coin"), atol=1e-13
        )


def test_plurality_batch_jit_vmap_agree():
    rng = np.random.default_rng(0)
    batch = rng.dirichlet(np.ones(5), size=7)
    direct = plurality_accuracy(batch, 4)
    looped = np.array([float(plurality_accuracy(row, 4)) for row in batch])
    jitted = jax.jit(plurality_accuracy, static_argnums=(1,))(jnp.asarray(batch), 4)
    mapped = jax.vmap(lambda q: plurality_accuracy(q, 4))(jnp.asarray(batch))
    np.testing.assert_allclose(direct, looped, atol=1e-15)
    np.testing.assert_array_equal(jitted, direct)
    np.testing.assert_allclose(mapped, direct, atol=1e-15)


def test_count_vectors_are_all_compositions():
    vectors = multinomial_count_vectors(4, 3)
    assert vectors.shape == (math.comb(6, 2), 3)
    assert set(map(tuple, vectors)) == {
        c for c in itertools.product(range(5), repeat=3) if sum(c) == 4
    }


@pytest.mark.parametrize(
    "p_correct, shared, dispersed, abstention, num_samples",
    [
        (0.3, (0.2,), 0.5, None, 4),
        (0.2, (), 0.8, None, 3),
        (0.35, (0.15, 0.1), 0.4, None, 4),
        (0.3, (0.2,), 0.3, 0.2, 4),
        (0.25, (0.25,), 0.5, None, 5),
    ],
)
def test_dispersed_matches_brute_force(p_correct, shared, dispersed, abstention, num_samples):
    probs = [p_correct, *shared, dispersed] + ([abstention] if abstention is not None else [])
    expected = brute_plurality(
        probs, num_samples, abstention_slot=abstention is not None, dispersed_slot=1 + len(shared)
    )
    got = dispersed_plurality_accuracy(
        p_correct, shared, dispersed, num_samples, abstention_mass=abstention
    )
    assert float(got) == pytest.approx(expected, abs=1e-12)


def test_dispersed_without_singletons_is_plurality():
    got = dispersed_plurality_accuracy(0.4, [0.2, 0.2, 0.2], 0.0, 9)
    assert float(got) == pytest.approx(
        float(plurality_accuracy([0.4, 0.2, 0.2, 0.2], 9)), abs=1e-14
    )


def test_dispersed_errors_help_plurality():
    # Spreading the same error mass into singletons can only help the correct answer.
    concentrated = float(plurality_accuracy([0.3, 0.7], 5))
    dispersed = float(dispersed_plurality_accuracy(0.3, [], 0.7, 5))
    assert dispersed > concentrated + 0.3


def brute_pooled(p_per_model, k, tie):
    total = 0.0
    flat = [p for p in p_per_model for _ in range(k)]
    for sequence in itertools.product((0, 1), repeat=len(flat)):
        prob = math.prod(p if s else 1 - p for p, s in zip(flat, sequence))
        correct = sum(sequence)
        if 2 * correct > len(flat):
            total += prob
        elif 2 * correct == len(flat):
            total += TIE_VALUE[tie] * prob
    return total


@pytest.mark.parametrize("tie", TIE_CONVENTIONS)
@pytest.mark.parametrize(
    "p_per_model, k", [((0.9, 0.3), 3), ((0.7, 0.2, 0.55), 2), ((0.5,), 5), ((0.1, 1.0), 4)]
)
def test_pooled_vote_matches_brute_force(p_per_model, k, tie):
    got = float(pooled_vote_binary_accuracy(p_per_model, k, tie))
    assert got == pytest.approx(brute_pooled(p_per_model, k, tie), abs=1e-12)


def test_pooled_vote_equals_binomial_for_equal_models():
    got = pooled_vote_binary_accuracy(np.full((3,), 0.62), 3)
    assert float(got) == pytest.approx(float(binomial_majority_accuracy(9, 0.62)), abs=1e-13)
    assert float(got) == pytest.approx(
        float(agent_forest_binary_approximation([0.62] * 3, 3)), abs=1e-13
    )


def test_pooled_vote_differs_from_paper_approximation():
    exact = float(pooled_vote_binary_accuracy([0.9, 0.3], 3))
    approximation = float(agent_forest_binary_approximation([0.9, 0.3], 3))
    assert approximation == pytest.approx(float(binomial_majority_accuracy(6, 0.6)), abs=1e-14)
    assert abs(exact - approximation) > 1e-3


def test_poisson_binomial_pmf_and_moments():
    p = np.array([0.9, 0.3, 0.55, 0.2])
    k = 3
    pmf = np.asarray(poisson_binomial_pmf(p, k))
    support = np.arange(pmf.size)
    brute = np.zeros(pmf.size)
    for sequence in itertools.product((0, 1), repeat=p.size * k):
        brute[sum(sequence)] += math.prod(
            q if s else 1 - q for q, s in zip(np.repeat(p, k), sequence)
        )
    np.testing.assert_allclose(pmf, brute, atol=1e-13)
    moments = pooled_vote_count_moments(p, k)
    mean = (support * pmf).sum()
    variance = ((support - mean) ** 2 * pmf).sum()
    assert float(moments.mean) == pytest.approx(mean, abs=1e-12)
    assert float(moments.variance) == pytest.approx(variance, abs=1e-12)
    assert float(moments.variance_identity) == pytest.approx(variance, abs=1e-12)
    assert float(moments.binomial_variance) > variance + 0.1


def test_moments_identity_batched_and_equal_case():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(20, 4))
    moments = pooled_vote_count_moments(p, 5)
    np.testing.assert_allclose(moments.variance, moments.variance_identity, atol=1e-12)
    assert np.all(np.asarray(moments.binomial_variance) >= np.asarray(moments.variance) - 1e-12)
    equal = pooled_vote_count_moments([0.3, 0.3, 0.3], 2)
    assert float(equal.binomial_variance) == pytest.approx(float(equal.variance), abs=1e-14)


def test_pooled_vote_jit_vmap():
    rng = np.random.default_rng(2)
    p = rng.uniform(size=(6, 3))
    direct = pooled_vote_binary_accuracy(p, 3)
    jitted = jax.jit(pooled_vote_binary_accuracy, static_argnums=(1, 2))(
        jnp.asarray(p), 3, "counted"
    )
    mapped = jax.vmap(lambda row: pooled_vote_binary_accuracy(row, 3))(jnp.asarray(p))
    np.testing.assert_array_equal(jitted, direct)
    np.testing.assert_allclose(mapped, direct, atol=1e-15)
    np.testing.assert_allclose(direct, [brute_pooled(row, 3, "counted") for row in p], atol=1e-12)


def test_dataset_level_example():
    result = dataset_accuracy_per_question(3, [0.9, 0.3])
    assert float(result.per_question) == pytest.approx(0.594, abs=1e-12)
    assert float(result.plug_in) == pytest.approx(0.648, abs=1e-12)
    weighted = dataset_accuracy_per_question(3, [0.9, 0.3, 0.3], weights=[2, 1, 1])
    assert float(weighted.per_question) == pytest.approx(0.594, abs=1e-12)


def test_paper_approximations():
    p = [0.6, 0.45, 0.7]
    assert float(mux_binary_approximation(p, 5)) == pytest.approx(
        float(
            Fraction(
                sum(
                    math.comb(5, j) * Fraction(7, 10) ** j * Fraction(3, 10) ** (5 - j)
                    for j in (3, 4, 5)
                )
            )
        ),
        abs=1e-14,
    )
    assert float(agent_forest_binary_approximation(p, 3)) == pytest.approx(
        brute_majority(9, np.mean(p), "counted"), abs=1e-12
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: binomial_majority_accuracy(3, 1.5), "p must lie in"),
        (lambda: binomial_majority_accuracy(3, [0.2, -0.1]), "p must lie in"),
        (lambda: binomial_majority_accuracy(3, float("nan")), "p must be finite"),
        (lambda: binomial_majority_accuracy(0, 0.5), "num_samples must be at least 1"),
        (lambda: binomial_majority_accuracy(2.5, 0.5), "num_samples must be a Python int"),
        (lambda: binomial_majority_accuracy(True, 0.5), "num_samples must be a Python int"),
        (lambda: binomial_majority_accuracy(3, 0.5, "ties"), "tie must be one of"),
        (lambda: voting_helps_threshold(0), "num_samples must be at least 1"),
        (lambda: plurality_accuracy([0.5, 0.6], 3), "sum to 1"),
        (lambda: plurality_accuracy([0.5, 0.5], 0), "num_samples must be at least 1"),
        (lambda: plurality_accuracy([1.2, -0.2], 3), "must lie in"),
        (lambda: dispersed_plurality_accuracy(0.5, [0.3], 0.3, 3), "sum to 1"),
        (lambda: pooled_vote_binary_accuracy([0.5, 1.1], 3), "p_per_model must lie in"),
        (lambda: pooled_vote_binary_accuracy([0.5], 0), "k must be at least 1"),
        (lambda: pooled_vote_count_moments([0.5], -1), "k must be at least 1"),
        (lambda: dataset_accuracy_per_question(3, [0.2, 2.0]), "p_per_question must lie in"),
        (lambda: dataset_accuracy_per_question(3, [0.2, 0.3], weights=[1.0]), "weights must be"),
    ],
)
def test_invalid_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_docstring_examples():
    result = doctest.testmod(closed_forms, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0
