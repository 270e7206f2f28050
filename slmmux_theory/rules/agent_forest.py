"""Agent Forest as a rule value: plurality over the union of every model's samples.

Assembles :func:`slmmux_theory.rules.base.pooled_vote` and its exact law into
:data:`AGENT_FOREST` (METHODS.md §4.2): uniform ties through the convolution of the models' count
laws (:mod:`slmmux_theory.engines.pooled`), first-seen ties (models in order, then samples)
through the product of per-model count vectors (:mod:`slmmux_theory.engines.product`).
Rules layer: pure.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import ExactResult, as_count_distribution
from slmmux_theory.engines.pooled import pooled_uniform_accuracy, pooled_vote_accuracy_batched
from slmmux_theory.engines.product import first_seen_share, product_accuracy
from slmmux_theory.rules.base import pooled_vote
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, all_models_cost, fixed_cost_result

__all__ = ["AGENT_FOREST", "pooled_vote_accuracy_exact"]


def pooled_vote_accuracy_exact(
    distribution, k: int | None = None, tie: str = "random"
) -> jnp.ndarray:
    """Exact Agent Forest accuracy (plurality over all models' samples), shape [questions].

    Uniform ties use the convolution of the models' count laws; ``tie="first_seen"`` (models in
    order, then samples) needs per-model counts and enumerates their product.
    """
    counts = as_count_distribution(distribution, k)
    if tie == "first_seen":
        return product_accuracy(counts, _pooled_first_seen_kernel)[0]
    if tie != "random":
        raise ValueError(f"tie must be 'random' or 'first_seen', got {tie!r}")
    if counts.probs.shape[0] == 2:
        return pooled_vote_accuracy_batched(counts.probs[None], counts.k,
                                            counts.num_answers)[0]
    return pooled_uniform_accuracy(counts)


def _pooled_top(tuples):
    """Which valid answers hold the most pooled samples, shape [tuples, answers - 1]."""
    total = tuples[:, :, :-1].sum(axis=1)
    top = total.max(axis=1)
    return (total == top[:, None]) & (top[:, None] > 0)


def _pooled_first_seen_kernel(tuples):
    spent = np.full(tuples.shape[0], float(tuples[0].sum()))
    return first_seen_share(tuples, _pooled_top(tuples)), spent


def _known_counts(counts, context: RuleContext) -> ExactResult:
    """The pooled vote of known count vectors [models, questions, answers]: its tie share."""
    tuples = np.asarray(counts).transpose(1, 0, 2)
    is_top = _pooled_top(tuples)
    if context.pooled_tie == "first_seen":
        correct = first_seen_share(tuples, is_top)
    else:
        correct = is_top[:, 0] / np.maximum(is_top.sum(axis=1), 1)
    spent = tuples.sum(axis=(1, 2)).astype(np.float64)
    return ExactResult(jnp.asarray(correct.mean()), jnp.asarray(correct), jnp.asarray(spent))


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    outcome = pooled_vote(counts, key, context.pooled_tie, first_seen)
    return Selection(outcome.answer, counts.sum())


def _exact(counts, context: RuleContext):
    per_question = pooled_vote_accuracy_exact(counts, counts.k, tie=context.pooled_tie)
    return fixed_cost_result(per_question, counts, context)


AGENT_FOREST = Rule("agent-forest", _select, _exact, all_models_cost, enumerates_products=True,
                    pair_engine=True, pooled=True, budget=True, replay_report=True,
                    known_counts=_known_counts)
