"""Plan before spending: predict every candidate's population accuracy from a small pilot.

Place in the layers: planning (pure theory; the runner loads the pilot and prints the plan).
This module only assembles: the predictors of :mod:`slmmux_theory.planning.predictors`, the
replay engine of :mod:`slmmux_theory.engines.replay`, the accuracy draws of
:mod:`slmmux_theory.planning.accuracy_draws` and the budget split of
:mod:`slmmux_theory.planning.pilot_budget`.

The target of every prediction is the accuracy over ALL ``N`` questions of the task (the
population, a finite set), replayed exactly over ``n`` recorded samples per (model, question)
(``replay_samples``; drawing ``k`` of ``n`` i.i.d. samples is ``k`` i.i.d. samples, so this is
an unbiased, slightly noisy version of the accuracy under the answer distributions).

* **Hierarchical predictor** (the answer model of :mod:`slmmux_theory.inference.answer_model`,
  fitted on the pilot counts; :func:`~slmmux_theory.planning.predictors.population_predictor`).
  For each posterior draw: the pilot questions' distributions are the posterior predictive
  conditioned on their pilot samples; the ``N - Q`` unseen questions are drawn by a
  finite-population Bayesian bootstrap of the pilot questions (Dirichlet(1) weights, then
  ``N - Q`` draws with them), by the same bootstrap within two strata, shared failures and the
  rest, with the failures' share under a Beta posterior (``"stratified"``, the default: a small
  pilot that saw no shared failure still allows some; on GSM8K pilots of 25 questions it lifts
  the 90 % coverage from 0.62 to 0.85, ``experiments/pilot_eval``), or as new questions from
  the fitted parametric population (``unseen="population"``, measured 3-5 points too hard on
  GSM8K). The ``n - S`` unrecorded samples of the pilot questions and all ``n`` samples of the
  unseen ones are drawn from those distributions and the rule is replayed exactly over the
  pool. Intervals and ``p_best`` come from the draws.
* **Plug-in baseline**: per-question sample frequencies of the pilot (METHODS.md §5.3). It
  knows nothing about unseen questions, so it predicts the pilot questions' mean; its interval
  is a bootstrap over pilot questions shrunk by the finite-population factor ``1 - Q/N``.

Rules (:data:`PLAN_RULES`, read from the registry's capability flags): the ``level_engine``
rules over subsets of the requested sizes (SLM-MUX; a ``first_model_only`` rule,
self-consistency, over single models), and the ``pair_engine`` rules over ordered pairs (Agent
Forest and ModelSwitch, :func:`~slmmux_theory.engines.replay.pair_rule_values`; an
``adaptive_cost`` rule, ModelSwitch, at its expected cost with early stopping).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import jax
import numpy as np

from slmmux_theory.engines.replay import pair_rule_values, replay_levels
from slmmux_theory.planning.accuracy_draws import DrawFolding, best_share, interval
from slmmux_theory.planning.pilot_budget import BudgetChoice, budget_split, switch_budget
from slmmux_theory.planning.predictors import (
    UNSEEN_LAWS,
    Predictor,
    plug_in_predictor,
    population_predictor,
    replay_plug_in_predictor,
)
from slmmux_theory.rules.base import tie_priority
from slmmux_theory.rules.registry import RULES, rule_names

__all__ = [
    "INDISTINCT_P_BEST",
    "PLAN_RULES",
    "PREDICTORS",
    "UNSEEN_LAWS",
    "BudgetChoice",
    "Plan",
    "PlanCandidate",
    "draw_pilot",
    "pilot_priority",
    "plan",
    "plan_predictor",
    "plan_rules",
]


def plan_rules() -> tuple[str, ...]:
    """The registered rules the plan ranks: ``level_engine`` or ``pair_engine`` ones, in
    registry order.

    >>> plan_rules()
    ('slm-mux', 'agent-forest', 'self-consistency', 'model-switch')
    """
    return tuple(name for name, rule in RULES.items() if rule.level_engine or rule.pair_engine)


PLAN_RULES = plan_rules()
PREDICTORS = ("hierarchical", "plug-in")
# The pilot cannot tell candidates apart when the top candidate's p_best is below this.
INDISTINCT_P_BEST = 0.5


def draw_pilot(num_questions: int, pilot_questions: int, seed: int) -> np.ndarray:
    """Indices of ``pilot_questions`` of ``num_questions`` questions drawn without replacement.

    >>> draw_pilot(10, 3, 0).tolist() == sorted(draw_pilot(10, 3, 0).tolist())
    True
    """
    if not 1 <= pilot_questions <= num_questions:
        raise ValueError(f"pilot_questions must lie in 1..{num_questions}, got {pilot_questions}")
    rng = np.random.default_rng(int(seed))
    return np.sort(rng.choice(num_questions, size=pilot_questions, replace=False))


def pilot_priority(pilot_counts) -> np.ndarray:
    """SLM-MUX cross-model tie ranks from the pilot's per-sample accuracy (the paper's rule).

    >>> pilot_priority(np.array([[[1, 1, 0]], [[2, 0, 0]]])).tolist()
    [1, 0]
    """
    counts = np.asarray(pilot_counts, dtype=np.float64)
    accuracy = counts[..., 0].sum(axis=1) / np.maximum(counts.sum(axis=(1, 2)), 1)
    return tie_priority(accuracy)


def plan_predictor(name: str, num_questions: int, replay_samples: int, *,
                   svi_steps: int = 1000, unseen: str = "stratified",
                   concentration: float = 1.0, fresh: bool = False) -> Predictor:
    """The plan's predictor of that name (one of :data:`PREDICTORS`), for a replay of
    ``replay_samples`` samples over ``num_questions`` questions (``fresh``: every sample new,
    the pilot's only conditioning the laws)."""
    if name == "hierarchical":
        return population_predictor(num_questions, replay_samples, svi_steps=svi_steps,
                                    unseen=unseen, concentration=concentration, fresh=fresh)
    if name == "plug-in":
        # Fresh samples from the pilot frequencies: their expected accuracy (METHODS.md §5.3).
        return plug_in_predictor if fresh else replay_plug_in_predictor(replay_samples)
    raise ValueError(f"predictor must be one of {PREDICTORS}, got {name!r}")


@dataclass(frozen=True)
class PlanCandidate:
    """One (subset, k, rule) candidate.

    Attributes:
      models: model indices.
      k: samples per model.
      rule: one of :func:`plan_rules`.
      cost: cost per question (k · Σ cost per sample; ModelSwitch: expected, with early
        stopping, mean over draws).
      predicted_accuracy: mean over draws of the population accuracy.
      interval: central 90 % interval of the draws.
      p_best: share of draws in which this candidate is the best of its (rule, size, k) group,
        candidates tied in a draw sharing that draw's credit equally.
      expected_tokens: expected generated tokens per question (k · Σ tokens per sample;
        ModelSwitch: with early stopping), NaN when the tokens per sample are not given.
    """

    models: tuple[int, ...]
    k: int
    rule: str
    cost: float
    predicted_accuracy: float
    interval: tuple[float, float]
    p_best: float
    expected_tokens: float = float("nan")


@dataclass(frozen=True)
class Plan:
    """Outcome of :func:`plan`.

    Attributes:
      candidates: every candidate, ranked by predicted accuracy (best first).
      draws: accuracy draws per candidate (same order), shape [candidates, draws].
      indistinct: {"rule/size/k": True} for groups whose best candidate has p_best < 0.5.
      warnings: readable lines, e.g. "pilot too small to tell ... apart".
      budget: one BudgetChoice per budget.
      front: (cost, accuracy, models, k, rule) of the Pareto front over the budget grid
        (ModelSwitch at its expected cost, when it is among the rules).
    """

    candidates: tuple[PlanCandidate, ...]
    draws: np.ndarray
    indistinct: dict
    warnings: tuple[str, ...]
    budget: tuple[BudgetChoice, ...] = ()
    front: tuple = field(default_factory=tuple)


def _candidate_groups(rules, sizes, models, pairs):
    """(rule, size, subsets) of every ranked group, in the plan's order."""
    groups = []
    for rule in rule_names(level_engine=True):
        if rule not in rules:
            continue
        if RULES[rule].first_model_only:
            groups.append((rule, 1, np.arange(models)[:, None]))
        else:
            groups += [(rule, s, np.array(list(itertools.combinations(range(models), s))))
                       for s in sizes]
    groups += [(rule, 2, pairs) for rule in rule_names(pair_engine=True)
               if rule in rules and models >= 2]
    return groups


def plan(
    key,
    pilot_counts,
    num_questions: int,
    *,
    replay_samples: int,
    k: int = 3,
    subset_sizes=(2, 3),
    rules=("slm-mux",),
    predictor: str = "hierarchical",
    cost_per_sample=None,
    budgets=(),
    max_budget_size: int = 4,
    num_draws: int = 100,
    svi_steps: int = 1000,
    priority=None,
    names=None,
    unseen: str = "stratified",
    concentration: float = 1.0,
    tokens_per_sample=None,
    fresh_samples: bool = False,
) -> Plan:
    """Predict every candidate's population accuracy from pilot counts.

    Args:
      key: jax.random key.
      pilot_counts: shape [models, Q, answers], the pilot's counts (any samples per row).
      num_questions: N, questions of the task (the population), N >= Q.
      replay_samples: n, recorded samples per (model, question) the target replays (>= k).
      k: samples per model of the ranked candidates.
      subset_sizes: sizes of the subsets ranked (every subset of each size).
      rules: some of :func:`plan_rules` (self-consistency: single models; Agent Forest and
        ModelSwitch: every pair, ModelSwitch visiting the pilot's better model first, its cost
        the expected cost with early stopping).
      predictor: one of :data:`PREDICTORS`.
      cost_per_sample: shape [models]; None = 1 per sample.
      budgets: budgets per question for the models-vs-samples split.
      max_budget_size: largest subset considered in the split.
      num_draws: posterior draws.
      svi_steps: SVI steps of the answer-model fit.
      priority: SLM-MUX tie ranks (default: :func:`pilot_priority`).
      names: model names used in the budget reason lines.
      unseen: hierarchical predictor's unseen questions, see
        :func:`~slmmux_theory.planning.predictors.population_draws`.
      concentration: Dirichlet-process concentration (``unseen="dirichlet-process"``).
      tokens_per_sample: mean generated tokens of one sample of each model, shape [models]
        (NaN entries allowed); None leaves every candidate's ``expected_tokens`` NaN.
      fresh_samples: the target draws ``replay_samples`` fresh samples on every question, the
        pilot questions included (the pilot only conditions the laws): the full run planned
        from a pilot file. Default False: the pilot's samples are part of the replayed ones.

    Returns:
      A :class:`Plan`.
    """
    counts = np.asarray(pilot_counts)
    models, pilot_size, _ = counts.shape
    if not pilot_size <= num_questions:
        raise ValueError(
            f"the pilot has {pilot_size} questions, more than the population {num_questions}")
    if k > replay_samples:
        raise ValueError(f"k = {k} exceeds the replayed samples per model {replay_samples}")
    unknown = set(rules) - set(plan_rules())
    if unknown or not rules:
        raise ValueError(f"rules must be a non-empty subset of {plan_rules()}, got {tuple(rules)}")
    sizes = sorted(set(int(s) for s in subset_sizes))
    subset_rules = [r for r in rules if RULES[r].level_engine and not RULES[r].first_model_only]
    if subset_rules and (not sizes or sizes[0] < 1 or sizes[-1] > models):
        raise ValueError(f"subset sizes must lie in 1..{models}, got {subset_sizes}")
    costs = np.ones(models) if cost_per_sample is None else np.asarray(cost_per_sample, float)
    tokens = (np.full(models, np.nan) if tokens_per_sample is None
              else np.asarray(tokens_per_sample, float))
    priority = pilot_priority(counts) if priority is None else np.asarray(priority)
    unit = costs.min()
    k_budget = sorted({j for b in budgets for j in range(1, int(b / unit + 1e-9) + 1)
                       if j <= replay_samples} | ({k + 1} if k + 1 <= replay_samples else set()))
    k_values = sorted({k} | set(k_budget))
    laws = plan_predictor(predictor, num_questions, replay_samples, svi_steps=svi_steps,
                          unseen=unseen, concentration=concentration,
                          fresh=fresh_samples)(key, counts, num_draws)
    source = (laws.folded(), laws.hypergeometric)
    levels = {j: replay_levels(source[0], j, source[1]) for j in k_values}
    bootstrap_seed = np.asarray(jax.random.key_data(jax.random.fold_in(key, 7))).ravel().tolist()
    folding = DrawFolding(laws.num_draws, predictor == "plug-in", num_questions, bootstrap_seed)

    pairs = np.array(list(itertools.combinations(range(models), 2)), dtype=int).reshape(-1, 2)
    # ModelSwitch visits the pilot's better model first (the order the paper's chains use).
    pairs = np.where((priority[pairs[:, 0]] > priority[pairs[:, 1]])[:, None], pairs[:, ::-1],
                     pairs)
    candidates, all_draws, indistinct, warnings = [], [], {}, []
    for rule, size, subsets in _candidate_groups(rules, sizes, models, pairs):
        # Share of the question's samples paid for each member: 1, except ModelSwitch's second
        # model (paid only when the first did not stop); costs and tokens are linear in it.
        paid = np.ones(subsets.shape)
        if RULES[rule].pair_engine:
            per_row, unit_cost = pair_rule_values(rule, source[0], subsets, k, source[1])
            values = folding.rows(per_row)
            paid[:, 1] = unit_cost.mean(1) / k - 1.0
        else:
            values = folding.subsets(levels[k], subsets, priority)
        p_best = best_share(values)
        low, high = interval(values)
        name = f"{rule}/K={size}/k={k}"
        indistinct[name] = bool(p_best.max() < INDISTINCT_P_BEST)
        if indistinct[name]:
            warnings.append(
                f"pilot too small to tell {rule} subsets of size {size} apart: the best has "
                f"p_best {p_best.max():.2f} < {INDISTINCT_P_BEST}"
            )
        for row, share, draw_row, lo, hi, p in zip(subsets, paid, values, low, high, p_best):
            candidates.append(PlanCandidate(
                tuple(int(m) for m in row), k, rule, float(k * (share * costs[row]).sum()),
                float(draw_row.mean()), (float(lo), float(hi)), float(p),
                float(k * (share * tokens[row]).sum())))
            all_draws.append(draw_row)
    order = np.argsort([-c.predicted_accuracy for c in candidates], kind="stable")
    result_draws = np.array(all_draws)[order]
    choices, front = (), ()
    if budgets:
        choices, front = budget_split(levels, k_budget, budgets, costs, priority, folding,
                                      min(max_budget_size, models), names)
        for rule in rule_names(pair_engine=True, adaptive_cost=True):
            if rule in rules and models >= 2:
                choices, front = switch_budget(choices, front, source, pairs, k_budget, costs,
                                               folding, names, rule=rule)
    return Plan(tuple(candidates[i] for i in order), result_draws, indistinct, tuple(warnings),
                choices, front)
