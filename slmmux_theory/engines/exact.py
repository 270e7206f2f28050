"""Exact accuracy of every registered rule by enumerating count vectors (engines layer).

Given the question, each model's ``k`` samples produce a count vector over the A answer slots;
models are independent. A rule's correctness probability is therefore a sum over count vectors
(METHODS.md §5.3). :func:`exact_accuracy` builds the models' count laws
(:mod:`slmmux_theory.engines.counts`: multinomial, or hypergeometric for an exact replay of
recorded samples) and hands them to the rule's own ``exact`` law, looked up in the registry
(:mod:`slmmux_theory.rules.registry`). The enumeration pieces live beside this module:

* :mod:`~slmmux_theory.engines.levels`: SLM-MUX's per-model confidence-level laws (linear in
  the number of models);
* :mod:`~slmmux_theory.engines.pooled`: the pooled count law of Agent Forest's uniform ties;
* :mod:`~slmmux_theory.engines.product`: tuples of per-model count vectors (ModelSwitch,
  first-seen ties, the confidence-weighted vote; a few models only).

Each rule's exact kernel lives in its rule module and is re-exported here under its old path.
"""

from __future__ import annotations

import numpy as np

from slmmux_theory.engines.counts import (
    CountDistribution,
    ExactResult,
    count_vectors,
    hypergeometric_counts,
    multinomial_counts,
)
from slmmux_theory.engines.levels import (
    MuxLevels,
    mux_accuracy_from_levels,
    mux_levels,
    mux_subset_accuracy,
)
from slmmux_theory.engines.pooled import pooled_vote_accuracy_batched
from slmmux_theory.rules.agent_forest import pooled_vote_accuracy_exact
from slmmux_theory.rules.base import MuxConfig, SwitchConfig
from slmmux_theory.rules.confidence_weighted import confidence_weighted_accuracy_exact
from slmmux_theory.rules.model_switch import model_switch_exact
from slmmux_theory.rules.oracle import oracle_accuracy_exact
from slmmux_theory.rules.registry import get_rule
from slmmux_theory.rules.rule import Rule, RuleContext
from slmmux_theory.rules.self_consistency import self_consistency_accuracy_exact
from slmmux_theory.rules.slm_mux import mux_accuracy_exact

__all__ = [
    "CountDistribution",
    "ExactResult",
    "MuxLevels",
    "confidence_weighted_accuracy_exact",
    "count_vectors",
    "exact_accuracy",
    "hypergeometric_counts",
    "model_switch_exact",
    "multinomial_counts",
    "mux_accuracy_exact",
    "mux_accuracy_from_levels",
    "mux_levels",
    "mux_subset_accuracy",
    "oracle_accuracy_exact",
    "pooled_vote_accuracy_batched",
    "pooled_vote_accuracy_exact",
    "self_consistency_accuracy_exact",
]


def exact_accuracy(
    rule: str | Rule,
    probs,
    k: int | None = None,
    *,
    mux_config: MuxConfig = MuxConfig(),
    switch_config: SwitchConfig = SwitchConfig(),
    validation_accuracy=None,
    prior_weights=None,
    pooled_tie: str = "random",
) -> ExactResult:
    """Exact accuracy of a rule (a name in :data:`slmmux_theory.rules.RULES`, or a Rule value).

    ``probs`` is a probability tensor [models, questions, answers] (multinomial sampling) or a
    :class:`CountDistribution` (e.g. :func:`hypergeometric_counts` for an exact replay of
    recorded samples). ``self-consistency`` uses the first model only; ``oracle`` is
    ``any_mode``. The keyword options form the rule's
    :class:`~slmmux_theory.rules.rule.RuleContext`.

    >>> import numpy as np
    >>> probs = np.array([[[0.6, 0.2, 0.2, 0.0]], [[0.5, 0.5, 0.0, 0.0]]])
    >>> round(float(exact_accuracy("agent-forest", probs, 3).accuracy), 4)
    0.6895
    """
    rule = get_rule(rule)
    if isinstance(probs, CountDistribution):
        k = probs.k if k is None else k
    if k is None or int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    k = int(k)
    if not isinstance(probs, CountDistribution):
        probs = multinomial_counts(probs, k)
    elif probs.k != k:
        raise ValueError("k disagrees with the CountDistribution given")
    num_models = probs.probs.shape[0]
    for name, value in [("validation_accuracy", validation_accuracy), ("prior_weights", prior_weights)]:
        if value is not None and np.shape(value) != (num_models,):
            raise ValueError(f"{name} must have one entry per model ({num_models}), got shape {np.shape(value)}")
    context = RuleContext(
        mux_config=mux_config,
        switch_config=switch_config,
        validation_accuracy=validation_accuracy,
        prior_weights=prior_weights,
        pooled_tie=pooled_tie,
    )
    return rule.exact(probs, context)
