"""Tests for the fast paths of the discussion prediction: the factored chain step, the blocked
and de-duplicated exact draws, the reused SVI fit and the vectorised standard errors.

Each fast path is checked against a plain reference written here: the transition matrix built
entry by entry, the exact accuracy of each question alone, a fresh fit, a loop over questions.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.discussion import fit as gf
from slmmux_theory.discussion import model as gt
from slmmux_theory.discussion import prediction as gp
from slmmux_theory.discussion.measures import groupthink_measures
from slmmux_theory.discussion.standard_errors import (
    clustered_standard_error,
    per_debate_standard_errors,
    ratio_standard_error,
)
from slmmux_theory.discussion.variants import VARIANTS, variant_options


def _random_probs(rng, rows, agents, answers):
    return rng.dirichlet(np.ones(answers), size=(rows, agents))


def _brute_transition(probs, params):
    """T[s, s'] = prod_i P_i(s)[s'_i], one entry at a time."""
    agents, answers = probs.shape
    states = list(itertools.product(range(answers), repeat=agents))
    moves = np.asarray(gt.next_answer_probabilities(jnp.asarray(states), probs, params,
                                                    gt.last_peer_weights(agents)))
    return np.array([[np.prod([moves[s, i, t[i]] for i in range(agents)]) for t in states]
                     for s in range(len(states))])


LAW = jnp.array([[0.5, 0.0, 0.2, 0.3], [0.3, 0.3, 0.1, 0.3], [0.4, 0.4, 0.0, 0.2]])


@pytest.mark.parametrize("agents,answers", [(2, 3), (3, 4), (4, 3)])
@pytest.mark.parametrize("law", [None, LAW])
def test_propagate_is_one_step_of_the_brute_transition_matrix(agents, answers, law):
    rng = np.random.default_rng(agents * 10 + answers)
    probs = jnp.asarray(_random_probs(rng, 1, agents, answers)[0])
    params = gt.discussion_params(0.4, 0.7, 0.3, 0.2, recognition=0.25, private_law=law)
    start = jnp.asarray(rng.dirichlet(np.ones(answers ** agents)))
    expected = np.asarray(start) @ _brute_transition(probs, params)
    got = gt.propagate(start, gt.agent_moves(probs, params))
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-14)


def _posterior(rng, draws):
    return gf.DiscussionPosterior(
        conformity=jnp.asarray(rng.uniform(0.1, 0.9, draws)),
        conformity_when_correct=jnp.asarray(rng.uniform(0.1, 0.9, draws)),
        majority_weight=jnp.asarray(rng.uniform(0.1, 0.9, draws)),
        stubbornness=jnp.asarray(rng.uniform(0.1, 0.9, draws)),
        recognition=jnp.asarray(rng.uniform(0.0, 0.5, draws)))


def test_exact_draws_in_blocks_with_duplicates_equal_each_question_alone(monkeypatch):
    rng = np.random.default_rng(0)
    base = _random_probs(rng, 3, 3, 5)
    # Debates of one question: the same row again, and with its wrong slots 1..3 relabelled.
    relabelled = base[:, :, [0, 3, 1, 2, 4]]
    probs = np.concatenate([base, base[:1], relabelled])
    posterior = _posterior(rng, 7)
    monkeypatch.setattr(gp, "QUESTION_DRAWS_PER_BLOCK", 48)  # 16 padded rows: blocks of 3 draws
    seen = []
    got = gp.exact_draws(posterior, probs, 3, on_block=lambda done, total: seen.append(done))
    assert seen == [3, 6, 7]
    for draw in range(7):
        params = jax.tree_util.tree_map(lambda v: v[draw], posterior.params())
        alone = [float(gt.debate_accuracy_exact(jnp.asarray(row), params, 3)) for row in probs]
        assert got["debate_accuracy"][draw] == pytest.approx(np.mean(alone), rel=1e-12)
    # Every measure as the plain all-draws program on the rows as given (no blocks, no merging).
    plain = gf.posterior_predictive(posterior, jnp.asarray(probs), 3)
    for field in plain._fields:
        np.testing.assert_allclose(got[field], np.asarray(getattr(plain, field)), rtol=1e-11)
    assert len(gp.exact_draws(posterior, probs, 3, count=4)["debate_accuracy"]) == 4


def test_canonical_wrong_slots_merges_relabelled_rows_only():
    rng = np.random.default_rng(1)
    row = _random_probs(rng, 1, 3, 6)
    relabelled = row[:, :, [0, 4, 2, 1, 3, 5]]
    other = _random_probs(rng, 1, 3, 6)
    canonical = gp.canonical_wrong_slots(np.concatenate([row, relabelled, other]))
    np.testing.assert_array_equal(canonical[0], canonical[1])
    assert not np.allclose(canonical[0], canonical[2])
    np.testing.assert_array_equal(canonical[:, :, 0], np.concatenate([row, relabelled, other])[:, :, 0])


@pytest.mark.slow  # three SVI compilations: 248 s at load 16 on 2 cores
def test_the_main_fit_reuses_the_chosen_variant_and_equals_a_fresh_fit():
    rng = np.random.default_rng(2)
    probs = jnp.asarray(_random_probs(rng, 12, 3, 4))
    params = gt.discussion_params(0.5, 0.6, 0.3, 0.3, recognition=0.2)
    keys = jax.random.split(jax.random.key(5), 12)
    answers = jax.vmap(lambda k, p: gt.simulate_debates(k, p, params, 3, 1)[0])(keys, probs)
    settings = {"fit_seed": 0, "fit_steps": 30, "draws": 9, "variant_draws": 4,
                "simulated_debates": 3, "select_on_fit_half": True, "recognition": True,
                "revision": False, "variants": ("recognition", "state_law")}
    fit_rows, held_rows = np.arange(8), np.arange(8, 12)
    phases = []
    result = gp.fit_and_predict(answers, probs, 4, fit_rows, held_rows, 3, settings, (0, 1, 2),
                                on_phase=phases.append)
    # The progress callback hears every phase: both variant fits, the draws, the simulations.
    assert phases[0] == "variant recognition (1/2): fit"
    assert "variant state_law (2/2): fit" in phases and "main fit" not in phases
    assert "main fit held-out: draws 9/9" in phases and phases[-1] == "failure labels"
    chosen = result["selection"]["name"]
    assert result["fit_reused_from"] == chosen
    fit_key = jax.random.split(jax.random.PRNGKey(0), 3)[0]
    fresh = gf.fit_svi(fit_key, answers[fit_rows], probs[fit_rows], num_steps=30, num_draws=9,
                       presentation="index",
                       **variant_options(VARIANTS[chosen], (0, 1, 2)))
    exact = gp.exact_draws(fresh, probs[held_rows], 3)
    assert result["predicted"]["debate_accuracy"]["mean"] == pytest.approx(
        float(np.mean(exact["debate_accuracy"])), rel=1e-10)
    assert result["parameters"]["conformity"]["mean"] == pytest.approx(
        float(jnp.mean(fresh.conformity)), rel=1e-10)


def _some_debates(seed, debates=9, agents=3, answers=4):
    rng = np.random.default_rng(seed)
    return rng.integers(0, answers, size=(debates, 3, agents))


@pytest.mark.parametrize("measure", ["debate_accuracy", "flip_correct_to_wrong",
                                     "flip_wrong_to_correct", "lost_correct"])
def test_clustered_standard_error_equals_a_loop_over_questions(measure):
    answers = _some_debates(3)
    questions = ["b", "a", "b", "c", "a", "a", "c", "b", "d"]
    events, chances = [], []
    for q in dict.fromkeys(questions):
        m = groupthink_measures(jnp.asarray(answers[[i for i, x in enumerate(questions)
                                                     if x == q]]), 4)
        rate = getattr(m.flips, measure[5:]) if measure.startswith("flip_") else getattr(m, measure)
        events.append(float(rate.events))
        chances.append(float(rate.opportunities))
    assert clustered_standard_error(answers, 4, questions, measure) == pytest.approx(
        ratio_standard_error(events, chances), rel=1e-12, nan_ok=True)


def test_per_debate_standard_errors_equal_a_loop_over_debates():
    answers = _some_debates(4, debates=7)
    one = [groupthink_measures(jnp.asarray(answers[d:d + 1]), 4) for d in range(7)]
    se = per_debate_standard_errors(answers, 4)
    accuracy = [float(m.debate_accuracy.rate) for m in one]
    assert se["debate_accuracy"] == pytest.approx(np.std(accuracy, ddof=1) / np.sqrt(7))
    flips = [(float(m.flips.correct_to_wrong.events), float(m.flips.correct_to_wrong.opportunities))
             for m in one]
    assert se["flip_correct_to_wrong"] == pytest.approx(
        ratio_standard_error(*map(list, zip(*flips))), nan_ok=True)
