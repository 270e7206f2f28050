"""Tests for slmmux_theory.discussion.model: the discussion Markov chain, its accuracy and measures.

The exact chain is checked against a plain-Python enumeration of every round-by-round choice
(social/majority with its tie pick, social/recency, keep, fresh draw), written here from the model
description and not from the module's code.
"""

import itertools
import json
import math
import runpy
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.discussion import measures as gm
from slmmux_theory.discussion import model as gt
from slmmux_theory.discussion import phase as gp

REPO = Path(__file__).resolve().parents[3]


# ----------------------------------------------------------------------------- brute force
def brute_revision_law(row, correct_shift, abstain_shift):
    """The revision law written out: p_a * exp(shift on slot 0 / on ⊥), renormalised."""
    last = len(row) - 1
    weights = [p * math.exp((correct_shift if a == 0 else 0.0)
                            + (abstain_shift if a == last else 0.0)) for a, p in enumerate(row)]
    return [w / sum(weights) for w in weights]


def brute_private_law_choices(i, state, probs, law):
    """(next answer, probability) of agent i's private move under a state-dependent law.

    ``law[agent][row]`` with rows (correct, wrong, ⊥) and columns (keep, correct, ⊥, fresh
    wrong); fresh wrong draws from probs[i] restricted to the wrong slots 1..A-2.
    """
    own, abstain = state[i], len(probs[i]) - 1
    row = law[i][0 if own == 0 else (2 if own == abstain else 1)]
    wrong = {a: probs[i][a] for a in range(1, abstain)}
    mass = sum(wrong.values())
    branches = [(own, row[0]), (0, row[1]), (abstain, row[2])]
    for a, p in wrong.items():
        branches.append((a, row[3] * (p / mass if mass > 0 else 1.0 / len(wrong))))
    return branches


def brute_choices(i, state, probs, params, presentation, private_law=None):
    """(next answer, probability) for every choice path of agent i, in plain Python.

    ``params`` is ``(c, c_correct, majority, stubborn)`` or that plus ``(recognition,
    correct_shifts, abstain_shifts)`` with one shift per agent; ``private_law`` (per agent,
    see :func:`brute_private_law_choices`) replaces the keep / revision-law private move.
    """
    conformity, conformity_correct, majority_weight, stubbornness = params[:4]
    recognition, correct_shifts, abstain_shifts = (
        params[4:] if len(params) > 4 else (0.0, [0.0] * len(state), [0.0] * len(state)))
    own = state[i]
    shown = own != 0 and any(state[j] == 0 for j in range(len(state)) if j != i)
    if shown and recognition > 0:
        # Recognition first: the correct slot outright, else the original choice paths.
        rest = brute_choices(i, state, probs, params[:4] + (0.0, correct_shifts, abstain_shifts),
                             presentation, private_law)
        return [(0, recognition)] + [(a, (1 - recognition) * p) for a, p in rest]
    law = brute_revision_law(probs[i], correct_shifts[i], abstain_shifts[i])
    num_agents = len(state)
    abstain = len(probs[i]) - 1
    social = conformity_correct if own == 0 else conformity
    branches = []
    peers = [state[j] for j in range(num_agents) if j != i and state[j] != abstain]
    if peers:
        counts = {a: peers.count(a) for a in set(peers)}
        top = max(counts.values())
        tied = sorted(a for a, c in counts.items() if c == top)
        for a in tied:
            branches.append((a, social * majority_weight / len(tied)))
    else:
        branches.append((own, social * majority_weight))
    if presentation == "index":
        last_peers = [(num_agents - 1 if i != num_agents - 1 else num_agents - 2, 1.0)]
    else:
        last_peers = [(j, 1.0 / (num_agents - 1)) for j in range(num_agents) if j != i]
    for j, weight in last_peers:
        seen = state[j]
        branches.append((own if seen == abstain else seen, social * (1 - majority_weight) * weight))
    if private_law is not None:
        for a, p in brute_private_law_choices(i, state, probs, private_law):
            branches.append((a, (1 - social) * p))
        return branches
    branches.append((own, (1 - social) * stubbornness))
    for a, p in enumerate(law):
        branches.append((a, (1 - social) * (1 - stubbornness) * p))
    return branches


def brute_plurality_correct(state, num_answers):
    valid = [a for a in state if a != num_answers - 1]
    if not valid:
        return 0.0
    counts = {a: valid.count(a) for a in set(valid)}
    top = max(counts.values())
    tied = [a for a, c in counts.items() if c == top]
    return (1.0 / len(tied)) if 0 in tied else 0.0


