"""Weighted majority votes: the MILP weights against a brute-force grid, the log-odds weights by
hand, and the selection under jit/vmap against its exact law with learned weights."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import multinomial_counts
from slmmux_theory.engines.montecarlo import monte_carlo_accuracy
from slmmux_theory.rules import RULES
from slmmux_theory.rules.learning import learn_context
from slmmux_theory.rules.rule import RuleContext
from slmmux_theory.rules.weighted_vote import weighted_vote_select
from slmmux_theory.rules.weighted_vote_log_odds import effective_wrong_answers, log_odds_weights
from slmmux_theory.rules.weighted_vote_milp import answer_shares, milp_weights, solved_problems
from tests.theory import reference_rules as ref


def _grid_best(shares, margin, step=0.01):
    """Most problems solved by any weight vector on a grid of the simplex (3 models)."""
    best = 0
    for w0 in np.arange(0, 1 + 1e-9, step):
        for w1 in np.arange(0, 1 - w0 + 1e-9, step):
            weights = np.array([w0, w1, max(0.0, 1 - w0 - w1)])
            best = max(best, int(solved_problems(shares, weights, margin).sum()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_milp_solves_as_many_problems_as_the_best_grid_point(seed):
    rng = np.random.default_rng(seed)
    samples = rng.choice(4, size=(3, 8, 6), p=[0.45, 0.3, 0.2, 0.05])
    shares = answer_shares(samples, 4)
    result = milp_weights(shares)
    assert result.optimal
    assert result.weights.min() >= 0 and abs(result.weights.sum() - 1) < 1e-9
    # The grid can only find what the MILP proves optimal; shares are multiples of 1/6, so
    # the 0.01 grid reaches the optimum's region.
    assert int(result.solved.sum()) == _grid_best(shares, 1e-3)
    np.testing.assert_array_equal(result.solved, solved_problems(shares, result.weights))


def test_log_odds_weights_by_hand():
    # p = 0.8 with 3 effective wrong answers: log(0.8 * 3 / 0.2) = log 12.
    assert log_odds_weights([0.8], [100], 3.0)[0] == pytest.approx(np.log(12.0))
    # A perfect model is clipped to 1 - 1/(2N) rather than an infinite weight.
    assert log_odds_weights([1.0], [10], 1.0)[0] == pytest.approx(np.log(0.95 / 0.05))
    # Worse than hitting one given wrong answer: weight 0.
    assert log_odds_weights([0.1], [10], 2.0)[0] == 0.0
    # Wrong samples 1,1,2 and 3,3 on two questions (slot 4 is ⊥): pairs 3 + 1, agreeing 1 + 1.
    samples = np.array([[[1, 1, 2, 0], [3, 3, 0, 4]]])
    assert effective_wrong_answers(samples, 5) == pytest.approx(4 / 2)


def test_learned_log_odds_context_matches_the_formula():
    samples = np.array([[[0, 0, 0, 1]], [[0, 1, 1, 2]]])  # slot 3 is ⊥
    context = learn_context("weighted-vote-log-odds", samples, 4, 2)
    wrong = effective_wrong_answers(samples, 4)
    np.testing.assert_allclose(context.model_weights,
                               log_odds_weights([0.75, 0.25], [4, 4], wrong))
    assert context.validation_accuracy == (0.75, 0.25)


def test_weighted_selection_under_jit_and_vmap_matches_a_loop():
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 4, size=(50, 3, 5))
    context = RuleContext(model_weights=[0.2, 1.3, 0.7])
    keys = jax.random.split(jax.random.PRNGKey(0), 50)
    batched = jax.jit(jax.vmap(lambda c, k: weighted_vote_select(c, None, k, context).answer))
    got = np.asarray(batched(jnp.asarray(counts), keys))
    for q in range(50):
        scores = np.array([0.2, 1.3, 0.7]) @ counts[q, :, :-1]
        if scores.max() == 0:
            assert got[q] == 4
        elif (scores == scores.max()).sum() == 1:
            assert got[q] == int(np.argmax(scores))


@pytest.mark.parametrize("name", ["weighted-vote-milp", "weighted-vote-log-odds"])
def test_exact_law_with_learned_weights_equals_brute_force_and_monte_carlo(name):
    probs = [[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.45, 0.15, 0.4]]
    weights = [0.5, 0.2, 0.3]
    context = RuleContext(model_weights=weights)
    rule = RULES[name]
    exact = rule.exact(multinomial_counts(np.array(probs)[:, None], 2), context)
    want, _ = ref.expectation(probs, 2, lambda seqs: ref.weighted_vote_correct(seqs, 2, weights))
    assert float(exact.per_question[0]) == pytest.approx(want, abs=1e-9)
    mc = monte_carlo_accuracy(jax.random.PRNGKey(1), name, np.array(probs)[:, None], 2, 4000,
                              model_weights=weights)
    assert abs(float(mc.accuracy) - want) < 4 * float(mc.standard_error)


def test_equal_weights_are_agent_forest():
    probs = np.random.default_rng(5).dirichlet(np.ones(4), size=(2, 3))
    forest = RULES["agent-forest"].exact(multinomial_counts(probs, 3), RuleContext())
    vote = RULES["weighted-vote-milp"].exact(multinomial_counts(probs, 3), RuleContext())
    np.testing.assert_allclose(vote.per_question, forest.per_question, atol=1e-12)
    assert list(itertools.chain(vote.expected_samples)) == [6.0] * 3
