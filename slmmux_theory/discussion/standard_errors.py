"""Standard errors of measured groupthink rates: per debate, ratio (delta method), clustered.

Theory layer (``slmmux_theory.discussion``; NumPy, no I/O). A debate-level rate (accuracy,
lost-correct, final consensus on a wrong answer) is a mean over debates; a flip rate is a ratio
of events to opportunities summed over debates, whose standard error is the delta-method one of
:func:`ratio_standard_error`. Debates on the same question are not independent; the clustered
standard error (:func:`clustered_standard_error`) treats each question as one unit.

Example:
  >>> round(ratio_standard_error([1, 0, 1, 0], [1, 1, 1, 1]), 4)
  0.2887
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.discussion.measures import groupthink_measures

__all__ = ["clustered_standard_error", "per_debate_standard_errors", "ratio_standard_error"]

# Debate-level measures: a mean over debates, so its standard error is over per-debate values.
_DEBATE_LEVEL = (("debate_accuracy", lambda m: m.debate_accuracy.rate),
                 ("independent_accuracy", lambda m: m.independent_accuracy.rate),
                 ("lost_correct", lambda m: m.lost_correct.rate),
                 ("final_consensus_on_wrong", lambda m: m.final_consensus_on_wrong.rate))
_FLIPS = (("flip_correct_to_wrong", lambda m: m.flips.correct_to_wrong),
          ("flip_wrong_to_correct", lambda m: m.flips.wrong_to_correct))  # fmt: skip


def _mean_standard_error(values: np.ndarray) -> float:
    """Standard error (ddof 1) of the mean of the finite values; NaN below two."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    return float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size > 1 else math.nan


def ratio_standard_error(events, opportunities) -> float:
    """Delta-method standard error of sum(events) / sum(opportunities) over independent units.

    Args:
      events: events per unit, shape [units].
      opportunities: opportunities per unit, shape [units].

    Returns:
      The standard error, NaN with fewer than two units or no opportunity.

    >>> round(ratio_standard_error([1, 0, 1, 0], [1, 1, 1, 1]), 4)
    0.2887
    """
    events, opportunities = np.asarray(events, float), np.asarray(opportunities, float)
    total, units = opportunities.sum(), len(events)
    if total <= 0 or units < 2:
        return math.nan
    residual = events - events.sum() / total * opportunities
    return float(math.sqrt(units / (units - 1) * (residual ** 2).sum()) / total)


@partial(jax.jit, static_argnames="num_answers")
def _per_debate_measures(answers, num_answers: int):
    """:func:`groupthink_measures` of each debate alone, leading axis [debates]."""
    return jax.vmap(lambda one: groupthink_measures(one[None], num_answers))(answers)


def _rate_of(measures, measure: str):
    if measure.startswith("flip_"):
        return getattr(measures.flips, measure[len("flip_"):])
    return getattr(measures, measure)


def per_debate_standard_errors(answers, num_answers: int) -> dict[str, float]:
    """Standard errors treating debates as independent units (no bootstrap).

    Args:
      answers: slot indices, shape [debates, rounds, agents].
      num_answers: A.

    Returns:
      measure name -> standard error, for the debate-level rates and the two flip rates.

    >>> se = per_debate_standard_errors(np.array([[[0, 1], [0, 0]], [[1, 1], [1, 1]]]), 3)
    >>> se["debate_accuracy"]
    0.5
    """
    per = _per_debate_measures(jnp.asarray(np.asarray(answers)), int(num_answers))
    out = {}
    for name, pick in _DEBATE_LEVEL:
        out[name] = _mean_standard_error(np.asarray(pick(per)))
    for name, pick in _FLIPS:
        out[name] = ratio_standard_error(np.asarray(pick(per).events),
                                         np.asarray(pick(per).opportunities))
    return out


def clustered_standard_error(answers, num_answers: int, question_ids: Sequence[str],
                             measure: str) -> float:  # fmt: skip
    """Standard error of a pooled rate with debates clustered by question (ratio estimator).

    A question's events and opportunities are the sums of its debates' (every measure counts
    events and opportunities debate by debate).

    Args:
      answers: slot indices, shape [debates, rounds, agents].
      num_answers: A.
      question_ids: the question of each debate, length [debates].
      measure: a field of :class:`~slmmux_theory.discussion.measures.GroupthinkMeasures`, or
        ``"flip_correct_to_wrong"`` / ``"flip_wrong_to_correct"``.

    >>> a = np.array([[[0, 1], [1, 1]], [[0, 1], [0, 1]], [[0, 1], [1, 1]]])
    >>> round(clustered_standard_error(a, 3, ["q", "q", "r"], "debate_accuracy"), 4)
    0.1111
    """
    rate = _rate_of(_per_debate_measures(jnp.asarray(np.asarray(answers)), int(num_answers)),
                    measure)  # fmt: skip
    # Questions in first-seen order, as the units of the ratio estimator.
    _, first, cluster = np.unique(np.asarray(list(question_ids), dtype=object).astype(str),
                                  return_index=True, return_inverse=True)  # fmt: skip
    order = np.argsort(np.argsort(first))
    cluster = order[np.ravel(cluster)]
    events = np.zeros(first.size)
    chances = np.zeros(first.size)
    np.add.at(events, cluster, np.asarray(rate.events, dtype=float))
    np.add.at(chances, cluster, np.asarray(rate.opportunities, dtype=float))
    return ratio_standard_error(events, chances)
