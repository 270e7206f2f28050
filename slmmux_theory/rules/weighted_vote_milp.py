"""Weighted majority vote with Best-of-∞'s MILP weights (Komiyama et al., METHODS.md §12.1).

The weights maximise the number of validation problems the *limit* of the weighted vote solves:
with answer shares ``p_ij(a)`` of model i on problem j (over its recorded samples; a model with
no valid answer contributes 0), variables ``w_i ∈ [0, 1]`` with ``Σ_i w_i = 1`` and binary
``y_j``::

    maximise Σ_j y_j  subject to  Σ_i w_i (p_ij(gold) - p_ij(a)) >= m - M (1 - y_j)

for every problem j and every wrong answer a seen on it (margin ``m``, big-M ``10^4``), solved by
HiGHS through :func:`scipy.optimize.milp`. Infeasible → equal weights. :func:`milp_weights` is the
pure learning function (scipy, no I/O); the selection and exact law are the shared weighted vote
(:mod:`slmmux_theory.rules.weighted_vote`). Rules layer.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from slmmux_theory.rules.rule import Rule, RuleContext, all_models_cost
from slmmux_theory.rules.weighted_vote import weighted_vote_exact, weighted_vote_select

__all__ = ["MilpWeights", "WEIGHTED_VOTE_MILP", "answer_shares", "milp_weights", "solved_problems"]

BIG_M = 1e4


class MilpWeights(NamedTuple):
    """Result of the weight MILP.

    Attributes:
      weights: per-model weights on the simplex, shape [models].
      solved: which validation problems the weights solve with the margin, bool [questions].
      optimal: whether HiGHS proved optimality (False: the equal-weights fallback).
    """

    weights: np.ndarray
    solved: np.ndarray
    optimal: bool


def answer_shares(samples, num_answers: int) -> np.ndarray:
    """Answer shares of each (model, question) over its recorded samples (``-1`` skipped).

    Args:
      samples: slot indices, int [models, questions, n].
      num_answers: A (last slot ⊥).

    Returns:
      shares, shape [models, questions, answers]; a row with no recorded sample is all 0.

    >>> answer_shares(np.array([[[0, 1, 1, -1]]]), 3).round(3).tolist()
    [[[0.333, 0.667, 0.0]]]
    """
    samples = np.asarray(samples)
    onehot = samples[..., None] == np.arange(num_answers)
    counts = onehot.sum(axis=2).astype(np.float64)
    total = counts.sum(axis=2, keepdims=True)
    return counts / np.maximum(total, 1.0)


def _margins(shares):
    """The rows ``p_ij(gold) - p_ij(a)`` [models] of every (problem, seen wrong answer)."""
    rows, problems = [], []
    wrong_seen = shares[:, :, 1:-1].max(axis=0) > 0  # [Q, A-2]
    for j, a in zip(*np.nonzero(wrong_seen)):
        rows.append(shares[:, j, 0] - shares[:, j, a + 1])
        problems.append(j)
    return np.asarray(rows).reshape(-1, shares.shape[0]), np.asarray(problems, dtype=int)


def milp_weights(shares, margin: float = 1e-3, big_m: float = BIG_M) -> MilpWeights:
    """Best-of-∞'s MILP: weights solving the most validation problems in the limit.

    Args:
      shares: answer shares, shape [models, questions, answers] (:func:`answer_shares`).
      margin: the margin ``m`` a solved problem's gold must lead every wrong answer by.
      big_m: the big-M constant.

    Returns:
      a :class:`MilpWeights`.

    >>> shares = np.array([[[0.8, 0.2, 0.0], [0.4, 0.6, 0.0]], [[0.1, 0.9, 0.0], [0.9, 0.1, 0.0]]])
    >>> result = milp_weights(shares)
    >>> int(result.solved.sum()), round(float(result.weights.sum()), 6)
    (2, 1.0)
    """
    shares = np.asarray(shares, dtype=np.float64)
    num_models, num_questions, _ = shares.shape
    rows, problems = _margins(shares)
    # Variables: w (models) then y (questions); maximise Σ y.
    objective = np.concatenate([np.zeros(num_models), -np.ones(num_questions)])
    constraints = [LinearConstraint(
        np.concatenate([np.ones(num_models), np.zeros(num_questions)])[None], 1.0, 1.0)]
    if len(rows):
        picks = np.zeros((len(rows), num_questions))
        picks[np.arange(len(rows)), problems] = -big_m
        constraints.append(LinearConstraint(np.hstack([rows, picks]), margin - big_m, np.inf))
    integrality = np.concatenate([np.zeros(num_models), np.ones(num_questions)])
    result = milp(objective, constraints=constraints, integrality=integrality,
                  bounds=Bounds(0.0, 1.0))
    if result.x is None:
        weights, optimal = np.full(num_models, 1.0 / num_models), False
    else:
        weights, optimal = np.clip(result.x[:num_models], 0.0, 1.0), bool(result.success)
        weights = weights / weights.sum()
    return MilpWeights(weights, solved_problems(shares, weights, margin), optimal)


def solved_problems(shares, weights, margin: float = 1e-3) -> np.ndarray:
    """Problems whose gold leads every seen wrong answer by ``margin`` under ``weights``.

    Returns:
      bool, shape [questions].
    """
    shares = np.asarray(shares, dtype=np.float64)
    rows, problems = _margins(shares)
    ok = np.ones(shares.shape[1], dtype=bool)
    if len(rows):
        np.logical_and.at(ok, problems, rows @ np.asarray(weights) >= margin - 1e-12)
    return ok


def _learn(context: RuleContext, samples, num_answers: int, k: int, key=None) -> RuleContext:
    from dataclasses import replace

    weights = milp_weights(answer_shares(samples, num_answers)).weights
    return replace(context, model_weights=weights)


WEIGHTED_VOTE_MILP = Rule("weighted-vote-milp", weighted_vote_select, weighted_vote_exact,
                          all_models_cost, enumerates_products=True, learn=_learn)
