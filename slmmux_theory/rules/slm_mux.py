"""SLM-MUX as a rule value: selection by the most confident model, exact law by confidence levels.

Assembles :func:`slmmux_theory.rules.base.mux_select` (selection on sampled counts) and the
factorised level laws of :mod:`slmmux_theory.engines.levels` (exact accuracy, linear in the
number of models) into :data:`SLM_MUX` (METHODS.md §1.2-1.4, §5.3). Rules layer: pure.
"""

from __future__ import annotations

import jax.numpy as jnp

from slmmux_theory.engines.counts import as_count_distribution
from slmmux_theory.engines.levels import mux_accuracy_from_levels, mux_levels
from slmmux_theory.rules.base import MuxConfig, mux_select, mux_tie_ranks
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, all_models_cost, fixed_cost_result

__all__ = ["SLM_MUX", "mux_accuracy_exact"]


def mux_accuracy_exact(
    distribution,
    k: int | None = None,
    *,
    config: MuxConfig = MuxConfig(),
    validation_accuracy=None,
    priority=None,
) -> jnp.ndarray:
    """Exact per-question SLM-MUX accuracy.

    Args:
      distribution: probabilities [models, questions, answers] or a :class:`CountDistribution`.
      k: k (with probabilities).
      config: SLM-MUX options; the intra-model tie rule does not change the law (§1.3c).
      validation_accuracy: shape [models], for the paper's tie-break.
      priority: explicit tie ranks, overriding ``validation_accuracy``.

    Returns:
      shape [questions].

    >>> import numpy as np
    >>> probs = np.array([[[0.6, 0.2, 0.2, 0.0]], [[0.1, 0.9, 0.0, 0.0]]])
    >>> round(float(mux_accuracy_exact(probs, 3)[0]), 6)
    0.337296
    """
    counts = as_count_distribution(distribution, k)
    levels = mux_levels(counts, config.confidence_denominator)
    rank = mux_tie_ranks(config, counts.probs.shape[0], validation_accuracy, priority)
    return mux_accuracy_from_levels(levels, rank, config.cross_model_tie)


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    priority = context.tie_ranks(counts.shape[0])
    outcome = mux_select(counts, priority, key, context.mux_config, first_seen)
    return Selection(outcome.answer, counts.sum())


def _exact(counts, context: RuleContext):
    per_question = mux_accuracy_exact(
        counts, config=context.mux_config, validation_accuracy=context.validation_accuracy,
        priority=context.priority,
    )
    return fixed_cost_result(per_question, counts, context)


SLM_MUX = Rule("slm-mux", _select, _exact, all_models_cost, live=True, level_engine=True,
               budget=True, replay_report=True)
