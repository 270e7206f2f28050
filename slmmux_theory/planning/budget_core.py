"""Choosing under a budget: the one core that both budget planners share (planning layer, pure).

Two planners split a per-question budget between models and samples per model: the book's
:func:`slmmux_theory.planning.budget.models_vs_samples` (exact accuracies from answer
distributions or posterior draws) and the plan's split from a pilot
(:mod:`slmmux_theory.planning.pilot_budget`, accuracy draws from replayed pools). Their inputs
and reason lines differ; what they decide with is here, once:

* :func:`fits`: whether a cost fits a budget (a relative slack of 1e-12 for float sums);
* :func:`best_index`: the best candidate, with a tie option: ``"first"`` keeps the first
  candidate more than ``tolerance`` better than the one kept so far (the plan; with a tolerance
  of 0, the first maximum), ``"cheapest"`` takes the cheapest of those within ``tolerance`` of
  the best (the book);
* :func:`larger_subsets`: the candidates "one more model" compares with: every subset with one
  more member, or only the supersets of the chosen members;
* :func:`draws_gain`: a marginal gain and its central interval over accuracy draws;
* :func:`pareto_front`: the candidates no other candidate beats on both cost and accuracy;
* :class:`Candidate` and :class:`MarginalGain`: the typed candidate and step.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

__all__ = [
    "ACCURACY_TOLERANCE",
    "BUDGET_SLACK",
    "Candidate",
    "GainEstimate",
    "MarginalGain",
    "TIES",
    "best_index",
    "draws_gain",
    "fits",
    "larger_subsets",
    "pareto_front",
]

# Accuracies closer than this count as equal when choosing the optimum.
ACCURACY_TOLERANCE = 1e-12
# A cost fits a budget up to this relative slack (sums of float costs).
BUDGET_SLACK = 1e-12
TIES = ("first", "cheapest")


class Candidate(NamedTuple):
    """One (rule, subset, samples per model) candidate and its predicted accuracy.

    Attributes:
      rule: a registered rule name.
      subset: model indices; for ModelSwitch, in visiting order.
      k: samples per model (ModelSwitch: n per model).
      cost: expected cost per question, mean over questions (and draws).
      accuracy: predicted accuracy, mean over draws.
      accuracy_draws: predicted accuracy per draw, shape [draws].
      accuracy_interval: central interval of ``accuracy_draws``, (low, high).
      feasible: whether ``cost`` fits the budget.
    """

    rule: str
    subset: tuple[int, ...]
    k: int
    cost: float
    accuracy: float
    accuracy_draws: np.ndarray
    accuracy_interval: tuple[float, float]
    feasible: bool


class MarginalGain(NamedTuple):
    """Predicted effect of one step away from the chosen candidate.

    Attributes:
      kind: ``"more_models"`` (best subset of size K+1 at the same k) or ``"more_samples"``
        (same subset at k+1).
      candidate: the candidate reached by that step.
      gain: accuracy change, mean over draws.
      gain_interval: central interval of the per-draw gains, (low, high).
      extra_cost: cost change per question.
    """

    kind: str
    candidate: Candidate
    gain: float
    gain_interval: tuple[float, float]
    extra_cost: float


class GainEstimate(NamedTuple):
    """A gain over accuracy draws.

    Attributes:
      mean: mean gain over draws.
      low, high: central interval of the per-draw gains.
      draws: per-draw gains, shape [draws].
    """

    mean: float
    low: float
    high: float
    draws: np.ndarray


def fits(cost, budget: float):
    """Whether ``cost`` (a number or an array) fits ``budget``, up to :data:`BUDGET_SLACK`.

    >>> fits(3.0, 3), fits(3.1, 3)
    (True, False)
    """
    return cost <= budget * (1.0 + BUDGET_SLACK)


def best_index(accuracies: Sequence[float], costs: Sequence[float] | None = None, *,
               ties: str = "first", tolerance: float = ACCURACY_TOLERANCE) -> int | None:
    """Index of the best candidate (None when there is none).

    Args:
      accuracies: predicted accuracy per candidate, in enumeration order.
      costs: cost per candidate (needed for ``ties="cheapest"``).
      ties: ``"first"``: scan in order and keep a candidate only when it is more than
        ``tolerance`` better than the one kept (tolerance 0: the first maximum);
        ``"cheapest"``: the cheapest of the candidates within ``tolerance`` of the best, the
        first of equal costs.
      tolerance: accuracies closer than this count as equal.

    >>> best_index([0.5, 0.7, 0.7 + 1e-13], [1, 3, 2])
    1
    >>> best_index([0.5, 0.7, 0.7 + 1e-13], [1, 3, 2], ties="cheapest")
    2
    """
    if ties not in TIES:
        raise ValueError(f"ties must be one of {TIES}, got {ties!r}")
    if len(accuracies) == 0:
        return None
    if ties == "first":
        best = None
        for i, value in enumerate(accuracies):
            if best is None or value > accuracies[best] + tolerance:
                best = i
        return best
    if costs is None:
        raise ValueError("ties='cheapest' needs the costs")
    top = max(accuracies)
    near = [i for i, value in enumerate(accuracies) if value >= top - tolerance]
    return min(near, key=lambda i: costs[i])  # min keeps the first of equal costs


def larger_subsets(subsets: np.ndarray, members: Sequence[int], *,
                   supersets_only: bool) -> np.ndarray:
    """Rows of ``subsets`` with one more member than ``members``: "one more model".

    Args:
      subsets: model indices, int [subsets, max_size], -1 padded.
      members: the chosen models.
      supersets_only: keep only the rows that contain every chosen model (the plan) instead of
        every subset of the next size (the book).

    Returns:
      row indices, in ``subsets`` order.

    >>> rows = np.array([[0, -1], [1, -1], [0, 1], [1, 2], [0, 2]])
    >>> larger_subsets(rows, [0], supersets_only=True).tolist()
    [2, 4]
    >>> larger_subsets(rows, [0], supersets_only=False).tolist()
    [2, 3, 4]
    """
    subsets = np.asarray(subsets)
    keep = (subsets >= 0).sum(1) == len(members) + 1
    if supersets_only:
        chosen = np.asarray(members)
        keep &= np.all((subsets[:, :, None] == chosen[None, None]).any(1), axis=1)
    return np.flatnonzero(keep)


def draws_gain(base_draws, other_draws, level: float = 0.9) -> GainEstimate:
    """The gain of a step over accuracy draws: mean and central ``level`` interval.

    >>> gain = draws_gain(np.zeros(11), np.arange(11.0) / 10)
    >>> round(gain.mean, 6), round(gain.low, 6), round(gain.high, 6)
    (0.5, 0.05, 0.95)
    """
    differences = np.asarray(other_draws) - np.asarray(base_draws)
    low, high = np.quantile(differences, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return GainEstimate(float(differences.mean()), float(low), float(high), differences)


def pareto_front(costs, accuracies) -> np.ndarray:
    """Indices of the candidates that no other candidate dominates.

    ``j`` dominates ``i`` when ``cost_j ≤ cost_i``, ``accuracy_j ≥ accuracy_i`` and one of the
    two is strict. Exact duplicates do not dominate each other and are both kept.

    Args:
      costs: shape [candidates].
      accuracies: shape [candidates].

    Returns:
      indices sorted by increasing cost, shape [front].

    >>> pareto_front([1, 2, 2, 3, 4], [0.5, 0.4, 0.6, 0.6, 0.7]).tolist()
    [0, 2, 4]
    """
    costs = np.asarray(costs, dtype=np.float64).ravel()
    accuracies = np.asarray(accuracies, dtype=np.float64).ravel()
    if costs.shape != accuracies.shape:
        raise ValueError(f"costs {costs.shape} and accuracies {accuracies.shape} differ in shape")
    if costs.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((-accuracies, costs))
    sorted_costs, sorted_acc = costs[order], accuracies[order]
    starts = np.flatnonzero(np.r_[True, sorted_costs[1:] != sorted_costs[:-1]])
    group_max = np.maximum.reduceat(sorted_acc, starts)
    # Best accuracy among strictly cheaper candidates, for each cost group.
    cheaper_best = np.r_[-np.inf, np.maximum.accumulate(group_max)[:-1]]
    group = np.searchsorted(starts, np.arange(order.size), side="right") - 1
    keep = (sorted_acc == group_max[group]) & (sorted_acc > cheaper_best[group])
    return order[keep]