def brute_force_accuracy(probs, params, rounds, presentation="index", private_law=None,
                         agent_params=None):
    """Sum over every path of round-1 answers and later choices; returns P(final correct).

    ``agent_params`` (optional) gives each agent its own ``params`` tuple (ability links make
    recognition differ between agents).
    """
    num_agents, num_answers = len(probs), len(probs[0])
    agent_params = agent_params or [params] * num_agents

    def later(state, weight, remaining):
        if remaining == 0:
            return weight * brute_plurality_correct(state, num_answers)
        per_agent = [
            brute_choices(i, state, probs, agent_params[i], presentation, private_law)
            for i in range(num_agents)
        ]
        total = 0.0
        for combo in itertools.product(*per_agent):
            w = weight
            for _, p in combo:
                w *= p
            if w:
                total += later(tuple(a for a, _ in combo), w, remaining - 1)
        return total

    total = 0.0
    for first in itertools.product(range(num_answers), repeat=num_agents):
        weight = math.prod(probs[i][a] for i, a in enumerate(first))
        if weight:
            total += later(first, weight, rounds - 1)
    return total


BRUTE_CASES = [
    # probs, (c, c_correct, majority, stubborn), rounds, presentation
    ([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]], (0.6, 0.6, 0.7, 0.3), 3, "index"),
    ([[0.5, 0.2, 0.2, 0.1], [0.3, 0.5, 0.1, 0.1]], (0.8, 0.2, 0.4, 0.5), 3, "index"),
    ([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.45, 0.45, 0.1]], (0.7, 0.5, 0.6, 0.2), 2, "index"),
    ([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.45, 0.45, 0.1]], (0.7, 0.5, 0.6, 0.2), 2, "shuffled"),
    ([[0.4, 0.3, 0.2, 0.1], [0.3, 0.3, 0.3, 0.1], [0.2, 0.5, 0.2, 0.1]], (0.9, 0.4, 0.3, 0.6), 2,
     "index"),
]


@pytest.mark.parametrize("probs, params, rounds, presentation", BRUTE_CASES)
def test_exact_matches_brute_force_enumeration(probs, params, rounds, presentation):
    expected = brute_force_accuracy(probs, params, rounds, presentation)
    c, cc, w, s = params
    got = gt.debate_accuracy_exact(
        jnp.array(probs), gt.discussion_params(c, w, s, cc), rounds, presentation
    )
    assert abs(float(got) - expected) < 1e-10


EXTENDED_CASES = [
    # probs, (c, c_correct, majority, stubborn, recognition, correct shifts, ⊥ shifts), rounds
    ([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]], (0.6, 0.6, 0.7, 0.3, 0.4, [0.8, 0.8], [0.0, 0.0]), 3,
     "index"),
    ([[0.5, 0.2, 0.2, 0.1], [0.3, 0.5, 0.1, 0.1]], (0.8, 0.2, 0.4, 0.5, 0.0, [-1.0, 0.5],
                                                    [1.2, -0.3]), 3, "index"),
    ([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.45, 0.45, 0.1]],
     (0.7, 0.5, 0.6, 0.2, 0.35, [0.3, 0.3, -0.7], [1.0, 1.0, 0.4]), 2, "index"),
    ([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.45, 0.45, 0.1]],
     (0.7, 0.5, 0.6, 0.2, 0.6, [0.3, -0.2, 1.1], [-0.5, 0.2, 0.4]), 2, "shuffled"),
]


@pytest.mark.parametrize("probs, params, rounds, presentation", EXTENDED_CASES)
def test_recognition_and_revision_law_match_brute_force_enumeration(probs, params, rounds,
                                                                    presentation):
    expected = brute_force_accuracy(probs, params, rounds, presentation)
    c, cc, w, s, recognition, shifts, abstain = params
    theta = gt.discussion_params(c, w, s, cc, recognition=recognition,
                                 revision_shift=jnp.array(shifts), abstain_shift=jnp.array(abstain))
    got = gt.debate_accuracy_exact(jnp.array(probs), theta, rounds, presentation)
    assert abs(float(got) - expected) < 1e-10
    # The new terms matter on these cases: the original model gives another value.
    assert abs(brute_force_accuracy(probs, params[:4], rounds, presentation) - expected) > 1e-3


