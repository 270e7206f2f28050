"""Bayes-factor stopping: the factor against hand-computed values, the stop along hand-made
sequences, the exact law (every order) against brute force with learned options, and the
random-order selection against the exact law by Monte Carlo."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts, multinomial_counts
from slmmux_theory.engines.montecarlo import monte_carlo_accuracy
from slmmux_theory.rules import RULES
from slmmux_theory.rules.bayes_stop import bayes_factor, bayes_factor_table, stop_on_sequence
from slmmux_theory.rules.bayes_stop_exact import bayes_factor_reference
from slmmux_theory.rules.rule import RuleContext
from tests.theory import reference_rules as ref

# (counts, unknown weight, factor by hand): P = P(Beta(a, b) > 1/2) for integer a, b is a
# binomial tail: I_{1/2}(a, b) = Σ_{j>=a} C(a+b-1, j) / 2^(a+b-1).
HAND = [
    ([1, 0], 0.0, 3.0),          # Beta(2, 1): P = 3/4
    ([2, 0], 0.0, 7.0),          # Beta(3, 1): P = 7/8
    ([2, 1], 0.0, 11 / 5),       # Beta(3, 2): I = 5/16, P = 11/16
    ([0, 3, 1], 0.0, 13 / 3),    # leader 3 (not slot 0), runner 1: Beta(4, 2), I = 6/32
    ([3, 3], 0.0, 1.0),          # a tie: even odds
    ([1, 0], 1.0, 1.0),          # one sample against an unseen bucket of weight 1: Beta(2, 2)
]


@pytest.mark.parametrize("counts, unknown, want", HAND)
def test_bayes_factor_by_hand(counts, unknown, want):
    assert float(bayes_factor(jnp.array(counts), unknown)) == pytest.approx(want, rel=1e-9)
    assert bayes_factor_reference(counts, unknown) == pytest.approx(want, rel=1e-9)
    top = sorted(counts, reverse=True)
    assert float(bayes_factor_table(6, unknown)[top[0], top[1]]) == pytest.approx(want, rel=1e-9)


def test_bayes_factor_matches_scipy_on_many_counts():
    rng = np.random.default_rng(0)
    for _ in range(30):
        counts = rng.integers(0, 12, size=4)
        got = float(bayes_factor(jnp.array(counts), 0.3))
        want = ref.stopping_factor({i: int(c) for i, c in enumerate(counts) if c}, 0.3)
        assert got == pytest.approx(want, rel=1e-8)


@pytest.mark.parametrize("sequence, threshold, answer, used", [
    ([1, 1, 0, 0], 5.0, 1, 2),      # BF(2, 0) = 7 >= 5 after two samples
    ([0, 1, 0, 0, 0], 5.0, 0, 5),   # BF 3, 1, 2.2, 13/3, then (4, 1): Beta(5, 2), 57/7
    ([0, 2, 1, 2], 5.0, 0, 4),      # never settled (2 is ⊥): a 0-1 tie at the cap
    ([2, 2, 0, 0], 5.0, 0, 4),      # ⊥ samples are spent but do not vote
    ([-1, 1, 1, -1], 5.0, 1, 3),    # missing samples are skipped
])
def test_stop_along_hand_made_sequences(sequence, threshold, answer, used):
    got_answer, got_used = stop_on_sequence(jnp.array(sequence), 3, threshold, 0.0,
                                            jax.random.PRNGKey(0))
    if sequence == [0, 2, 1, 2]:  # a 1-1 tie at the cap: either answer
        assert int(got_answer) in (0, 1)
    else:
        assert int(got_answer) == answer
    assert int(got_used) == used


def test_sequence_selection_charges_each_model_its_consumed_prefix():
    # Model 1 ranks first: its samples 1, 1 pass BF 7 >= 5 after two; model 0 is never drawn.
    context = RuleContext(priority=[1, 0], stop_threshold=5.0, stop_unknown_weight=0.0)
    samples = jnp.array([[0, 0, 0], [1, 1, 0]])
    out = RULES["bayes-stop-models"].select_sequence(samples, jax.random.PRNGKey(0), context, 3)
    assert int(out.answer) == 1 and out.samples_spent.tolist() == [0, 2]
    # Model 1 unsettled (1, 0, 0 → BF(2,1) = 2.2 < 5) hands over to model 0.
    samples = jnp.array([[0, 0, 0], [1, 0, 0]])
    out = RULES["bayes-stop-models"].select_sequence(samples, jax.random.PRNGKey(0), context, 3)
    # pooled (3, 1) after model 0's first: 13/3 < 5; (4, 1) after its second: 57/7 >= 5.
    assert int(out.answer) == 0 and out.samples_spent.tolist() == [2, 3]


OPTIONS = [(3.0, 0.0, [0, 1]), (5.0, 0.3, [1, 0]), (2.0, 0.3, [0, 1])]


@pytest.mark.parametrize("threshold, unknown, priority", OPTIONS)
@pytest.mark.parametrize("name", ["bayes-stop", "bayes-stop-models"])
def test_exact_law_equals_brute_force(name, threshold, unknown, priority):
    probs = [[0.5, 0.3, 0.2], [0.3, 0.5, 0.2]]
    context = RuleContext(priority=priority, stop_threshold=threshold, stop_unknown_weight=unknown)
    exact = RULES[name].exact(multinomial_counts(np.array(probs)[:, None], 3), context)
    want, spent = ref.expectation(probs, 3, lambda seqs: ref.bayes_stop_correct(
        seqs, 2, priority, threshold, unknown, first_only=name == "bayes-stop"))
    assert float(exact.per_question[0]) == pytest.approx(want, abs=1e-9)
    assert float(exact.expected_samples[0]) == pytest.approx(spent, abs=1e-9)


def test_exact_replay_equals_brute_force_over_ordered_draws():
    recorded = [[0, 0, 1, 2], [1, 1, 0, 0]]
    pool = np.array([[np.bincount(seq, minlength=3)] for seq in recorded])
    context = RuleContext(stop_threshold=3.0, stop_unknown_weight=0.0)
    exact = RULES["bayes-stop-models"].exact(hypergeometric_counts(pool, 2), context)
    want, spent = ref.replay_expectation(
        recorded, 2, lambda seqs: ref.bayes_stop_correct(seqs, 2, [0, 1], 3.0, 0.0))
    assert float(exact.per_question[0]) == pytest.approx(want, abs=1e-9)
    assert float(exact.expected_samples[0]) == pytest.approx(spent, abs=1e-9)


def test_random_order_selection_matches_the_exact_law():
    probs = np.random.default_rng(2).dirichlet(np.ones(4) * 0.7, size=(2, 4))
    options = dict(stop_threshold=5.0, priority=[1, 0])
    exact = RULES["bayes-stop-models"].exact(multinomial_counts(probs, 4), RuleContext(**options))
    mc = monte_carlo_accuracy(jax.random.PRNGKey(3), "bayes-stop-models", probs, 4, 3000, **options)
    assert abs(float(exact.accuracy) - float(mc.accuracy)) < 4 * float(mc.standard_error)
    np.testing.assert_allclose(mc.expected_samples, exact.expected_samples, atol=0.15)
