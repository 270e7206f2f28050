"""Tests of slmmux_theory.discussion.independent: the debate study's independent-sample rows."""

from __future__ import annotations

import numpy as np

from slmmux_theory.discussion import independent
from tests.theory import reference_rules as ref

# Two models, four questions, three recorded samples (slot 3 = ⊥, -1 = missing).
SAMPLES = np.array([
    [[0, 0, 1], [0, 1, 2], [1, 1, 1], [0, 3, 0]],
    [[1, 1, 0], [0, 0, 0], [2, 0, 1], [0, 0, -1]],
])
ABSTAIN = 3


def _recorded(m, q):
    return [int(s) for s in SAMPLES[m, q] if s >= 0]


def test_rows_equal_brute_force_replay_with_fit_question_ties():
    fit, held = [0], [1, 2, 3]
    result = independent.independent_comparison(SAMPLES, 4, fit, held)
    # Fit question 0: model 0 right 2/3, model 1 right 1/3 -> model 0 wins ties.
    np.testing.assert_allclose(result.validation, [2 / 3, 1 / 3])
    assert result.k_max == 2  # model 1 recorded only 2 samples on question 3
    methods = [(r.rule, r.model) for r in result.rows]
    assert methods == [m for m in independent.compared_rules(2) for _ in range(2)]
    references = {
        ("slm-mux", None): ([0, 1], lambda s: ref.mux_correct(s, ABSTAIN, [0, 1])),
        ("agent-forest", None): ([0, 1], lambda s: ref.pooled_correct(s, ABSTAIN)),
        ("self-consistency", 0): ([0], lambda s: ref.plurality_correct(s[0], ABSTAIN)),
        ("self-consistency", 1): ([1], lambda s: ref.plurality_correct(s[0], ABSTAIN)),
    }
    for row in result.rows:
        models, fn = references[(row.rule, row.model)]
        values = [ref.replay_expectation([_recorded(m, q) for m in models], row.k, fn)[0]
                  for q in held]
        assert abs(row.accuracy - np.mean(values)) < 1e-9, row
        assert abs(row.se - np.std(values, ddof=1) / np.sqrt(len(values))) < 1e-9, row
        assert row.questions == len(held)
        assert 0.0 <= row.predicted <= 1.0


def test_the_fit_questions_decide_slm_mux_ties():
    # Fit on question 1 instead: model 1 is right 3/3 there and wins the ties.
    first = independent.independent_comparison(SAMPLES, 4, [0], [2])
    second = independent.independent_comparison(SAMPLES, 4, [1], [2])
    assert first.rows[0].accuracy != second.rows[0].accuracy


def test_a_held_out_question_without_samples_leaves_no_k():
    samples = SAMPLES.copy()
    samples[0, 2] = -1
    result = independent.independent_comparison(samples, 4, [0], [1, 2])
    assert result.k_max == 0 and result.rows == []


def test_round_one_correct_probability_is_the_mean_correct_slot():
    probs = np.array([[[0.2, 0.8], [1.0, 0.0]], [[0.6, 0.4], [0.5, 0.5]]])
    np.testing.assert_allclose(independent.round_one_correct_probability(probs), [0.4, 0.75])