LAW_A = [[0.6, 0.0, 0.15, 0.25], [0.5, 0.2, 0.1, 0.2], [0.3, 0.3, 0.0, 0.4]]
LAW_B = [[0.3, 0.0, 0.5, 0.2], [0.2, 0.4, 0.3, 0.1], [0.7, 0.1, 0.0, 0.2]]
PRIVATE_LAW_CASES = [
    # probs (3 slots: correct, one wrong, ⊥), (c, c_correct, majority, stubborn, recognition),
    # per-agent law, rounds, presentation
    ([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]], (0.4, 0.2, 0.7, 0.9, 0.3), [LAW_A, LAW_B], 2, "index"),
    ([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.45, 0.45, 0.1]], (0.3, 0.1, 0.6, 0.9, 0.25),
     [LAW_A, LAW_A, LAW_B], 2, "index"),
    ([[0.5, 0.4, 0.1], [0.3, 0.6, 0.1], [0.45, 0.45, 0.1]], (0.2, 0.5, 0.4, 0.0, 0.0),
     [LAW_B, LAW_A, LAW_A], 2, "shuffled"),
    # four slots (two wrong) and a zero-wrong-mass agent: fresh wrong falls back to uniform
    ([[0.5, 0.2, 0.2, 0.1], [0.9, 0.0, 0.0, 0.1]], (0.3, 0.2, 0.5, 0.4, 0.5), [LAW_B, LAW_A], 3,
     "index"),
]


@pytest.mark.parametrize("probs, params, law, rounds, presentation", PRIVATE_LAW_CASES)
def test_state_dependent_private_law_matches_brute_force_enumeration(probs, params, law, rounds,
                                                                     presentation):
    c, cc, w, s, recognition = params
    full = params[:4] + (recognition, [0.0] * len(probs), [0.0] * len(probs))
    expected = brute_force_accuracy(probs, full, rounds, presentation, private_law=law)
    theta = gt.discussion_params(c, w, s, cc, recognition=recognition,
                                 private_law=jnp.array(law))
    got = gt.debate_accuracy_exact(jnp.array(probs), theta, rounds, presentation)
    assert abs(float(got) - expected) < 1e-10
    # The law matters here (the same parameters without it give another value).
    assert abs(brute_force_accuracy(probs, full, rounds, presentation) - expected) > 1e-3


def brute_ability_agents(probs, params, law, slopes):
    """Per-agent (params, private law) with the ability links applied by hand.

    Ability is the log-odds of the agent's own correct-slot probability clipped to
    [0.02, 0.98]; recognition's odds and the success entry of each law row (keep when correct,
    correct when wrong or ⊥) are multiplied by exp(slope * ability) and the row renormalised.
    """
    c, cc, w, s, recognition = params
    private_slope, recognition_slope = slopes
    success = (0, 1, 1)
    agent_params, agent_laws = [], []
    for i, row in enumerate(probs):
        p0 = min(max(row[0], 0.02), 0.98)
        ability = math.log(p0 / (1.0 - p0))
        odds = recognition / (1.0 - recognition) * math.exp(recognition_slope * ability)
        agent_params.append((c, cc, w, s, odds / (1.0 + odds), [0.0] * len(probs),
                             [0.0] * len(probs)))
        tilted = []
        for r, law_row in enumerate(law[i]):
            weights = [v * (math.exp(private_slope * ability) if k == success[r] else 1.0)
                       for k, v in enumerate(law_row)]
            tilted.append([v / sum(weights) for v in weights])
        agent_laws.append(tilted)
    return agent_params, agent_laws


ABILITY_CASES = [
    # probs, (c, c_correct, majority, stubborn, recognition), law, (law slope, recognition
    # slope), rounds, presentation; the second case has an agent that never answers correctly
    # in round 1 (ability at the floor) and still reaches the correct slot later.
    ([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2]], (0.4, 0.2, 0.7, 0.0, 0.3), [LAW_A, LAW_B], (1.3, 0.8),
     3, "index"),
    ([[0.7, 0.2, 0.1], [0.0, 0.9, 0.1], [0.45, 0.45, 0.1]], (0.3, 0.1, 0.6, 0.0, 0.4),
     [LAW_A, LAW_A, LAW_B], (0.9, -0.6), 2, "index"),
    ([[0.5, 0.2, 0.2, 0.1], [0.15, 0.5, 0.25, 0.1]], (0.3, 0.2, 0.5, 0.0, 0.5), [LAW_B, LAW_A],
     (-0.7, 1.5), 3, "shuffled"),
]


@pytest.mark.parametrize("probs, params, law, slopes, rounds, presentation", ABILITY_CASES)
def test_ability_links_match_brute_force_enumeration(probs, params, law, slopes, rounds,
                                                     presentation):
    agent_params, agent_laws = brute_ability_agents(probs, params, law, slopes)
    expected = brute_force_accuracy(probs, None, rounds, presentation, private_law=agent_laws,
                                    agent_params=agent_params)
    c, cc, w, s, recognition = params
    theta = gt.discussion_params(c, w, s, cc, recognition=recognition, private_law=jnp.array(law),
                                 ability_slope=slopes[0], recognition_slope=slopes[1])
    got = gt.debate_accuracy_exact(jnp.array(probs), theta, rounds, presentation)
    assert abs(float(got) - expected) < 1e-10
    # The slopes matter on these cases: without them the value differs.
    plain = gt.discussion_params(c, w, s, cc, recognition=recognition, private_law=jnp.array(law))
    assert abs(float(gt.debate_accuracy_exact(jnp.array(probs), plain, rounds, presentation))
               - expected) > 1e-3


