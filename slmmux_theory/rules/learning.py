"""One learning entry point: a rule's options from validation questions (rules layer, pure).

:func:`learn_context` gives any registered rule the :class:`~slmmux_theory.rules.rule.RuleContext`
it is evaluated with on *other* questions: the cross-model tie ranks from each model's validation
per-sample accuracy (every rule), then whatever the rule itself learns (``Rule.learn``: weights of
the weighted votes, the stopping threshold, the posterior rule's answer law). Nothing here sees
the questions being evaluated.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from slmmux_theory.rules.registry import get_rule
from slmmux_theory.rules.rule import Rule, RuleContext

__all__ = ["learn_context", "validation_accuracy"]


def validation_accuracy(samples) -> np.ndarray:
    """Per-sample accuracy of each model over its recorded samples (``-1`` skipped), [models].

    >>> validation_accuracy(np.array([[[0, 1, -1]], [[0, 0, 0]]])).tolist()
    [0.5, 1.0]
    """
    samples = np.asarray(samples)
    recorded = (samples >= 0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(recorded > 0, (samples == 0).sum(axis=(1, 2)) / np.maximum(recorded, 1),
                        np.nan)


def learn_context(rule: str | Rule, samples, num_answers: int, k: int, key=None,
                  context: RuleContext = RuleContext()) -> RuleContext:
    """The rule's options learned on validation questions.

    Args:
      rule: a registered rule (name or value).
      samples: slot indices of the validation questions, int [models, questions, n]
        (``-1`` missing; slot 0 correct, last slot ⊥), the models in the order the rule is
        applied to.
      num_answers: A.
      k: samples per model the rule will be run with (a threshold is chosen for it).
      key: jax.random key for rules that learn by simulation (the stopping threshold).
      context: options to start from (e.g. a non-default ``mux_config``).

    Returns:
      ``context`` with ``validation_accuracy`` set and the rule's own parameters.

    >>> learn_context("slm-mux", np.array([[[0, 1]], [[0, 0]]]), 3, 2).tie_ranks(2).tolist()
    [1, 0]
    """
    rule = get_rule(rule)
    samples = np.asarray(samples)
    context = replace(context, validation_accuracy=validation_accuracy(samples))
    if rule.learn is not None:
        context = rule.learn(context, samples, num_answers, k, key)
    return context
