"""Tests for slmmux_theory.closed.bounds: brute force over joint sequences and a Monte Carlo SLM-MUX."""

import doctest
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.closed import bounds as bounds_module
from slmmux_theory.closed.bounds import mode_correct_probability, mux_accuracy_bounds, top_count_law

UPPER_FIELDS = (
    "any_sample_correct",
    "any_mode_correct",
    "correct_under_some_tie_resolution",
    "upper",
)
LOWER_FIELDS = ("all_modes_correct", "correct_under_every_tie_resolution", "lower")


def brute_force(probs, k):
    """Exact bound quantities and exact SLM-MUX accuracies by summing over all joint sequences.

    Args:
      probs: shape [models, answers] for one question; last slot ⊥.

    Returns:
      dict of floats: the five bounds, and SLM-MUX accuracy under random, list-order and
      reverse-order cross-model ties (uniform ties inside a model).
    """
    probs = np.asarray(probs, dtype=float)
    num_models, num_answers = probs.shape
    totals = dict.fromkeys(
        [
            "any_sample_correct",
            "any_mode_correct",
            "all_modes_correct",
            "correct_under_every_tie_resolution",
            "correct_under_some_tie_resolution",
            "mux_random",
            "mux_order",
            "mux_reverse",
        ],
        0.0,
    )
    for joint in itertools.product(range(num_answers), repeat=num_models * k):
        prob = math.prod(probs[i // k, a] for i, a in enumerate(joint))
        if prob == 0.0:
            continue
        tops, top_sets, mode_correct = [], [], []
        for i in range(num_models):
            samples = joint[i * k : (i + 1) * k]
            counts = [samples.count(a) for a in range(num_answers - 1)]  # ⊥ never votes
            top = max(counts)
            top_set = {a for a, c in enumerate(counts) if c == top} if top > 0 else set()
            tops.append(top)
            top_sets.append(top_set)
            mode_correct.append(1.0 / len(top_set) if 0 in top_set else 0.0)
        best = max(tops)
        tied = [i for i in range(num_models) if tops[i] == best] if best > 0 else []
        totals["any_sample_correct"] += prob * (0 in joint)
        totals["any_mode_correct"] += prob * (1.0 - math.prod(1.0 - m for m in mode_correct))
        totals["all_modes_correct"] += prob * math.prod(mode_correct)
        totals["correct_under_every_tie_resolution"] += prob * (
            bool(tied) and all(top_sets[i] == {0} for i in tied)
        )
        totals["correct_under_some_tie_resolution"] += prob * any(0 in top_sets[i] for i in tied)
        if tied:
            totals["mux_random"] += prob * sum(mode_correct[i] for i in tied) / len(tied)
            totals["mux_order"] += prob * mode_correct[tied[0]]
            totals["mux_reverse"] += prob * mode_correct[tied[-1]]
    return totals


TINY_CASES = [
    ([[0.6, 0.2, 0.2, 0.0], [0.1, 0.9, 0.0, 0.0]], 3),
    ([[0.6, 0.2, 0.2, 0.0], [0.5, 0.5, 0.0, 0.0]], 3),
    ([[0.4, 0.3, 0.1, 0.2], [0.3, 0.5, 0.1, 0.1]], 2),
    ([[0.3, 0.3, 0.4], [0.5, 0.2, 0.3], [0.2, 0.6, 0.2]], 2),
    ([[0.5, 0.2, 0.3], [0.0, 0.0, 1.0]], 3),
]


@pytest.mark.parametrize("probs, k", TINY_CASES)
def test_bounds_match_brute_force_and_sandwich_exact(probs, k):
    expected = brute_force(probs, k)
    result = mux_accuracy_bounds(np.asarray(probs)[:, None, :], k)
    for field in (
        "any_sample_correct",
        "any_mode_correct",
        "all_modes_correct",
        "correct_under_every_tie_resolution",
        "correct_under_some_tie_resolution",
    ):
        assert float(getattr(result, field)[0]) == pytest.approx(expected[field], abs=1e-12), field
    for rule in ("mux_random", "mux_order", "mux_reverse"):
        assert float(result.lower[0]) <= expected[rule] + 1e-12
        assert expected[rule] <= float(result.upper[0]) + 1e-12


def test_spec_values_lie_inside_bounds():
    # METHODS §5.5: exact SLM-MUX 0.337296 (model 1 priority) and 0.080056 (model 2 priority);
    # 0.69 / 0.575 for the second pair.
    first = mux_accuracy_bounds([[[0.6, 0.2, 0.2, 0.0]], [[0.1, 0.9, 0.0, 0.0]]], 3)
    second = mux_accuracy_bounds([[[0.6, 0.2, 0.2, 0.0]], [[0.5, 0.5, 0.0, 0.0]]], 3)
    for bounds, values in ((first, (0.337296, 0.080056)), (second, (0.69, 0.575))):
        for value in values:
            assert float(bounds.lower[0]) <= value <= float(bounds.upper[0])
    np.testing.assert_allclose(first.mode_correct[:, 0], [0.696, 0.028], atol=1e-12)


def simulate_mux(probs, k, num_runs, rng, cross_model_tie="random"):
    """Monte Carlo SLM-MUX, independent of the package: per-question accuracy estimates.

    Each run draws k samples per model and question, takes each model's mode over valid slots
    with uniform random ties, and returns the mode of the model with the largest top count;
    cross-model ties go uniformly at random ("random") or to the earliest model ("order").
    An all-⊥ outcome abstains (wrong).

    Args:
      probs: shape [models, questions, answers], last slot ⊥.

    Returns:
      Accuracy per question, shape [questions].
    """
    num_models, num_questions, _ = probs.shape
    counts = rng.multinomial(k, probs, size=(num_runs, num_models, num_questions))  # [R, M, Q, A]
    voting = counts[..., :-1].astype(float)
    top = voting.max(axis=-1)  # [R, M, Q]
    # argmax of count + uniform jitter in [0, 1) picks uniformly among the tied top slots.
    mode = np.argmax(voting + rng.uniform(size=voting.shape), axis=-1)
    if cross_model_tie == "random":
        jitter = rng.uniform(size=top.shape)
    else:
        jitter = -np.arange(num_models)[None, :, None] / (num_models + 1.0)
    chosen = np.argmax(top + jitter, axis=1)  # [R, Q]
    chosen_mode = np.take_along_axis(mode, chosen[:, None, :], axis=1)[:, 0, :]
    abstain = top.max(axis=1) == 0
    return ((chosen_mode == 0) & ~abstain).mean(axis=0)


def random_distributions(rng, num_models, num_questions, num_answers):
    """Dirichlet laws with some concentration on one shared wrong slot and a little ⊥ mass."""
    alpha = np.ones(num_answers)
    alpha[-1] = 0.3
    probs = rng.dirichlet(alpha, size=(num_models, num_questions))
    peaked = rng.uniform(size=(num_models, num_questions)) < 0.4
    probs[peaked, 1] += 1.5
    return probs / probs.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("cross_model_tie", ["random", "order"])
def test_bounds_hold_against_monte_carlo(k, cross_model_tie):
    rng = np.random.default_rng(100 + k)
    probs = random_distributions(rng, 3, 8, 5)
    num_runs = 20_000
    estimate = simulate_mux(probs, k, num_runs, rng, cross_model_tie)
    standard_error = np.sqrt(np.maximum(estimate * (1 - estimate), 1.0 / num_runs) / num_runs)
    result = mux_accuracy_bounds(probs, k)
    for field in LOWER_FIELDS:
        assert np.all(np.asarray(getattr(result, field)) <= estimate + 4 * standard_error), field
    for field in UPPER_FIELDS:
        assert np.all(np.asarray(getattr(result, field)) >= estimate - 4 * standard_error), field


def test_simulation_agrees_with_brute_force():
    # The Monte Carlo reference itself is checked against exact enumeration on a tiny case.
    probs = np.asarray(TINY_CASES[2][0])
    exact = brute_force(probs, 2)
    rng = np.random.default_rng(7)
    num_runs = 40_000
    for rule, key in (("random", "mux_random"), ("order", "mux_order")):
        estimate = simulate_mux(probs[:, None, :], 2, num_runs, rng, rule)[0]
        standard_error = math.sqrt(exact[key] * (1 - exact[key]) / num_runs)
        assert abs(estimate - exact[key]) < 4 * standard_error, rule


@pytest.mark.parametrize("k", [3, 5])
def test_bounds_sandwich_the_exact_engine(k):
    # slmmux_theory.engines.exact computes SLM-MUX exactly by a different route (joint level laws);
    # the bounds must contain it for every cross-model rule and denominator "k".
    exact = pytest.importorskip("slmmux_theory.engines.exact")
    rules = pytest.importorskip("slmmux_theory.rules.base")
    rng = np.random.default_rng(200 + k)
    probs = random_distributions(rng, 4, 12, 5)
    result = mux_accuracy_bounds(probs, k)
    for cross_model_tie in ("model_order", "random"):
        config = rules.MuxConfig(cross_model_tie=cross_model_tie)
        for priority in (np.arange(4), np.arange(4)[::-1].copy()):
            value = np.asarray(exact.mux_accuracy_exact(probs, k, config=config, priority=priority))
            assert np.all(np.asarray(result.lower) <= value + 1e-12)
            assert np.all(value <= np.asarray(result.upper) + 1e-12)
    np.testing.assert_allclose(
        result.any_mode_correct, exact.oracle_accuracy_exact(probs, k, kind="any_mode"), atol=1e-12
    )
    np.testing.assert_allclose(
        result.any_sample_correct,
        exact.oracle_accuracy_exact(probs, k, kind="any_sample"),
        atol=1e-12,
    )


def test_bound_ordering_and_law_normalisation():
    rng = np.random.default_rng(5)
    probs = random_distributions(rng, 4, 10, 6)
    result = mux_accuracy_bounds(probs, 3)
    lower, upper = np.asarray(result.lower), np.asarray(result.upper)
    assert np.all(lower <= upper + 1e-12)
    assert np.all(
        np.asarray(result.any_mode_correct) <= np.asarray(result.any_sample_correct) + 1e-12
    )
    law = top_count_law(probs, 3)
    total = np.asarray(law.correct_unique + law.correct_tied + law.correct_absent).sum(axis=-1)
    np.testing.assert_allclose(total, 1.0, atol=1e-12)
    # Nothing is correct at top count 0 (all ⊥).
    np.testing.assert_array_equal(np.asarray(law.correct_unique)[..., 0], 0.0)
    np.testing.assert_array_equal(np.asarray(law.correct_tied)[..., 0], 0.0)


def test_single_model_bounds_are_its_plurality_accuracy():
    probs = np.array([[[0.4, 0.2, 0.2, 0.2, 0.0]]])
    result = mux_accuracy_bounds(probs, 5)
    assert float(result.any_mode_correct[0]) == pytest.approx(0.5094, abs=5e-5)
    assert float(result.all_modes_correct[0]) == pytest.approx(
        float(result.any_mode_correct[0]), abs=1e-14
    )


def test_jit_and_vmap_match():
    rng = np.random.default_rng(9)
    batch = np.stack([random_distributions(rng, 2, 3, 4) for _ in range(3)])  # [B, M, Q, A]
    direct = [mux_accuracy_bounds(p, 3) for p in batch]
    jitted = jax.jit(mux_accuracy_bounds, static_argnums=(1,))(jnp.asarray(batch[0]), 3)
    mapped = jax.vmap(lambda p: mux_accuracy_bounds(p, 3))(jnp.asarray(batch))
    for field in direct[0]._fields:
        np.testing.assert_array_equal(getattr(jitted, field), getattr(direct[0], field))
        np.testing.assert_allclose(
            getattr(mapped, field),
            np.stack([getattr(d, field) for d in direct]),
            atol=1e-15,
            rtol=0,
        )
    np.testing.assert_allclose(
        mode_correct_probability(batch[0], 3), direct[0].mode_correct, atol=1e-15
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: mux_accuracy_bounds([[[0.5, 0.6]]], 3), "sums to"),
        (lambda: mux_accuracy_bounds([[0.5, 0.5]], 3), "shape"),
        (lambda: mux_accuracy_bounds([[[0.5, 0.5]]], 0), "k must be at least 1"),
        (lambda: mux_accuracy_bounds([[[1.5, -0.5]]], 2), "negative"),
        (lambda: top_count_law([[[0.5, 0.5]]], 2.0), "k must be a Python int"),
    ],
)
def test_invalid_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_docstring_examples():
    result = doctest.testmod(bounds_module)
    assert result.attempted >= 4 and result.failed == 0