def test_ability_tilt_scales_the_success_odds_exactly():
    law = jnp.array(LAW_B)
    tilt = jnp.array([0.0, 0.7, -1.2])
    tilted = np.asarray(gt.ability_tilted_law(law, tilt))  # [agents, 3, 4]
    np.testing.assert_allclose(tilted.sum(axis=-1), 1.0, atol=1e-14)
    np.testing.assert_allclose(tilted[0], np.asarray(law), atol=1e-14)  # zero tilt: unchanged
    for agent, factor in enumerate(np.exp(np.asarray(tilt))):
        for row, success in enumerate((0, 1, 1)):
            odds = tilted[agent, row, success] / (1 - tilted[agent, row, success])
            base = LAW_B[row][success] / (1 - LAW_B[row][success])
            assert odds == pytest.approx(base * factor, rel=1e-12)
            # The other outcomes keep their ratios.
            others = [k for k in range(4) if k != success and LAW_B[row][k] > 0]
            ratios = tilted[agent, row, others] / np.asarray(LAW_B[row])[others]
            np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)
    assert float(gt.ability_logit(jnp.array([[0.0, 1.0]]))[0]) == pytest.approx(
        math.log(0.02 / 0.98))


def test_monte_carlo_agrees_with_exact_with_ability_links():
    probs = jnp.array(MC_PROBS[0])
    law = jnp.array([LAW_A, LAW_B, LAW_A])
    theta = gt.discussion_params(0.4, 0.5, 0.0, 0.2, recognition=0.3, private_law=law,
                                 ability_slope=1.1, recognition_slope=0.9)
    exact = float(gt.debate_accuracy_exact(probs, theta, 3))
    estimate = gt.debate_accuracy_mc(jax.random.key(22), probs, theta, 3, 10000)
    assert abs(float(estimate.mean) - exact) < 4 * float(estimate.standard_error)
    # Under jit/vmap over a batch of questions the exact value is the same.
    batch = jnp.stack([probs, probs[::-1]])
    batched = jax.jit(jax.vmap(lambda p: gt.debate_accuracy_exact(p, theta, 3)))(batch)
    assert float(batched[0]) == pytest.approx(exact, abs=1e-12)


def test_private_law_rows_follow_the_agents_own_previous_state():
    # Pure private moves (conformity 0): a correct agent uses row 0, a wrong one row 1, ⊥ row 2.
    probs = jnp.array([[0.4, 0.2, 0.3, 0.1]] * 3)
    law = jnp.array(LAW_A)
    theta = gt.discussion_params(0.0, 0.5, 0.0, private_law=law)
    moves = np.asarray(gt.next_answer_probabilities(jnp.array([0, 2, 3]), probs, theta,
                                                    gt.last_peer_weights(3)))
    fresh = np.array([0.0, 0.4, 0.6, 0.0])  # wrong slots 1, 2 renormalised
    np.testing.assert_allclose(moves[0], [0.6, 0, 0, 0.15] + 0.25 * fresh, atol=1e-14)
    np.testing.assert_allclose(moves[1], [0.2, 0, 0.5, 0.1] + 0.2 * fresh, atol=1e-14)
    np.testing.assert_allclose(moves[2], [0.3, 0, 0, 0.3] + 0.4 * fresh, atol=1e-14)
    # A shared [3, 4] law equals the same law given per agent.
    per_agent = gt.discussion_params(0.0, 0.5, 0.0, private_law=jnp.stack([law] * 3))
    np.testing.assert_allclose(
        gt.next_answer_probabilities(jnp.array([0, 2, 3]), probs, per_agent,
                                     gt.last_peer_weights(3)), moves, atol=1e-14)


def test_monte_carlo_agrees_with_exact_with_the_private_law():
    probs = jnp.array(MC_PROBS[0])
    law = jnp.array([LAW_A, LAW_B, LAW_A])
    theta = gt.discussion_params(0.4, 0.5, 0.0, 0.2, recognition=0.3, private_law=law)
    exact = float(gt.debate_accuracy_exact(probs, theta, 3))
    estimate = gt.debate_accuracy_mc(jax.random.key(21), probs, theta, 3, 10000)
    # 4 standard errors: a false alarm about once in 16,000 runs (the seed is fixed anyway).
    assert abs(float(estimate.mean) - exact) < 4 * float(estimate.standard_error)
    without = float(gt.debate_accuracy_exact(
        probs, gt.discussion_params(0.4, 0.5, 0.0, 0.2, recognition=0.3), 3))
    assert abs(without - exact) > 8 * float(estimate.standard_error)


