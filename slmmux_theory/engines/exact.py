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
    "by_question_width",
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
    "pooled_vote_pairs_exact",
    "pooled_vote_accuracy_exact",
    "self_consistency_accuracy_exact",
]


def by_question_width(array, fn):
    """Apply ``fn`` to groups of questions of equal slot width, each compacted to that width.

    Exact enumerations grow steeply with the number of slots, and real questions differ: most
    use two or three answers, a few use ten. Grouping questions by the number of wrong slots
    the given models use (rounded up to even) lets each group pay only for its own width.

    Args:
      array: probabilities or counts, shape [models, questions, answers].
      fn: maps a compacted array [models, n, answers'] to per-question values [n, ...].

    Returns:
      the values of every question in the original order, shape [questions, ...].
    """
    from slmmux_theory.distributions import compact_slots

    array = np.asarray(array)
    width = (array[:, :, 1:-1] > 0).any(axis=0).sum(axis=1)
    width = np.maximum(width + width % 2, 2)
    pieces, order = [], []
    for bucket in np.unique(width):
        rows = np.nonzero(width == bucket)[0]
        group = compact_slots(array[:, rows], keep=int(bucket))[:, :, : int(bucket) + 2]
        pieces.append(np.asarray(fn(group)))
        order.append(rows)
    values = np.concatenate(pieces)
    result = np.empty_like(values)
    result[np.concatenate(order)] = values
    return result


def pooled_vote_pairs_exact(arrays, k: int, law: str = "multinomial") -> np.ndarray:
    """Agent Forest accuracy of many model pairs, question by question, with bounded cost.

    Each (pair, question) is compacted to the slots the pair uses there, and cells are grouped
    by that width, so a few questions with many distinct wrong answers do not make every
    question pay for the widest one.

    Args:
      arrays: probabilities (``law="multinomial"``) or recorded counts
        (``law="hypergeometric"``), shape [pairs, 2, questions, answers].
      k: k.
      law: how each model's k samples arise from its row.

    Returns:
      per-question accuracy, shape [pairs, questions].
    """
    from slmmux_theory.distributions import compact_slots

    arrays = np.asarray(arrays)
    num_pairs, _, num_questions, _ = arrays.shape
    cells = arrays.transpose(1, 0, 2, 3).reshape(2, num_pairs * num_questions, -1)
    width = (cells[:, :, 1:-1] > 0).any(axis=0).sum(axis=1)
    width = width + width % 2  # even widths: fewer distinct compiled shapes
    result = np.zeros(num_pairs * num_questions)
    make = multinomial_counts if law == "multinomial" else hypergeometric_counts
    for bucket in np.unique(width):
        rows = np.nonzero(width == bucket)[0]
        group = compact_slots(cells[:, rows], keep=int(bucket))[:, :, : int(bucket) + 2]
        counts = make(group, k)
        result[rows] = np.asarray(
            pooled_vote_accuracy_batched(counts.probs[None], k, counts.num_answers)[0])
    return result.reshape(num_pairs, num_questions)


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
