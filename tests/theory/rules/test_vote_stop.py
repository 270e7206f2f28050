"""Weighted-vote stopping: the stop along hand-made sequences, the exact law (every order) against
brute force with learned weights and thresholds, the random-order selection and the subsample
replay of the drawn order against the exact law, and what ``learn`` picks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts, multinomial_counts
from slmmux_theory.engines.montecarlo import monte_carlo_accuracy
from slmmux_theory.engines.replay import sample_counts
from slmmux_theory.engines.subsample import subsample_replay
from slmmux_theory.rules import RULES
from slmmux_theory.rules.learning import learn_context
from slmmux_theory.rules.rule import RuleContext
from slmmux_theory.rules.vote_stop import VOTE_STOP_THRESHOLDS, weighted_stop_on_sequence
from slmmux_theory.rules.weighted_vote_log_odds import effective_wrong_answers, log_odds_weights
from tests.theory import reference_rules as ref


@pytest.mark.parametrize("sequence, weights, log_threshold, answer, used", [
    ([1, 1, 0, 0], [1, 1, 1, 1], 2.0, 1, 2),          # margin 1, then 2: stops at the second
    ([0, 1, 1, 1], [3, 1, 1, 1], 2.5, 0, 1),          # one heavy sample is enough: 3 >= 2.5
    ([0, 1, 1, 1], [2, 1, 1, 1], 2.5, 1, 4),          # 2, 1, 0, 1 < 2.5: plurality 3 to 2 at the cap
    ([2, 2, 1, 1], [9, 9, 1, 1], 1.5, 1, 4),          # ⊥ (slot 2) is spent but never votes
    ([-1, 0, -1, 0], [1, 1, 1, 1], 2.0, 0, 4),        # missing samples are skipped
])
def test_stop_along_hand_made_sequences(sequence, weights, log_threshold, answer, used):
    got_answer, got_used = weighted_stop_on_sequence(
        jnp.array(sequence), jnp.array(weights, dtype=float), 3, log_threshold,
        jax.random.PRNGKey(0))
    assert (int(got_answer), int(got_used)) == (answer, used)


def test_sequence_selection_charges_each_model_its_consumed_prefix():
    # Model 1 ranks first with weight 0.5: its three samples on answer 1 reach margin 1.5 < 2;
    # model 0 (weight 2) follows: its first sample makes 2 against 1.5 (margin 0.5), its
    # second 4 against 1.5 (margin 2.5 >= 2): stop, answer 0, model 0 charged two samples.
    context = RuleContext(priority=[1, 0], model_weights=[2.0, 0.5],
                          stop_threshold=float(np.exp(2.0)))
    samples = jnp.array([[0, 0, 1], [1, 1, 1]])
    out = RULES["vote-stop"].select_sequence(samples, jax.random.PRNGKey(0), context, 3)
    assert int(out.answer) == 0 and out.samples_spent.tolist() == [2, 3]


OPTIONS = [  # (weights, log threshold, priority)
    ([2.0, 0.7], 2.5, [0, 1]),
    ([0.4, 1.6], 3.0, [1, 0]),
    ([1.0, 1.0], 0.5, [0, 1]),
]


@pytest.mark.parametrize("weights, log_threshold, priority", OPTIONS)
def test_exact_law_equals_brute_force(weights, log_threshold, priority):
    probs = [[0.5, 0.3, 0.2], [0.3, 0.5, 0.2]]
    context = RuleContext(priority=priority, model_weights=weights,
                          stop_threshold=float(np.exp(log_threshold)))
    exact = RULES["vote-stop"].exact(multinomial_counts(np.array(probs)[:, None], 3), context)
    want, spent = ref.expectation(probs, 3, lambda seqs: ref.vote_stop_correct(
        seqs, 2, priority, float(np.exp(log_threshold)), weights))
    assert float(exact.per_question[0]) == pytest.approx(want, abs=1e-9)
    assert float(exact.expected_samples[0]) == pytest.approx(spent, abs=1e-9)


def test_exact_replay_equals_brute_force_over_ordered_draws():
    recorded = [[0, 0, 1, 2], [1, 1, 0, 0]]
    pool = np.array([[np.bincount(seq, minlength=3)] for seq in recorded])
    context = RuleContext(model_weights=[1.5, 0.8], stop_threshold=float(np.exp(2.0)))
    exact = RULES["vote-stop"].exact(hypergeometric_counts(pool, 3), context)
    want, spent = ref.replay_expectation(
        recorded, 3, lambda seqs: ref.vote_stop_correct(seqs, 2, [0, 1], float(np.exp(2.0)),
                                                        [1.5, 0.8]))
    assert float(exact.per_question[0]) == pytest.approx(want, abs=1e-9)
    assert float(exact.expected_samples[0]) == pytest.approx(spent, abs=1e-9)


def test_random_order_selection_matches_the_exact_law():
    probs = np.random.default_rng(2).dirichlet(np.ones(4) * 0.7, size=(2, 5))
    options = dict(stop_threshold=float(np.exp(2.2)), priority=[1, 0], model_weights=[1.3, 0.6])
    exact = RULES["vote-stop"].exact(multinomial_counts(probs, 4), RuleContext(**options))
    mc = monte_carlo_accuracy(jax.random.PRNGKey(3), "vote-stop", probs, 4, 3000, **options)
    assert abs(float(exact.accuracy) - float(mc.accuracy)) < 4 * float(mc.standard_error)
    np.testing.assert_allclose(mc.expected_samples, exact.expected_samples, atol=0.15)


def test_subsample_replay_of_the_drawn_order_matches_the_exact_replay():
    rng = np.random.default_rng(5)
    samples = rng.choice(4, size=(2, 6, 6), p=[0.45, 0.3, 0.15, 0.1])
    context = RuleContext(model_weights=[0.9, 1.4], stop_threshold=float(np.exp(1.9)),
                          validation_accuracy=[0.4, 0.6])
    draws = 1500
    got = subsample_replay(jax.random.PRNGKey(0), "vote-stop", samples, 4, 3, draws, context)
    want = RULES["vote-stop"].exact(hypergeometric_counts(sample_counts(samples, 4), 3), context)
    want_correct = np.asarray(want.per_question)
    error = np.sqrt(np.maximum(want_correct * (1 - want_correct), 1e-4) / draws)
    assert np.all(np.abs(got.correct - want_correct) < 4.5 * error + 1e-9)
    assert np.abs(got.samples_spent.sum(axis=0) - np.asarray(want.expected_samples)).max() < 0.2


def test_learn_sets_log_odds_weights_and_a_grid_threshold():
    rng = np.random.default_rng(0)
    # Model 0 is right 90 % of the time, model 1 half the time; wrong answers spread over 1..3.
    right = np.stack([rng.random((10, 8)) < 0.9, rng.random((10, 8)) < 0.5])
    samples = np.where(right, 0, rng.integers(1, 4, size=right.shape))
    context = learn_context("vote-stop", samples, 5, 4, jax.random.PRNGKey(0))
    recorded = np.full(2, 80)
    want = log_odds_weights((samples == 0).mean(axis=(1, 2)), recorded,
                            effective_wrong_answers(samples, 5))
    np.testing.assert_allclose(context.model_weights, want)
    assert context.model_weights[0] > context.model_weights[1]
    assert context.stop_threshold in VOTE_STOP_THRESHOLDS


def test_learn_takes_the_cheapest_threshold_when_every_one_is_as_good():
    # Every sample of every model right: every threshold scores 1.0, so the cheapest one wins.
    samples = np.zeros((2, 6, 5), dtype=int)
    context = learn_context("vote-stop", samples, 3, 4, jax.random.PRNGKey(1))
    assert context.stop_threshold == VOTE_STOP_THRESHOLDS[0]