def test_recognition_moves_only_wrong_agents_with_a_correct_peer():
    # Agent 0 wrong, agent 1 correct: with recognition 1 and nothing else agent 0 jumps to the
    # correct slot; agent 1 (already correct, no correct peer) follows its private law.
    probs = jnp.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    theta = gt.discussion_params(0.0, 0.5, 1.0, recognition=1.0)
    moves = np.asarray(gt.next_answer_probabilities(jnp.array([1, 0]), probs, theta,
                                                    gt.last_peer_weights(2)))
    np.testing.assert_allclose(moves, [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], atol=1e-14)
    # No correct peer: recognition has no effect (agent keeps its answer, stubbornness 1).
    moves = np.asarray(gt.next_answer_probabilities(jnp.array([1, 2]), probs, theta,
                                                    gt.last_peer_weights(2)))
    np.testing.assert_allclose(moves, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], atol=1e-14)


def test_revision_shift_moves_the_correct_log_odds_by_exactly_the_shift():
    probs = jnp.array([[0.3, 0.5, 0.15, 0.05], [0.6, 0.2, 0.1, 0.1]])
    revised = np.asarray(gt.revision_probabilities(probs, jnp.array([0.7, -1.2])))
    for row, new, shift in zip(np.asarray(probs), revised, (0.7, -1.2)):
        logit = np.log(new[0] / (1 - new[0])) - np.log(row[0] / (1 - row[0]))
        assert logit == pytest.approx(shift, abs=1e-12)
        np.testing.assert_allclose(new[1:] / new[1:].sum(), row[1:] / row[1:].sum(), atol=1e-12)


def test_monte_carlo_agrees_with_exact_with_the_later_round_terms():
    probs = jnp.array(MC_PROBS[0])
    theta = gt.discussion_params(0.5, 0.4, 0.3, 0.2, recognition=0.5,
                                 revision_shift=jnp.array([1.0, 0.0, -0.5]), abstain_shift=0.8)
    exact = float(gt.debate_accuracy_exact(probs, theta, 3))
    estimate = gt.debate_accuracy_mc(jax.random.key(12), probs, theta, 3, 20000)
    assert abs(float(estimate.mean) - exact) < 4 * float(estimate.standard_error)
    base = float(gt.debate_accuracy_exact(probs, gt.discussion_params(0.5, 0.4, 0.3, 0.2), 3))
    assert abs(base - exact) > 8 * float(estimate.standard_error)  # the test can tell them apart


def test_transition_rows_sum_to_one_and_match_brute_choices():
    probs = [[0.4, 0.3, 0.2, 0.1], [0.3, 0.3, 0.3, 0.1], [0.2, 0.5, 0.2, 0.1]]
    params = (0.9, 0.4, 0.3, 0.6)
    theta = gt.discussion_params(0.9, 0.3, 0.6, 0.4)
    matrix = np.asarray(gt.transition_matrix(jnp.array(probs), theta))
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-12)
    states = list(itertools.product(range(4), repeat=3))
    for row in (0, 7, 21, 63):
        expected = np.zeros(len(states))
        per_agent = [brute_choices(i, states[row], probs, params, "index") for i in range(3)]
        for combo in itertools.product(*per_agent):
            expected[states.index(tuple(a for a, _ in combo))] += math.prod(p for _, p in combo)
        np.testing.assert_allclose(matrix[row], expected, atol=1e-12)


# ----------------------------------------------------------------------------- limits by hand
HAND_CASES = [
    # identical agents, binomial majority A(3, 0.6) = 0.6^3 + 3 * 0.6^2 * 0.4
    ([[0.6, 0.4, 0.0]] * 3, 0.648),
    # three agents, two equally likely wrong answers: P(>=2 correct) = 1/2, plus exactly one
    # correct (3 * 0.5 * 0.25 = 0.375) with the two wrongs different (1/2) winning a 3-way tie (1/3)
    ([[0.5, 0.25, 0.25, 0.0]] * 3, 0.5 + 0.375 * 0.5 / 3),
    # two agents with ⊥: both correct 0.2; correct + ⊥ 0.5*0.2 + 0.2*0.4 = 0.18;
    # correct vs wrong tie (0.5*0.4 + 0.3*0.4) / 2 = 0.16
    ([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]], 0.54),
]


