"""Tests of slmmux_theory.inference.unseen: the laws of a pilot's unseen questions."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from slmmux_theory.inference import unseen



def test_polya_bootstrap_gives_the_population_mean_its_classical_variance():
    # Two pilot questions with values 0 and 1; the share of unseen questions standing in for
    # question 1 is w + noise with w ~ U(0, 1) (Dirichlet(1, 1)): mean 1/2, variance
    # 1/12 + E[w(1 - w)]/n = 1/12 + 1/(6n). Uniform resampling would give only 1/(4n).
    n, draws = 40, 4000
    picks = unseen.unseen_question_picks(jax.random.PRNGKey(3), 2, n, draws)
    share = (picks == 1).mean(axis=1)
    variance = 1 / 12 + 1 / (6 * n)
    standard_error = variance / np.sqrt(draws)  # rough; the share is nearly uniform
    assert abs(share.mean() - 0.5) < 4 * np.sqrt(variance / draws)
    assert abs(share.var() - variance) < 6 * standard_error
    assert share.var() > 5 * (1 / (4 * n))


def test_dirichlet_process_picks_the_base_population_at_the_prior_rate():
    # One more Dirichlet atom of weight alpha: its expected share is alpha / (alpha + Q).
    q, alpha, draws = 8, 2.0, 3000
    picks = unseen.unseen_question_picks(jax.random.PRNGKey(4), q, 30, draws, alpha)
    base = (picks == q).mean(axis=1)
    expected = alpha / (alpha + q)
    # Var of the share: Var(Beta(alpha, q)) + E[w(1-w)]/30.
    var = alpha * q / ((alpha + q) ** 2 * (alpha + q + 1)) + expected * (1 - expected) / 30
    assert abs(base.mean() - expected) < 4 * np.sqrt(var / draws)
    assert picks.max() == q
    assert unseen.unseen_question_picks(jax.random.PRNGKey(4), q, 30, 50).max() < q


def test_unseen_question_picks_reject_a_negative_concentration():
    with pytest.raises(ValueError, match="concentration must be >= 0"):
        unseen.unseen_question_picks(jax.random.PRNGKey(0), 3, 4, 2, -1.0)


def test_shared_failures_are_the_questions_the_pooled_crowd_gets_wrong():
    # Slots: correct, wrong 1, wrong 2, ⊥. Two models, five questions, counted by hand.
    counts = np.array([
        [[3, 0, 0, 0], [1, 2, 0, 0], [0, 0, 0, 3], [1, 1, 1, 0], [0, 1, 0, 0]],
        [[0, 3, 0, 0], [1, 1, 0, 0], [0, 0, 0, 3], [0, 1, 0, 0], [1, 0, 0, 0]],
    ])
    # q0: 3 correct vs 3 on one wrong answer (a tie is not a failure); q1: 2 vs 3 -> failure;
    # q2: nothing answered -> failure; q3: 1 correct vs 2 on wrong 1 -> failure;
    # q4: 1 vs 1 -> not a failure.
    assert unseen.shared_failure_questions(counts).tolist() == [False, True, True, True, False]


def test_stratified_picks_allow_unseen_failures_after_a_pilot_with_none():
    # No pilot failure: each unseen question is the generic failure (index Q) with probability
    # r ~ Beta(1/2, Q + 1/2), so its expected share is 0.5 / (Q + 1) and, unlike the plain
    # bootstrap, it is positive.
    q, n, draws = 9, 40, 4000
    picks = unseen.stratified_unseen_picks(jax.random.PRNGKey(5), np.zeros(q, bool), n, draws)
    share = (picks == q).mean(axis=1)
    expected = 0.5 / (q + 1)
    var = 0.5 * (q + 0.5) / ((q + 1) ** 2 * (q + 2)) + expected * (1 - expected) / n
    assert abs(share.mean() - expected) < 4 * np.sqrt(var / draws)
    assert picks.min() >= 0 and picks.max() == q


def test_stratified_picks_draw_failures_only_from_the_pilot_failures():
    hard = np.array([False, True, False, False, True])
    picks = unseen.stratified_unseen_picks(jax.random.PRNGKey(6), hard, 50, 2000)
    assert picks.max() < hard.size  # failures seen: no generic one
    share = np.isin(picks, [1, 4]).mean(axis=1)
    # Failure share r ~ Beta(2 + 1/2, 3 + 1/2): mean 2.5 / 6.
    assert abs(share.mean() - 2.5 / 6) < 0.02
    # Inside each stratum a Bayesian bootstrap: both failures are used.
    assert (picks == 1).any() and (picks == 4).any()


def test_generic_failure_falls_back_to_no_answer_without_wrong_slots():
    assert unseen.generic_failure_probs((2,), 2).tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert unseen.generic_failure_probs((), 4).tolist() == [0.0, 1.0, 0.0, 0.0]
