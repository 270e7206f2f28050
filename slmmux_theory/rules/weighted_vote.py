"""The weighted majority vote: every sample of model i adds the weight ``w_i`` to its answer.

Shared by the two learned weightings (:mod:`~slmmux_theory.rules.weighted_vote_milp`, Best-of-∞'s
MILP, and :mod:`~slmmux_theory.rules.weighted_vote_log_odds`, closed-form log-odds); they differ
only in how ``RuleContext.model_weights`` is learned on validation questions. The score of
answer ``a`` is ``Σ_i w_i c_i(a)``; with the same k for every model this is Best-of-∞'s
``Σ_i w_i p_i(a)`` (answer shares) up to the factor k. The heaviest valid answer wins; exact ties
(equal weights, small k) are broken uniformly at random, as Agent Forest's are, so with equal
weights the rule *is* Agent Forest. The exact law enumerates the product of the models' count
vectors (:mod:`slmmux_theory.engines.product`): a few models only; on many models the replay is
by Monte Carlo subsampling (:mod:`slmmux_theory.engines.subsample`). Rules layer: pure.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import CountDistribution
from slmmux_theory.engines.product import product_accuracy
from slmmux_theory.rules.base import _vote
from slmmux_theory.rules.rule import RuleContext, Selection, all_models_cost, fixed_cost_result

__all__ = ["context_weights", "weighted_vote_exact", "weighted_vote_select"]


def context_weights(context: RuleContext, num_models: int) -> np.ndarray:
    """The per-model weights of ``context`` (equal weights when none were learned), shape [models].

    >>> context_weights(RuleContext(), 2).tolist()
    [1.0, 1.0]
    """
    if context.model_weights is None:
        return np.ones(num_models)
    weights = np.asarray(context.model_weights, dtype=np.float64)
    if weights.shape != (num_models,):
        raise ValueError(f"model_weights has {weights.size} entries for {num_models} models")
    return weights


def weighted_vote_select(counts, first_seen, key, context: RuleContext) -> Selection:
    """The weighted vote on one question.

    Args:
      counts: answer counts, shape [models, answers] (last slot ⊥, ignored).
      first_seen: unused (the rule's ties are random).
      key: jax.random key for ties.
      context: ``model_weights`` (default equal).

    >>> import jax, jax.numpy as jnp
    >>> context = RuleContext(model_weights=[1.0, 3.0])
    >>> int(weighted_vote_select(jnp.array([[2, 0, 0], [0, 1, 0]]), None, jax.random.PRNGKey(0),
    ...                          context).answer)
    1
    """
    counts = jnp.asarray(counts)
    weights = (jnp.ones(counts.shape[0]) if context.model_weights is None
               else jnp.asarray(context.model_weights, dtype=jnp.float64))
    scores = weights @ counts[:, :-1].astype(jnp.float64)
    choice, _, valid, _ = _vote(scores, key, "random", None)
    return Selection(jnp.where(valid, choice, counts.shape[1] - 1), counts.sum())


def _kernel(tuples, weights):
    scores = np.einsum("tma,m->ta", tuples[:, :, :-1].astype(np.float64), weights)
    best = scores.max(axis=1, keepdims=True)
    is_best = (scores >= best - 1e-9 * np.maximum(best, 1.0)) & (best > 0)
    correct = is_best[:, 0] / np.maximum(is_best.sum(axis=1), 1)
    return correct.astype(np.float64), tuples.sum(axis=(1, 2)).astype(np.float64)


def weighted_vote_exact(counts: CountDistribution, context: RuleContext):
    """Exact law of the weighted vote: :class:`ExactResult`, enumerating count-vector tuples."""
    weights = context_weights(context, counts.probs.shape[0])
    per_question, _ = product_accuracy(counts, _kernel, weights=weights)
    return fixed_cost_result(per_question, counts, context, all_models_cost)