@pytest.mark.parametrize("probs, expected", HAND_CASES)
def test_zero_conformity_gives_independent_plurality(probs, expected):
    probs = jnp.array(probs)
    assert abs(float(gt.independent_plurality_accuracy_exact(probs)) - expected) < 1e-12
    for stubbornness in (0.0, 0.4, 0.9):
        params = gt.discussion_params(0.0, 0.7, stubbornness)
        comparison = gt.debate_minus_independent(probs, params, 4)
        assert abs(float(comparison.debate_accuracy) - expected) < 1e-12
        assert abs(float(comparison.difference)) < 1e-12
        # Every round is distributed as fresh independent draws, not only the last.
        distributions = np.asarray(gt.state_distributions(probs, params, 4))
        np.testing.assert_allclose(distributions, distributions[:1].repeat(4, axis=0), atol=1e-12)


def test_one_round_debate_is_independent_plurality():
    probs = jnp.array([[0.3, 0.5, 0.2], [0.6, 0.2, 0.2], [0.4, 0.4, 0.2]])
    params = gt.discussion_params(0.9, 1.0, 0.0)
    assert float(gt.debate_accuracy_exact(probs, params, 1)) == pytest.approx(
        float(gt.independent_plurality_accuracy_exact(probs)), abs=1e-14
    )


@pytest.mark.parametrize("presentation", gt.PRESENTATIONS)
def test_full_majority_conformity_freezes_unanimous_states(presentation):
    probs = jnp.array([[0.3, 0.3, 0.2, 0.2], [0.1, 0.5, 0.2, 0.2], [0.4, 0.1, 0.3, 0.2]])
    params = gt.discussion_params(1.0, 1.0, 0.3)
    matrix = np.asarray(gt.transition_matrix(probs, params, presentation))
    states = gt.joint_states(3, 4)
    for answer in range(4):
        row = int(np.flatnonzero((states == answer).all(axis=1))[0])
        assert matrix[row, row] == pytest.approx(1.0, abs=1e-14)
    # Starting unanimous on the wrong slot 1, the debate never leaves it.
    start = np.zeros(len(states))
    start[int(np.flatnonzero((states == 1).all(axis=1))[0])] = 1.0
    after = start @ np.linalg.matrix_power(matrix, 5)
    assert after[int(np.flatnonzero((states == 1).all(axis=1))[0])] == pytest.approx(1.0)


def test_full_majority_conformity_two_agents_swap():
    # Two agents with pure majority pull copy each other: (0, 1) -> (1, 0) with certainty.
    probs = jnp.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0]])
    matrix = np.asarray(gt.transition_matrix(probs, gt.discussion_params(1.0, 1.0, 0.0)))
    states = [tuple(s) for s in gt.joint_states(2, 3)]
    assert matrix[states.index((0, 1)), states.index((1, 0))] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- Monte Carlo
MC_PROBS = [
    [[0.5, 0.3, 0.1, 0.1], [0.3, 0.4, 0.2, 0.1], [0.4, 0.2, 0.3, 0.1]],
    [[0.35, 0.45, 0.2, 0.0], [0.35, 0.45, 0.2, 0.0], [0.35, 0.45, 0.2, 0.0]],
]
MC_PARAMS = [(0.7, 0.3, 0.6, 0.4), (0.5, 0.5, 0.2, 0.5)]  # (c, c_correct, majority, stubborn)


@pytest.mark.parametrize("presentation", gt.PRESENTATIONS)
def test_monte_carlo_agrees_with_exact(presentation):
    probs = jnp.array(MC_PROBS)
    c, cc, w, s = (jnp.array(column) for column in zip(*MC_PARAMS))
    theta = gt.discussion_params(c, w, s, cc)
    keys = jax.random.split(jax.random.key(11), len(MC_PROBS))
    exact = jax.vmap(lambda p, t: gt.debate_accuracy_exact(p, t, 4, presentation))(probs, theta)
    estimate = jax.vmap(lambda k, p, t: gt.debate_accuracy_mc(k, p, t, 4, 20000, presentation))(
        keys, probs, theta
    )
    assert np.all(np.asarray(estimate.standard_error) > 0)
    error = np.abs(np.asarray(estimate.mean) - np.asarray(exact))
    assert np.all(error < 4 * np.asarray(estimate.standard_error))


