"""Replay by subsampling: against the exact (hypergeometric) replay within Monte Carlo error,
real tokens against their exact expectation and against a hand-made adaptive case, slot
relabelling, reproducibility from the key."""

import jax
import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts
from slmmux_theory.engines.crossfit import mean_tokens_per_sample
from slmmux_theory.engines.replay import exact_replay, sample_counts
from slmmux_theory.engines.subsample import compact_sample_slots, subsample_replay
from slmmux_theory.rules import RULES
from slmmux_theory.rules.rule import RuleContext


def _recorded(seed, models=2, questions=6, n=6, answers=4):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(answers) * 0.8, size=(models, questions))
    samples = np.stack([[rng.choice(answers, size=n, p=probs[m, q]) for q in range(questions)]
                        for m in range(models)])
    tokens = rng.integers(100, 2000, size=samples.shape).astype(float)
    return samples, tokens


@pytest.mark.parametrize("name, k", [
    pytest.param("slm-mux", 3, marks=pytest.mark.slow),
    pytest.param("agent-forest", 2, marks=pytest.mark.slow),
    pytest.param("model-switch", 3, marks=pytest.mark.slow),
    pytest.param("weighted-vote-log-odds", 2, marks=pytest.mark.slow),
    ("bayes-stop-models", 3),
])
def test_subsample_agrees_with_the_exact_replay(name, k):
    samples, tokens = _recorded(1)
    context = RuleContext(model_weights=[0.7, 0.4], stop_threshold=3.0,
                          validation_accuracy=[0.4, 0.6])
    draws = 1500
    got = subsample_replay(jax.random.PRNGKey(0), name, samples, 4, k, draws, context, tokens)
    want = RULES[name].exact(hypergeometric_counts(sample_counts(samples, 4), k), context)
    want_correct = np.asarray(want.per_question)
    # Per question: binomial standard error of the draws, 4.5 of them (6 questions).
    error = np.sqrt(np.maximum(want_correct * (1 - want_correct), 1e-4) / draws)
    assert np.all(np.abs(got.correct - want_correct) < 4.5 * error + 1e-9), (got.correct,
                                                                             want_correct)
    assert np.abs(got.samples_spent.sum(axis=0) - np.asarray(want.expected_samples)).max() < 0.2


def test_fixed_cost_tokens_have_their_exact_expectation():
    samples, tokens = _recorded(2)
    got = subsample_replay(jax.random.PRNGKey(1), "agent-forest", samples, 4, 3, 2000,
                           RuleContext(), tokens)
    want = 3 * mean_tokens_per_sample(tokens, samples).sum(axis=0)
    # k of n without replacement: sd of the sum of 3 of 6 tokens / sqrt(draws), generously.
    assert np.abs(got.tokens - want).max() < 4 * 1900 * np.sqrt(3) / np.sqrt(2000)
    np.testing.assert_allclose(got.samples_spent, 3.0)


def test_adaptive_rule_pays_for_its_consumed_prefix_only():
    # One model, every sample answer 1: a factor of 3 (u = 0) stops after 1 sample, so each draw
    # pays one random sample's tokens, whose mean is the row's mean.
    samples = np.ones((1, 1, 4), dtype=int)
    tokens = np.array([[[10.0, 20.0, 30.0, 40.0]]])
    context = RuleContext(stop_threshold=3.0, stop_unknown_weight=0.0)
    got = subsample_replay(jax.random.PRNGKey(2), "bayes-stop", samples, 3, 4, 400, context,
                           tokens)
    np.testing.assert_allclose(got.samples_spent, 1.0)
    assert abs(got.tokens[0] - 25.0) < 4 * np.std([10, 20, 30, 40]) / np.sqrt(400)
    # A threshold it never reaches: all four samples, all the tokens.
    never = subsample_replay(jax.random.PRNGKey(2), "bayes-stop", samples, 3, 4, 10,
                             RuleContext(stop_threshold=1e9), tokens)
    np.testing.assert_allclose(never.tokens, 100.0)
    np.testing.assert_allclose(never.correct, 0.0)


def test_first_model_rule_pays_for_the_first_model_only():
    samples, tokens = _recorded(3)
    got = subsample_replay(jax.random.PRNGKey(0), "self-consistency", samples, 4, 6, 3,
                           RuleContext(), tokens)
    np.testing.assert_allclose(got.tokens, tokens[0].sum(axis=1))
    np.testing.assert_allclose(got.samples_spent[1], 0.0)


def test_relabelling_and_padding_change_no_value():
    samples, tokens = _recorded(4, answers=6)
    compact, width = compact_sample_slots(samples, 6)
    assert width <= 6 and (compact[samples == 0] == 0).all() and (compact[samples == 5] == width - 1).all()
    key = jax.random.PRNGKey(5)
    plain = subsample_replay(key, "agent-forest", samples, 6, 2, 50, RuleContext(), tokens)
    padded = subsample_replay(key, "agent-forest", samples, 6, 2, 50, RuleContext(), tokens,
                              num_slots=40, pad_to=5)
    np.testing.assert_array_equal(plain.correct_draws, padded.correct_draws)
    np.testing.assert_allclose(plain.tokens, padded.tokens)
    again = subsample_replay(key, "agent-forest", samples, 6, 2, 50, RuleContext(), tokens)
    np.testing.assert_array_equal(plain.correct_draws, again.correct_draws)


def test_exact_replay_of_slm_mux_matches_the_engine_front_door():
    samples, _ = _recorded(6)
    counts = sample_counts(samples, 4)
    front = exact_replay(counts, "slm-mux", 2, validation=[0.4, 0.6]).correct
    direct = RULES["slm-mux"].exact(hypergeometric_counts(counts, 2),
                                    RuleContext(validation_accuracy=[0.4, 0.6])).per_question
    np.testing.assert_allclose(front, direct, atol=1e-12)
