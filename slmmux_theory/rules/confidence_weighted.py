"""The confidence-weighted vote as a rule value: each model's mode votes with its confidence.

Modes and confidences are SLM-MUX's (:class:`slmmux_theory.rules.base.MuxConfig`); the heaviest
answer wins, ties going to the best-priority model that voted for it. Assembles
:func:`slmmux_theory.rules.base.confidence_weighted_vote` and its exact law (a kernel over the
product of the models' count vectors, :mod:`slmmux_theory.engines.product`) into
:data:`CONFIDENCE_WEIGHTED`. Rules layer: pure.
"""

from __future__ import annotations

import itertools

import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import as_count_distribution
from slmmux_theory.engines.product import product_accuracy
from slmmux_theory.rules.base import MuxConfig, confidence_weighted_vote, mux_tie_ranks
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, all_models_cost, fixed_cost_result

__all__ = ["CONFIDENCE_WEIGHTED", "confidence_weighted_accuracy_exact"]


def _confidence_weighted_kernel(tuples, denominator: str, priority, cross_model_tie: str):
    valid = tuples[:, :, :-1]
    num_tuples, num_models, num_valid = valid.shape
    top = valid.max(axis=2)
    is_top = (valid == top[:, :, None]) & (top[:, :, None] > 0)
    mode_prob = is_top / np.maximum(is_top.sum(axis=2, keepdims=True), 1)
    # A model with no valid answer casts no vote; give it one dummy choice of weight 1.
    mode_prob[:, :, 0] = np.where(top > 0, mode_prob[:, :, 0], 1.0)
    if denominator == "k":
        confidence = top / np.maximum(tuples.sum(axis=2), 1)
    else:
        confidence = top / np.maximum(valid.sum(axis=2), 1)
    choices = np.array(list(itertools.product(range(num_valid), repeat=num_models)))  # [C, M]
    rows = np.arange(num_models)
    choice_prob = np.prod(mode_prob[:, rows, choices], axis=2)  # [T, C]
    onehot = np.eye(num_valid)[choices]  # [C, M, A-1]
    voting = top > 0  # a model with no valid answer casts no vote
    scores = np.einsum("tm,cma->tca", confidence * voting, onehot)
    best = scores.max(axis=2, keepdims=True)
    is_best = (scores >= best - 1e-12) & (best > 0)
    if cross_model_tie == "random":
        correct = is_best[..., 0] / np.maximum(is_best.sum(axis=2), 1)
    else:
        # A tied answer's rank is that of the best-priority model voting for it.
        rank = np.where(voting, np.asarray(priority)[None, :], 1 << 30)  # [T, M]
        answer_rank = np.where(onehot[None] > 0, rank[:, None, :, None], 1 << 30).min(axis=2)
        winner = np.argmin(np.where(is_best, answer_rank, 1 << 31), axis=2)
        correct = (winner == 0) & is_best.any(axis=2)
    value = (choice_prob * correct).sum(axis=1)
    return value.astype(np.float64), np.full(num_tuples, float(tuples[0].sum()))


def confidence_weighted_accuracy_exact(
    distribution,
    k: int | None = None,
    *,
    config: MuxConfig = MuxConfig(),
    validation_accuracy=None,
    priority=None,
) -> jnp.ndarray:
    """Exact accuracy of the confidence-weighted vote (each model's mode weighted by its
    confidence), shape [questions]. Enumerates the product of count vectors (few models)."""
    counts = as_count_distribution(distribution, k)
    rank = np.asarray(mux_tie_ranks(config, counts.probs.shape[0], validation_accuracy, priority))
    return product_accuracy(
        counts,
        _confidence_weighted_kernel,
        denominator=config.confidence_denominator,
        priority=rank,
        cross_model_tie=config.cross_model_tie,
    )[0]


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    priority = context.tie_ranks(counts.shape[0])
    outcome = confidence_weighted_vote(counts, key, context.mux_config, first_seen, priority)
    return Selection(outcome.answer, counts.sum())


def _exact(counts, context: RuleContext):
    per_question = confidence_weighted_accuracy_exact(
        counts, config=context.mux_config, validation_accuracy=context.validation_accuracy,
        priority=context.priority,
    )
    return fixed_cost_result(per_question, counts, context)


CONFIDENCE_WEIGHTED = Rule("confidence-weighted", _select, _exact, all_models_cost,
                           enumerates_products=True)