def test_vmap_over_questions_and_jit_consistency():
    key = jax.random.key(3)
    probs = jax.random.dirichlet(key, jnp.ones(5), shape=(6, 3))  # [questions, agents, answers]
    params = gt.discussion_params(0.6, 0.5, 0.4, 0.2)
    batched = jax.vmap(lambda p: gt.debate_accuracy_exact(p, params, 3))(probs)
    looped = np.array([float(gt.debate_accuracy_exact(p, params, 3)) for p in probs])
    np.testing.assert_allclose(np.asarray(batched), looped, atol=1e-13)
    keys = jax.random.split(jax.random.key(4), 6)
    mc = jax.vmap(lambda k, p: gt.debate_accuracy_mc(k, p, params, 3, 500))(keys, probs)
    one = gt.debate_accuracy_mc(keys[2], probs[2], params, 3, 500)
    assert float(mc.mean[2]) == pytest.approx(float(one.mean), abs=1e-14)


def test_seeds_reproducible_and_different_seeds_differ():
    probs = jnp.array([[0.4, 0.3, 0.2, 0.1]] * 3)
    params = gt.discussion_params(0.5, 0.5, 0.5)
    first = gt.simulate_debates(jax.random.key(0), probs, params, 4, 200)
    again = gt.simulate_debates(jax.random.key(0), probs, params, 4, 200)
    other = gt.simulate_debates(jax.random.key(1), probs, params, 4, 200)
    assert first.shape == (200, 4, 3)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_simulated_round_one_marginals_match_probs():
    probs = jnp.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]])
    answers = np.asarray(
        gt.simulate_debates(jax.random.key(5), probs, gt.discussion_params(0.5, 0.5, 0.5), 2, 20000)
    )
    for agent in range(2):
        freq = np.bincount(answers[:, 0, agent], minlength=3) / 20000
        se = np.sqrt(np.asarray(probs[agent]) * (1 - np.asarray(probs[agent])) / 20000)
        assert np.all(np.abs(freq - np.asarray(probs[agent])) < 4 * se + 1e-12)


def test_plurality_answer_draws_ties_uniformly():
    states = jnp.broadcast_to(jnp.array([0, 1, 3]), (50000, 3))  # 3 is ⊥ when A = 4
    picks = np.asarray(gt.plurality_answer(jax.random.key(0), states, 4))
    assert set(np.unique(picks)) == {0, 1}
    assert abs(picks.mean() - 0.5) < 4 * 0.5 / np.sqrt(50000)
    assert int(gt.plurality_answer(jax.random.key(0), jnp.array([3, 3]), 4)) == 3


# ----------------------------------------------------------------------------- measures
def test_measures_on_a_hand_transcript():
    # A = 4 (slot 3 = ⊥), 3 agents, 3 rounds, two debates.
    answers = jnp.array(
        [
            [[0, 1, 1], [1, 1, 1], [1, 1, 1]],  # correct agent capitulates to wrong plurality
            [[0, 0, 2], [0, 2, 2], [0, 0, 0]],
        ]
    )
    m = gm.groupthink_measures(answers, 4)
    def pair(rate):
        return float(rate.events), float(rate.opportunities)

    # previous-correct agent-rounds: d0 r1 a0; d1 r1 a0,a1; d1 r2 a0 -> 4; flips d0 a0, d1 a1
    assert pair(m.flips.correct_to_wrong) == (2, 4)
    # previous-wrong: d0 r1 a1,a2; d0 r2 all 3; d1 r1 a2; d1 r2 a1,a2 -> 8; to correct: d1 r2 a1,a2
    assert pair(m.flips.wrong_to_correct) == (2, 8)
    # plurality d0 r1 = 1 (a0 differs, adopts); d1 r1 = 0 (a2 differs, stays 2);
    # d1 r2 = 2 (a0 differs, stays 0); d0 r2 unanimous -> no opportunity
    assert float(m.capitulation.to_wrong_plurality.rate) == 0.5
    assert float(m.capitulation.to_wrong_plurality.opportunities) == 2
    assert float(m.capitulation.to_correct_plurality.rate) == 0.0
    assert float(m.capitulation.to_correct_plurality.opportunities) == 1
    # last peers 2, 2, 1. d0 r1: a0 sees 1 (adopts). d1 r1: a0 sees 2 (no), a1 sees 2 (adopts),
    # a2 sees 0 (no). d1 r2: a0 sees 2 (no). -> 2 of 5
    assert pair(m.recency_adoption) == (2, 5)
    assert float(m.lost_correct.rate) == 0.5
    assert float(m.final_consensus_on_wrong.rate) == 0.5
    assert float(m.debate_accuracy.rate) == 0.5
    assert float(m.independent_accuracy.rate) == 0.5
    assert float(m.round_one_union.rate) == 1.0


def test_measures_reject_wrong_rank():
    with pytest.raises(ValueError, match="debates, rounds, agents"):
        gm.flip_rates(jnp.zeros((3, 2), dtype=int))


def _cluster_standard_error(events, opportunities):
    """Ratio-estimator standard error with debates as clusters."""
    rate = events.sum() / opportunities.sum()
    return np.sqrt(((events - rate * opportunities) ** 2).sum()) / opportunities.sum()


