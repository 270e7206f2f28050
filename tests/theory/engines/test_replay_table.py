"""Tests of slmmux_theory.engines.replay_table: splits, validation accuracy, the replay table."""

from __future__ import annotations

import numpy as np
import pytest

from slmmux_theory.engines import replay_table as table

# Two models, three questions, three samples (slot 0 correct, 3 = ⊥, -1 not recorded).
SAMPLES = np.array([
    [[0, 0, 1], [0, 0, 0], [0, 3, -1]],
    [[1, 1, 1], [1, 2, 1], [1, 2, 2]],
])


def test_evaluation_folds_are_disjoint_and_cover_the_questions():
    for fraction, cross_fit in [(0.3, False), (0.5, True), (0.25, True)]:
        folds = table.evaluation_folds(20, fraction, seed=4, cross_fit=cross_fit)
        for validation, evaluation in folds:
            assert not set(validation) & set(evaluation)
            if cross_fit:
                assert sorted(set(validation) | set(evaluation)) == list(range(20))
        evaluated = np.concatenate([e for _, e in folds])
        assert len(evaluated) == len(set(evaluated))
        assert len(evaluated) == (20 if cross_fit else 14)
    assert table.evaluation_folds(5, 0.0, 0)[0][0].size == 0
    with pytest.raises(ValueError, match="must lie in"):
        table.evaluation_folds(5, 1.0, 0)


def test_validation_accuracy_skips_unrecorded_samples():
    # a: q1 2/3, q3 1 of 2 recorded -> 3/5; b never right.
    np.testing.assert_allclose(table.validation_accuracy(SAMPLES, [0, 2]), [3 / 5, 0.0])


def test_replay_table_rows_by_hand():
    # k = 3 on all three questions, no validation: literal == exact (every sample used).
    # SLM-MUX: q1 b (3/3 on a wrong answer) beats a (2/3): wrong; q2 a (3/3) beats b (2/3):
    # right; q3 b (2/3) beats a (1/3, ⊥ twice): wrong. Accuracy 1/3.
    full = np.where(SAMPLES < 0, 3, SAMPLES)  # the missing sample becomes ⊥
    rows, split = table.replay_table(full, 4, ("a", "b"), ["slm-mux", "self-consistency"],
                                     [3], validation_fraction=0.0)
    mux, sc_a, sc_b = rows
    assert (mux.rule, mux.models, mux.questions) == ("slm-mux", ("a", "b"), 3)
    assert mux.literal == pytest.approx(1 / 3) and mux.exact == pytest.approx(1 / 3)
    assert mux.literal_samples == 6.0
    assert sc_a.models == ("a",) and sc_a.literal == 1.0 and sc_a.literal_samples == 3.0
    assert sc_b.literal == 0.0
    assert split["evaluated_questions"] == 3 and split["folds"][0]["validation_questions"] == 0


def test_unknown_rules_and_short_records_raise():
    with pytest.raises(ValueError, match="unknown rule"):
        table.replay_table(SAMPLES, 4, ("a", "b"), ["debate"], [1], validation_fraction=0.0)
    with pytest.raises(ValueError, match="needs k recorded samples"):
        table.exact_replay_samples(SAMPLES, 4, "slm-mux", 3)
