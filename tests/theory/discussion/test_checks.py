"""Tests for slmmux_theory.discussion.checks and standard_errors (values worked by hand)."""

import math

import numpy as np
import pytest

from slmmux_theory.discussion.checks import CHECKED_MEASURES, check_against_prediction, pool_folds
from slmmux_theory.discussion.standard_errors import (
    clustered_standard_error,
    per_debate_standard_errors,
    ratio_standard_error,
)


def test_ratio_standard_error_by_hand():
    # p = 3/6; residuals e - p*o = 1-1, 0-1, 2-1 -> 0, -1, 1; sqrt(3/2 * 2) / 6 = sqrt(3)/6.
    assert ratio_standard_error([1, 0, 2], [2, 2, 2]) == pytest.approx(math.sqrt(3) / 6)
    assert math.isnan(ratio_standard_error([1], [1]))
    assert math.isnan(ratio_standard_error([0, 0], [0, 0]))


def test_per_debate_standard_error_of_accuracy_is_the_standard_error_of_the_mean():
    # Two agents, two rounds: final pluralities correct, wrong, correct, wrong -> 1, 0, 1, 0.
    answers = np.array([[[0, 0], [0, 0]], [[1, 1], [1, 1]]] * 2)
    se = per_debate_standard_errors(answers, 3)
    assert se["debate_accuracy"] == pytest.approx(np.std([1, 0, 1, 0], ddof=1) / 2)
    assert set(se) == set(CHECKED_MEASURES)


def test_clustered_standard_error_treats_a_question_as_one_unit():
    # Question q: two debates both correct (2 of 2); r: two debates both wrong (0 of 2).
    answers = np.array([[[0, 0], [0, 0]]] * 2 + [[[1, 1], [1, 1]]] * 2)
    clustered = clustered_standard_error(answers, 3, ["q", "q", "r", "r"], "debate_accuracy")
    assert clustered == pytest.approx(ratio_standard_error([2, 0], [2, 2]))


def test_check_against_prediction_measures_and_compares():
    answers = np.array([[[1, 0], [0, 0]], [[1, 1], [1, 1]]])  # accuracy 1/2
    predicted = {m: {"mean": 0.5, "interval90": [0.4, 0.6], "predictive90": [0.45, 0.55]}
                 for m in CHECKED_MEASURES}
    predicted["debate_accuracy"]["mean"] = 0.54
    checked = check_against_prediction(answers, 3, ["q", "r"], predicted, tolerance=0.03)
    row = checked["rows"]["debate_accuracy"]
    assert row["measured"] == pytest.approx(0.5)
    assert row["abs_diff"] == pytest.approx(0.04) and not row["within_tolerance"]
    assert row["inside_predictive90"]
    assert checked["failure_labels"]["failed"] == 1


def test_pool_folds_refuses_a_question_held_out_twice():
    fold = {"held_out_question_ids": ["a"], "held_out_debates": 1}
    with pytest.raises(ValueError, match="twice"):
        pool_folds([fold, fold])
    with pytest.raises(ValueError, match="at least two"):
        pool_folds([fold])