@pytest.mark.parametrize("extended", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_predicted_measures_agree_with_simulated_transcripts(extended):
    probs = jnp.array([[0.45, 0.3, 0.15, 0.1], [0.3, 0.4, 0.2, 0.1], [0.35, 0.25, 0.3, 0.1]])
    terms = ({"recognition": 0.4, "revision_shift": jnp.array([0.5, -0.5, 0.0]),
              "abstain_shift": 1.0} if extended else {})
    params = gt.discussion_params(0.6, 0.5, 0.4, 0.3, **terms)
    rounds, num_debates, num_answers = 3, 20000, 4
    predicted = gm.predicted_groupthink_measures(probs, params, rounds)
    answers = gt.simulate_debates(jax.random.key(8), probs, params, rounds, num_debates)
    per_debate = jax.vmap(lambda a: gm.groupthink_measures(a[None], num_answers))(answers)
    leaves_pred = jax.tree_util.tree_leaves(predicted, is_leaf=lambda x: isinstance(x, gm.Rate))
    leaves_emp = jax.tree_util.tree_leaves(per_debate, is_leaf=lambda x: isinstance(x, gm.Rate))
    pooled = gm.pool_measures(per_debate)
    leaves_pool = jax.tree_util.tree_leaves(pooled, is_leaf=lambda x: isinstance(x, gm.Rate))
    assert len(leaves_pred) == 10
    for pred, emp, pool in zip(leaves_pred, leaves_emp, leaves_pool):
        events, opportunities = np.asarray(emp.events), np.asarray(emp.opportunities)
        rate = events.sum() / opportunities.sum()
        assert float(pool.rate) == pytest.approx(rate, abs=1e-14)
        se = _cluster_standard_error(events, opportunities)
        assert se > 0
        assert abs(rate - float(pred.rate)) < 4 * se
        # The expected opportunities per debate also match.
        assert abs(opportunities.mean() - float(pred.opportunities)) < 4 * (
            opportunities.std(ddof=1) / np.sqrt(num_debates) + 1e-12
        )


def test_predicted_lost_correct_factorises_without_any_memory():
    # With no conformity and no stubbornness the final round is independent of round 1, so
    # P(lost) = P(some correct in round 1) * (1 - accuracy).
    probs = jnp.array([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]])
    m = gm.predicted_groupthink_measures(probs, gt.discussion_params(0.0, 0.5, 0.0), 2)
    union = 1 - 0.5 * 0.6
    assert float(m.round_one_union.rate) == pytest.approx(union, abs=1e-12)
    assert float(m.lost_correct.rate) == pytest.approx(union * (1 - 0.54), abs=1e-12)


# ----------------------------------------------------------------------------- phase diagram
def test_phase_grid_shapes_and_zero_conformity_row():
    grid = gp.phase_grid([0.3, 0.5], [0.25, 1.0], [0.0, 0.8], rounds=3)
    assert grid.difference.shape == (2, 2, 2)
    np.testing.assert_allclose(np.asarray(grid.difference[0]), 0.0, atol=1e-12)
    # A(3, 0.5) with a single wrong answer is 0.5 (symmetry), read off the independent column.
    assert float(grid.independent_accuracy[0, 1, 1]) == pytest.approx(0.5, abs=1e-12)


def test_symmetric_answer_probabilities_rejects_single_wrong_slot():
    with pytest.raises(ValueError, match="num_wrong"):
        gp.symmetric_answer_probabilities(0.5, 1.0, 3, 1)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="presentation"):
        gt.last_peer_weights(3, "random")
    with pytest.raises(ValueError, match="rounds"):
        gt.state_distributions(jnp.array([[0.5, 0.5]] * 2), gt.discussion_params(0, 0, 0), 0)


def test_phase_experiment_script_runs_with_tiny_arguments(tmp_path):
    script = runpy.run_path(str(REPO / "experiments" / "groupthink_phase" / "run.py"), run_name="script")
    argv = ["--grid-size", "3", "--conformities", "0,0.9", "--correct-conformity-ratios", "1",
            "--output-dir", str(tmp_path)]
    assert script["main"](argv) == 0
    data = json.loads((tmp_path / "groupthink_phase.json").read_text())
    assert len(data["correct_mass"]) == 3
    assert np.asarray(data["difference"]).shape == (1, 2, 3, 3)
    # Conformity 0 is the no-communication counterfactual itself.
    np.testing.assert_allclose(np.asarray(data["difference"])[0, 0], 0.0, atol=1e-12)
    assert (tmp_path / "groupthink_phase.png").stat().st_size > 0
