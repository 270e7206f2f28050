"""Weighted majority vote with closed-form log-odds weights (the one-coin Dawid–Skene vote).

Model: a sample of model i is correct with probability ``p_i``, else it lands on one of ``A - 1``
wrong answers uniformly, independently of everything else. The log-likelihood that answer ``a``
is the true one is then ``Σ_i c_i(a) log(p_i (A - 1) / (1 - p_i))`` plus a constant, so the
maximum-likelihood answer is the weighted vote with ``w_i = log(p_i (A - 1) / (1 - p_i))``: the
log-odds that one of model i's samples is on the true answer rather than on one given wrong
answer. On real data wrong answers cluster, so ``A - 1`` is not the number of slots: we use the
*effective* number of wrong answers, ``1 / P(two wrong samples of a question agree)``, which is
exactly ``A - 1`` under the model and is estimated from the validation questions (pairs of wrong
samples, pooled over models). ``p_i`` is model i's validation per-sample accuracy, clipped to
``[1/(2N), 1 - 1/(2N)]`` (N its validation samples) so a perfect model gets a finite weight; a
negative weight (a model less likely to be right than to hit a given wrong answer) is set to 0.
Rules layer: pure (NumPy learning, shared JAX selection).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from slmmux_theory.rules.rule import Rule, RuleContext, all_models_cost
from slmmux_theory.rules.weighted_vote import weighted_vote_exact, weighted_vote_select

__all__ = ["WEIGHTED_VOTE_LOG_ODDS", "effective_wrong_answers", "log_odds_weights"]


def effective_wrong_answers(samples, num_answers: int) -> float:
    """``1 / P(two distinct wrong samples of a question hold the same answer)``, pooled over models.

    Args:
      samples: slot indices, int [models, questions, n] (``-1`` missing; slot 0 correct, last ⊥).
      num_answers: A.

    Returns:
      the effective number of wrong answers (>= 1); 1 when no question has two wrong samples.

    >>> effective_wrong_answers(np.array([[[1, 1, 2, 0]]]), 4)  # pairs (1,1),(1,2),(1,2): 1 of 3
    3.0
    """
    samples = np.asarray(samples)
    wrong = (samples > 0) & (samples < num_answers - 1)
    counts = np.stack([np.bincount(samples[:, q][wrong[:, q]], minlength=num_answers)
                       for q in range(samples.shape[1])]).astype(np.float64)
    total = counts.sum(axis=1)
    pairs = (total * (total - 1)).sum()
    agreeing = (counts * (counts - 1)).sum()
    if pairs == 0 or agreeing == 0:
        return 1.0 if pairs == 0 else float(pairs)
    return max(1.0, float(pairs / agreeing))


def log_odds_weights(accuracy, num_samples, wrong_answers: float) -> np.ndarray:
    """``max(0, log(p_i (A - 1) / (1 - p_i)))`` with ``p_i`` clipped to ``[1/(2N_i), 1 - 1/(2N_i)]``.

    Args:
      accuracy: per-sample accuracy per model, shape [models].
      num_samples: samples behind each accuracy, shape [models].
      wrong_answers: A - 1 (effective).

    >>> log_odds_weights([0.5, 0.9], [10, 10], 1.0).round(4).tolist()
    [0.0, 2.1972]
    """
    accuracy = np.asarray(accuracy, dtype=np.float64)
    floor = 0.5 / np.maximum(np.asarray(num_samples, dtype=np.float64), 1.0)
    p = np.clip(accuracy, floor, 1.0 - floor)
    return np.maximum(0.0, np.log(p * wrong_answers / (1.0 - p)))


def _learn(context: RuleContext, samples, num_answers: int, k: int, key=None) -> RuleContext:
    samples = np.asarray(samples)
    recorded = (samples >= 0).sum(axis=(1, 2))
    accuracy = (samples == 0).sum(axis=(1, 2)) / np.maximum(recorded, 1)
    weights = log_odds_weights(accuracy, recorded, effective_wrong_answers(samples, num_answers))
    if not weights.any():  # nobody beats chance: the plain vote
        weights = np.ones_like(weights)
    return replace(context, model_weights=weights)


WEIGHTED_VOTE_LOG_ODDS = Rule("weighted-vote-log-odds", weighted_vote_select, weighted_vote_exact,
                              all_models_cost, enumerates_products=True, learn=_learn)
