"""The plan's budget split: the best (subset, k) per budget from a pilot's accuracy draws.

Place in the layers: planning (pure theory; no I/O). The plan from a pilot
(:mod:`slmmux_theory.planning.plan`) scores every subset of up to ``max_size`` models at every k
on its predicted laws; :func:`budget_split` then picks, per budget, the best (subset, k) whose
cost fits, and says why: the predicted gain of one more model (the best superset of one more
member at the same k) against one more sample per model. :func:`switch_budget` lets ModelSwitch
pairs compete at their expected cost. Choosing under a budget, the gains and the Pareto front
are the shared core :mod:`slmmux_theory.planning.budget_core` (also behind
:func:`~slmmux_theory.planning.budget.models_vs_samples`), with this planner's options: the
first candidate more than 1e-12 better wins (in k, then subset order), and "one more model" is
the best superset of the chosen models.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from slmmux_theory.engines.replay import pair_rule_values
from slmmux_theory.planning.accuracy_draws import DrawFolding, interval
from slmmux_theory.planning.budget import fixed_cost
from slmmux_theory.planning.budget_core import (
    best_index,
    draws_gain,
    fits,
    larger_subsets,
    pareto_front,
)
from slmmux_theory.planning.search import all_subsets

__all__ = ["BudgetChoice", "budget_choice", "budget_split", "switch_budget"]


@dataclass(frozen=True)
class BudgetChoice:
    """Best (subset, k) with (expected) cost ≤ budget, and why (one more model vs one more
    sample; for ModelSwitch, what early stopping saves).

    Attributes:
      budget: cost per question.
      models: model indices of the choice.
      k: samples per model.
      predicted_accuracy: mean over draws.
      interval: central 90 % interval of the draws.
      more_models_gain: mean gain of the best superset with one more model (None: none).
      more_samples_gain: mean gain of one more sample per model (None: k at its maximum).
      reason: readable lines.
      rule: ``"slm-mux"`` or ``"model-switch"``.
      expected_cost: ModelSwitch's expected cost (None for SLM-MUX).
    """

    budget: float
    models: tuple[int, ...]
    k: int
    predicted_accuracy: float
    interval: tuple[float, float]
    more_models_gain: float | None
    more_samples_gain: float | None
    reason: str
    rule: str = "slm-mux"
    expected_cost: float | None = None


def budget_split(levels, k_values, budgets, costs, priority, folding: DrawFolding, max_size,
                 names):
    """SLM-MUX budget choices and the Pareto front over (subset of up to max_size, k).

    Args:
      levels: {k: MuxLevels folded [models, draws*N', L]}.
      k_values: the k of the grid.
      budgets: budgets per question.
      costs: cost per sample, shape [models].
      priority: SLM-MUX tie ranks, shape [models].
      folding: how per-row values become accuracy draws.
      max_size: largest subset.
      names: model names for the reason lines (None: indices).

    Returns:
      (choices, front): one :class:`BudgetChoice` per budget; the front as
      (cost, accuracy, models, k, rule) tuples.
    """
    pool = all_subsets(len(costs), 1, max_size)
    unit_cost = np.array([fixed_cost(row[row >= 0], 1, costs) for row in pool])
    table = {}  # k -> draws [subsets, draws]
    for k in k_values:
        table[k] = folding.subsets(levels[k], pool, priority)
    grid = [(i, k) for k in k_values for i in range(len(pool))]
    grid_cost = np.array([k * unit_cost[i] for i, k in grid])
    grid_acc = np.array([table[k][i].mean() for i, k in grid])
    choices = [budget_choice(b, pool, unit_cost, table, names) for b in budgets]
    keep = pareto_front(grid_cost, grid_acc)
    front = tuple(
        (float(grid_cost[j]), float(grid_acc[j]),
         tuple(int(m) for m in pool[grid[j][0]] if m >= 0), int(grid[j][1]), "slm-mux")
        for j in keep
    )
    return tuple(choices), front


def switch_budget(choices, front, source, pairs, k_values, costs, folding: DrawFolding, names,
                  rule: str = "model-switch"):
    """Let ModelSwitch pairs compete for each budget at their EXPECTED cost.

    Early stopping makes a chain of two models at n samples each cost far less than 2n on
    easy questions, so at a fixed budget ModelSwitch can afford a larger n than SLM-MUX.

    Args:
      choices, front: the SLM-MUX outcome of :func:`budget_split`.
      source: (array [models, rows, answers], hypergeometric) the rules replay.
      pairs: ordered pairs, int [pairs, 2].
      k_values: the n of the grid.
      costs: cost per sample, shape [models].
      folding: how per-row values become accuracy draws.
      names: model names (None: indices).
      rule: the ``adaptive_cost`` pair rule (registry name) competing.
    """
    array, hypergeometric = source
    options = []  # (pair, n, accuracy draws, expected cost)
    for n in k_values:
        per_row, cost_rows = pair_rule_values(rule, array, pairs, n, hypergeometric, costs)
        values = folding.rows(per_row)
        options += [(pair, n, values[i], float(cost_rows[i].mean()))
                    for i, pair in enumerate(pairs)]

    def show(members):
        return " -> ".join(str(names[m]) if names else str(m) for m in members)

    updated = []
    for choice in choices:
        feasible = [o for o in options if fits(o[3], choice.budget)]
        if not feasible:
            updated.append(choice)
            continue
        pair, n, values, cost = feasible[best_index([o[2].mean() for o in feasible],
                                                    tolerance=0.0)]
        if values.mean() <= choice.predicted_accuracy + 1e-12:
            updated.append(dataclasses.replace(choice, reason=choice.reason + (
                f"\nbest ModelSwitch chain {show(pair)} at n={n}: {values.mean():.4f} for "
                f"expected cost {cost:.3g}: not better")))
            continue
        low, high = interval(values)
        full = n * float(costs[list(pair)].sum())
        updated.append(BudgetChoice(
            choice.budget, tuple(int(m) for m in pair), int(n), float(values.mean()),
            (float(low), float(high)), None, None,
            f"budget {choice.budget:g}: ModelSwitch {show(pair)} x n={n}, predicted "
            f"{values.mean():.4f} [{low:.4f}, {high:.4f}] at expected cost {cost:.3g} (early "
            f"stopping saves {full - cost:.3g} of {full:g}); best SLM-MUX choice "
            f"{choice.predicted_accuracy:.4f}", rule=rule, expected_cost=cost))
    points = list(front) + [
        (o[3], float(o[2].mean()), tuple(int(m) for m in o[0]), int(o[1]), rule)
        for o in options]
    keep = pareto_front(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    return tuple(updated), tuple(points[j] for j in keep)


def budget_choice(budget: float, pool: np.ndarray, unit_cost: np.ndarray, table: dict,
                  names=None) -> BudgetChoice:
    """Best (subset, k) under a budget from accuracy draws; the reason compares the gain of one
    more model (the best superset of the chosen models with K+1 members, same k) with one more
    sample per model.

    Args:
      budget: cost per question.
      pool: subsets, int [subsets, max_size], -1 padded.
      unit_cost: cost of one sample of every member, shape [subsets].
      table: {k: accuracy draws [subsets, draws]}.
      names: model names for the reason lines (default: indices).
    """

    def show(row):
        members = [int(m) for m in row if m >= 0]
        return "(" + ", ".join(str(names[m]) if names else str(m) for m in members) + ")"

    grid = [(i, k, means[i]) for k, values in table.items()
            for means in [values.mean(1)] for i in np.flatnonzero(fits(k * unit_cost, budget))]
    best = best_index([mean for _, _, mean in grid])
    if best is None:
        raise ValueError(f"no candidate fits budget {budget}")
    i, k, mean = grid[best]
    values = table[k][i]
    low, high = interval(values)
    members = tuple(int(m) for m in pool[i] if m >= 0)
    more_models = more_samples = None
    lines = [f"budget {budget:g}: K={len(members)} models {show(members)} x k={k}, predicted "
             f"{mean:.4f} [{low:.4f}, {high:.4f}]"]
    bigger = larger_subsets(pool, members, supersets_only=True)
    if len(bigger):
        j = bigger[best_index(table[k][bigger].mean(1), tolerance=0.0)]
        gain = draws_gain(values, table[k][j])
        more_models = gain.mean
        lines.append(f"one more model {show(pool[j])} at k={k}: "
                     f"gain {more_models:+.4f} [{gain.low:+.4f}, {gain.high:+.4f}] "
                     f"for {k * (unit_cost[j] - unit_cost[i]):+g} cost")
    else:
        lines.append("one more model: not available")
    if k + 1 in table:
        gain = draws_gain(values, table[k + 1][i])
        more_samples = gain.mean
        lines.append(f"one more sample per model (k={k + 1}): gain {more_samples:+.4f} "
                     f"[{gain.low:+.4f}, {gain.high:+.4f}] for {unit_cost[i]:+g} cost")
    else:
        lines.append("one more sample per model: not available (k at its maximum)")
    return BudgetChoice(float(budget), members, int(k), float(mean), (float(low), float(high)),
                        more_models, more_samples, "\n".join(lines))
