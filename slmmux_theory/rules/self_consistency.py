"""Self-consistency as a rule value: the plurality of the first model's own samples.

Assembles :func:`slmmux_theory.rules.base.plurality_vote` and the per-model plurality law
(:func:`slmmux_theory.engines.counts.plurality_kernel`) into :data:`SELF_CONSISTENCY`. Only the
first model is read and sampled. Rules layer: pure.
"""

from __future__ import annotations

import jax.numpy as jnp

from slmmux_theory.engines.counts import as_count_distribution, plurality_kernel
from slmmux_theory.rules.base import plurality_vote
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, first_model_cost, fixed_cost_result

__all__ = ["SELF_CONSISTENCY", "self_consistency_accuracy_exact"]


def self_consistency_accuracy_exact(distribution, k: int | None = None) -> jnp.ndarray:
    """Exact plurality (self-consistency) accuracy of every model, shape [models, questions]."""
    counts = as_count_distribution(distribution, k)
    kernel = plurality_kernel(counts.vectors)
    return counts.probs @ jnp.asarray(kernel)


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    outcome = plurality_vote(counts[0], key, "random", first_seen[0])
    return Selection(outcome.answer, counts[0].sum())


def _exact(counts, context: RuleContext):
    per_question = self_consistency_accuracy_exact(counts.subset([0]), counts.k)[0]
    return fixed_cost_result(per_question, counts, context, first_model_cost)


SELF_CONSISTENCY = Rule("self-consistency", _select, _exact, first_model_cost,
                        first_model_only=True, level_engine=True,
                        replay_report=True)
