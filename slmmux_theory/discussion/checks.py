"""Measured against predicted: the frozen-prediction check and the cross-fit pooling of folds.

Theory layer (``slmmux_theory.discussion``; NumPy, no I/O). :func:`check_against_prediction`
measures new debates and sets them beside a frozen prediction (mean, 90 % posterior and
predictive intervals) with standard errors per debate and clustered by question;
:func:`pool_folds` pools the held-out checks of reports fitted on complementary halves.

Example:
  >>> fold = lambda ids, m, p: {"held_out_question_ids": ids, "held_out_debates": 4,
  ...     "measured_held_out": dict.fromkeys(CHECKED_MEASURES, m),
  ...     "measured_held_out_se": dict.fromkeys(CHECKED_MEASURES, 0.1),
  ...     "model": {"predicted": {k: {"mean": p} for k in CHECKED_MEASURES}}}
  >>> pooled = pool_folds([fold(["a"], 0.2, 0.3), fold(["b"], 0.4, 0.3)])["pooled"]
  >>> [round(pooled["debate_accuracy"][k], 4) for k in ("measured", "se", "predicted")]
  [0.3, 0.0707, 0.3]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from slmmux_theory.discussion.measures import (
    classify_failures,
    failure_label_shares,
    groupthink_measures,
    measure_values,
)
from slmmux_theory.discussion.standard_errors import (
    clustered_standard_error,
    per_debate_standard_errors,
)

__all__ = ["CHECKED_MEASURES", "check_against_prediction", "pool_folds"]

CHECKED_MEASURES = ("debate_accuracy", "independent_accuracy", "flip_correct_to_wrong",
                    "flip_wrong_to_correct", "lost_correct", "final_consensus_on_wrong")
"""The issue's target measures (debate accuracy and the flip rates) and the other held-out ones."""


def check_against_prediction(answers, num_answers: int, question_ids: Sequence[str],
                             predicted: Mapping[str, Mapping[str, Any]],
                             tolerance: float = 0.03) -> dict[str, Any]:  # fmt: skip
    """Measured rates of debates beside their frozen prediction.

    Args:
      answers: slot indices of the checked debates, shape [debates, rounds, agents].
      num_answers: A.
      question_ids: the question of each debate, length [debates] (for clustering).
      predicted: measure -> ``{"mean", "interval90", "predictive90"}`` for these questions.
      tolerance: target |measured − predicted|.

    Returns:
      ``{"rows": measure -> {measured, se, se_clustered, predicted, interval90, predictive90,
      abs_diff, within_tolerance, inside_predictive90}, "failure_labels": label shares}``.
    """
    answers = np.asarray(answers)
    measured = measure_values(groupthink_measures(answers, num_answers))
    se = per_debate_standard_errors(answers, num_answers)
    rows = {}
    for measure in CHECKED_MEASURES:
        prediction = predicted[measure]
        diff = abs(measured[measure] - prediction["mean"])
        low, high = prediction["predictive90"]
        rows[measure] = {
            "measured": measured[measure], "se": se[measure],
            "se_clustered": clustered_standard_error(answers, num_answers, question_ids, measure),
            "predicted": prediction["mean"], "interval90": prediction["interval90"],
            "predictive90": prediction["predictive90"], "abs_diff": diff,
            "within_tolerance": bool(diff <= tolerance),
            "inside_predictive90": bool(low <= measured[measure] <= high),
        }  # fmt: skip
    return {"rows": rows,
            "failure_labels": failure_label_shares(classify_failures(answers, num_answers))}


def pool_folds(folds: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Pool the held-out checks of reports fitted on complementary halves (cross-fitting).

    Each fold's held-out measurement and prediction are weighted by its held-out debates; the
    folds' held-out debates are disjoint, so the pooled measurement's standard error is
    ``sqrt(sum((w * se) ** 2))``. Misses of opposite sign cancel in the pooled difference, so
    the debate-weighted mean of the folds' |measured − predicted| is reported beside it. Flip
    rates are pooled the same way (a debate-weighted mean of the folds' ratio estimates, not
    the ratio over all debates).

    Args:
      folds: report results (``held_out_question_ids``, ``held_out_debates``,
        ``measured_held_out``, ``measured_held_out_se``, ``model.predicted``), one per fold.

    Raises:
      ValueError: with fewer than two folds, a fold without held-out question ids, or two
        folds holding out the same question.
    """
    if len(folds) < 2:
        raise ValueError("--folds: give at least two result.json files")
    seen: set = set()
    for fold in folds:
        ids = set(fold.get("held_out_question_ids") or ())
        if not ids:
            raise ValueError("--folds: a result.json has no held_out_question_ids (rerun the "
                             "report with this version)")
        if ids & seen:
            raise ValueError(f"--folds: the folds hold out {len(ids & seen)} question(s) twice; "
                             "give a report and its --swap-halves twin")
        seen |= ids
    debates = np.array([float(fold["held_out_debates"]) for fold in folds])
    weights = debates / debates.sum()
    pooled = {}
    for name in CHECKED_MEASURES:
        measured = np.array([fold["measured_held_out"][name] for fold in folds], dtype=float)
        se = np.array([fold["measured_held_out_se"].get(name, math.nan) for fold in folds],
                      dtype=float)  # fmt: skip
        predicted = np.array([fold["model"]["predicted"][name]["mean"] for fold in folds],
                             dtype=float)  # fmt: skip
        pooled[name] = {"measured": float(weights @ measured),
                        "se": float(math.sqrt(float(((weights * se) ** 2).sum()))),
                        "predicted": float(weights @ predicted),
                        "difference": float(weights @ (measured - predicted)),
                        # Opposite fold misses cancel in the pooled difference; this does not.
                        "mean_abs_fold_difference": float(weights @ np.abs(measured - predicted))}
    return {"questions": len(seen), "debates": int(debates.sum()),
            "weights": weights.tolist(), "pooled": pooled}  # fmt: skip
