"""Plan before spending: predict every candidate's population accuracy from a small pilot.

Place in the layers: runner (NumPy/JAX glue around :mod:`slmmux_theory`); no file I/O except
the figure written by :func:`pareto_figure`.

The target of every prediction is the accuracy over ALL ``N`` questions of the task (the
population, a finite set), replayed exactly over ``n`` recorded samples per (model, question)
(``replay_samples``; drawing ``k`` of ``n`` i.i.d. samples is ``k`` i.i.d. samples, so this is
an unbiased, slightly noisy version of the accuracy under the answer distributions).

* **Hierarchical predictor** (the answer model of :mod:`slmmux_theory.answer_model`, fitted on
  the pilot counts). For each posterior draw: the pilot questions' distributions are the
  posterior predictive conditioned on their pilot samples, the ``N - Q`` unseen questions are
  new questions from the fitted population (their own difficulty and attractor per draw: this
  is where "which questions were drawn" enters, with the finite-population correction built
  in because the pilot questions are not redrawn). The ``n - S`` unrecorded samples of the
  pilot questions and all ``n`` samples of the unseen ones are drawn from those distributions
  and the rule is replayed exactly over the pool. Intervals and ``p_best`` come from the draws.
* **Plug-in baseline**: per-question sample frequencies of the pilot (METHODS.md §5.3). It
  knows nothing about unseen questions, so it predicts the pilot questions' mean; its interval
  is a bootstrap over pilot questions shrunk by the finite-population factor ``1 - Q/N``.

The exact engine for one k is :func:`replay_levels`: SLM-MUX factorises over models, so every
(model, question) row is enumerated on its own used slots only (rows grouped by how many wrong
slots they use), which keeps k up to 10 exact on files with many distinct wrong answers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

import slmmux_theory  # noqa: F401  (enables x64)
from slmmux_theory.budget import fixed_cost, pareto_front
from slmmux_theory.exact import (
    MuxLevels,
    count_vectors,
    hypergeometric_counts,
    multinomial_counts,
    mux_levels,
    mux_subset_accuracy,
)
from slmmux_theory.rules import tie_priority
from slmmux_theory.search import all_subsets

__all__ = [
    "PLAN_RULES",
    "PREDICTORS",
    "BudgetChoice",
    "Plan",
    "PlanCandidate",
    "budget_choice",
    "draw_pilot",
    "pareto_figure",
    "pilot_priority",
    "plan",
    "population_draws",
    "replay_levels",
    "subset_accuracy_draws",
]

PLAN_RULES = ("slm-mux", "self-consistency")
PREDICTORS = ("hierarchical", "plug-in")

# Cells (rows × count vectors) of one exact enumeration call: bounds memory at ~160 MB.
_MAX_CELLS = 20_000_000
# Draw-questions of one subset-engine call: bounds its memory (batch · size² · cells · levels).
_QUESTION_BLOCK = 2500
# The pilot cannot tell candidates apart when the top candidate's p_best is below this.
INDISTINCT_P_BEST = 0.5


# ----------------------------------------------------------------------------- pilot


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
    """SLM-MUX cross-model tie ranks from the pilot's per-sample accuracy (the paper's rule)."""
    counts = np.asarray(pilot_counts, dtype=np.float64)
    accuracy = counts[..., 0].sum(axis=1) / np.maximum(counts.sum(axis=(1, 2)), 1)
    return tie_priority(accuracy)


# ----------------------------------------------------------------------------- exact engine


def _row_levels(rows: np.ndarray, k: int, hypergeometric: bool):
    """Level laws of single (model, question) rows, each on its own used slots.

    Args:
      rows: counts (hypergeometric) or probabilities (multinomial), shape [rows, A].

    Returns:
      (level, level_correct), each shape [rows, k + 1].
    """
    rows = np.asarray(rows)
    # Wrong slots sorted by mass: a plurality is invariant to relabelling wrong answers.
    wrong = -np.sort(-rows[:, 1:-1], axis=1)
    used = (wrong > 0).sum(axis=1)
    level = np.zeros((rows.shape[0], k + 1))
    level_correct = np.zeros_like(level)
    for width in np.unique(used):
        index = np.flatnonzero(used == width)
        sub = np.concatenate([rows[index, :1], wrong[index, :width], rows[index, -1:]], axis=1)
        chunk = max(1, _MAX_CELLS // len(count_vectors(k, int(width) + 2)))
        for start in range(0, len(index), chunk):
            part = sub[None, start : start + chunk]
            if hypergeometric:
                # exact.hypergeometric_counts sizes its log-factorial table by the largest
                # slot count, which is too short when every slot of every row is below
                # total - k - 1 (IndexError); one extra row with all samples in one slot
                # lengthens it and is dropped again.
                anchor = np.zeros_like(part[:, :1])
                anchor[..., 0] = part.sum(-1).max()
                law = hypergeometric_counts(np.concatenate([part, anchor], axis=1), k)
                law = law._replace(probs=law.probs[:, :-1])
            else:
                part = part / part.sum(-1, keepdims=True)
                law = multinomial_counts(part, k)
            levels = mux_levels(law)
            level[index[start : start + chunk]] = np.asarray(levels.level[0])
            level_correct[index[start : start + chunk]] = np.asarray(levels.level_correct[0])
    return level, level_correct


def replay_levels(array, k: int, hypergeometric: bool = True) -> MuxLevels:
    """Exact SLM-MUX level laws of every (model, question) for k samples.

    Args:
      array: recorded counts (``hypergeometric``: k of them drawn without replacement) or
        probabilities (k i.i.d. samples), shape [models, questions, answers].
      k: samples per model.

    Returns:
      MuxLevels with arrays [models, questions, k + 1] (confidence denominator k).

    >>> levels = replay_levels(np.array([[[2, 1, 0]]]), 2)
    >>> [round(float(x), 4) for x in levels.level_correct[0, 0]]
    [0.0, 0.3333, 0.3333]
    """
    array = np.asarray(array)
    models, questions, answers = array.shape
    level, level_correct = _row_levels(array.reshape(-1, answers), k, hypergeometric)
    shape = (models, questions, k + 1)
    return MuxLevels(level.reshape(shape), level_correct.reshape(shape))


def subset_accuracy_draws(levels: MuxLevels, subsets, priority, num_draws: int) -> np.ndarray:
    """Mean accuracy of every subset in every draw, from levels folded as [models, draws*N, L].

    Subsets of size 1 give self-consistency (SLM-MUX of one model is its plurality vote).

    Returns:
      shape [subsets, draws].
    """
    level, level_correct = (np.asarray(a) for a in levels)
    total = level.shape[1]
    questions = total // num_draws
    draws_per_block = max(1, _QUESTION_BLOCK // questions)
    out = []
    for start in range(0, num_draws, draws_per_block):
        stop = min(num_draws, start + draws_per_block)
        block = slice(start * questions, stop * questions)
        values = mux_subset_accuracy(
            MuxLevels(jnp.asarray(level[:, block]), jnp.asarray(level_correct[:, block])),
            subsets, priority, batch_size=32,
        )
        out.append(np.asarray(values).reshape(len(subsets), stop - start, questions).mean(-1))
    return np.concatenate(out, axis=1)


# ----------------------------------------------------------------------------- predictors


def population_draws(key, pilot_counts, num_questions: int, replay_samples: int, *,
                     num_draws: int = 100, svi_steps: int = 1000, unseen: str = "population"):
    """Replay pools of the whole population, one per posterior draw (hierarchical predictor).

    Args:
      key: jax.random key (fit, predictive draws and the simulated samples).
      pilot_counts: pilot counts, shape [models, Q, answers] (Q pilot questions).
      num_questions: N, the population size (N >= Q).
      replay_samples: n, recorded samples per (model, question) of the target replay.
      unseen: how the N - Q unseen questions are drawn: ``"population"`` (new questions from
        the fitted population: parametric difficulty and attractor) or ``"bootstrap"`` (per
        draw, N - Q pilot questions resampled with replacement and their posterior
        distributions reused: a Bayesian bootstrap of the question population that keeps the
        models' joint behaviour per question and assumes no difficulty law).

    Returns:
      int pools, shape [models, draws * N, answers] (draw-major), each row holding n samples:
      the pilot samples plus simulated ones on pilot questions, simulated ones elsewhere.
    """
    from slmmux_theory.answer_model import fit_answer_model
    from slmmux_theory.predict import population_predictive_probs, posterior_predictive_probs

    counts = np.asarray(pilot_counts)
    models, pilot_size, answers = counts.shape
    fit_key, post_key, pop_key, sim_key = jax.random.split(key, 4)
    fit = fit_answer_model(fit_key, counts, method="svi", num_draws=num_draws, svi_steps=svi_steps)
    probs = np.asarray(posterior_predictive_probs(post_key, fit, num_draws=num_draws))
    if num_questions > pilot_size:
        if unseen == "population":
            new = np.asarray(population_predictive_probs(pop_key, fit, num_questions - pilot_size,
                                                         num_draws=num_draws))
        elif unseen == "bootstrap":
            picks = jax.random.randint(pop_key, (num_draws, num_questions - pilot_size), 0,
                                       pilot_size)
            new = np.take_along_axis(probs, np.asarray(picks)[:, None, :, None], axis=2)
        else:
            raise ValueError(f"unseen must be 'population' or 'bootstrap', got {unseen!r}")
        probs = np.concatenate([probs, new], axis=2)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(sim_key)).ravel())
    recorded = np.zeros((models, num_questions), dtype=np.int64)
    recorded[:, :pilot_size] = counts.sum(-1)
    missing = np.maximum(replay_samples - recorded, 0)
    probs = np.clip(probs, 0.0, None)
    probs = probs / probs.sum(-1, keepdims=True)
    simulated = rng.multinomial(np.broadcast_to(missing, probs.shape[:-1]), probs)
    pools = simulated
    pools[:, :, :pilot_size] += counts[None]
    return np.transpose(pools, (1, 0, 2, 3)).reshape(models, -1, answers)


def _predict_levels(predictor, key, pilot_counts, num_questions, replay_samples, k_values,
                    num_draws, svi_steps, unseen="population"):
    """{k: MuxLevels folded [models, draws*N', L]} and the number of draws and N'."""
    counts = np.asarray(pilot_counts)
    if predictor == "hierarchical":
        pools = population_draws(key, counts, num_questions, replay_samples,
                                 num_draws=num_draws, svi_steps=svi_steps, unseen=unseen)
        return {k: replay_levels(pools, k) for k in k_values}, num_draws
    if predictor == "plug-in":
        totals = counts.sum(-1)
        # Exact replay when the pilot holds every recorded sample; else frequencies as laws.
        exact = bool(np.all(totals == replay_samples))
        levels = {}
        for k in k_values:
            if exact:
                levels[k] = replay_levels(counts, k, hypergeometric=True)
            else:
                probs = np.where(totals[..., None] > 0,
                                 counts / np.maximum(totals, 1)[..., None], 0)
                probs[..., -1] = np.where(totals > 0, probs[..., -1], 1.0)
                levels[k] = replay_levels(probs, k, hypergeometric=False)
        return levels, 1
    raise ValueError(f"predictor must be one of {PREDICTORS}, got {predictor!r}")


def _bootstrap(per_question: np.ndarray, num_questions: int, rng, replicates: int = 400):
    """Bootstrap of the pilot mean over pilot questions, deviations shrunk by the FPC.

    Args:
      per_question: shape [subsets, Q].

    Returns:
      shape [subsets, replicates].
    """
    pilot = per_question.shape[1]
    picks = rng.integers(0, pilot, size=(replicates, pilot))
    means = per_question[:, picks].mean(-1)
    centre = per_question.mean(-1, keepdims=True)
    shrink = np.sqrt(max(0.0, 1.0 - pilot / num_questions))
    return centre + shrink * (means - centre)


# ----------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlanCandidate:
    """One (subset, k, rule) candidate.

    Attributes:
      models: model indices.
      k: samples per model.
      rule: ``"slm-mux"`` or ``"self-consistency"``.
      cost: cost per question (k · Σ cost per sample).
      predicted_accuracy: mean over draws of the population accuracy.
      interval: central 90 % interval of the draws.
      p_best: share of draws in which this candidate is the best of its (rule, size, k) group.
    """

    models: tuple[int, ...]
    k: int
    rule: str
    cost: float
    predicted_accuracy: float
    interval: tuple[float, float]
    p_best: float


@dataclass(frozen=True)
class BudgetChoice:
    """Best (subset, k) with k · Σcost ≤ budget, and why (one more model vs one more sample)."""

    budget: float
    models: tuple[int, ...]
    k: int
    predicted_accuracy: float
    interval: tuple[float, float]
    more_models_gain: float | None
    more_samples_gain: float | None
    reason: str


@dataclass(frozen=True)
class Plan:
    """Outcome of :func:`plan`.

    Attributes:
      candidates: every candidate, ranked by predicted accuracy (best first).
      draws: accuracy draws per candidate (same order), shape [candidates, draws].
      indistinct: {"rule/size/k": True} for groups whose best candidate has p_best < 0.5.
      warnings: readable lines, e.g. "pilot too small to tell ... apart".
      budget: one BudgetChoice per budget.
      front: (cost, accuracy, models, k) of the Pareto front over the budget grid.
    """

    candidates: tuple[PlanCandidate, ...]
    draws: np.ndarray
    indistinct: dict
    warnings: tuple[str, ...]
    budget: tuple[BudgetChoice, ...] = ()
    front: tuple = field(default_factory=tuple)


def _interval(values, level=0.9):
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return low, high


def _accuracy_draws(levels, subsets, priority, draws, predictor, num_questions, seed):
    if predictor != "plug-in":
        return subset_accuracy_draws(levels, subsets, priority, draws)
    # Per-question values of the pilot, then a bootstrap over pilot questions.
    per_question = np.asarray(mux_subset_accuracy(
        MuxLevels(jnp.asarray(levels.level), jnp.asarray(levels.level_correct)),
        subsets, priority, batch_size=32))
    # The same resampled questions for every subset and k: gains between candidates are paired.
    return _bootstrap(per_question, num_questions, np.random.default_rng(seed))


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
    unseen: str = "population",
) -> Plan:
    """Predict every candidate's population accuracy from pilot counts.

    Args:
      key: jax.random key.
      pilot_counts: shape [models, Q, answers], the pilot's counts (any samples per row).
      num_questions: N, questions of the task (the population), N >= Q.
      replay_samples: n, recorded samples per (model, question) the target replays (>= k).
      k: samples per model of the ranked candidates.
      subset_sizes: sizes of the subsets ranked (every subset of each size).
      rules: some of :data:`PLAN_RULES` (self-consistency: single models).
      predictor: one of :data:`PREDICTORS`.
      cost_per_sample: shape [models]; None = 1 per sample.
      budgets: budgets per question for the models-vs-samples split.
      max_budget_size: largest subset considered in the split.
      num_draws: posterior draws.
      svi_steps: SVI steps of the answer-model fit.
      priority: SLM-MUX tie ranks (default: :func:`pilot_priority`).
      names: model names used in the budget reason lines.
      unseen: hierarchical predictor's unseen questions, see :func:`population_draws`.

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
    unknown = set(rules) - set(PLAN_RULES)
    if unknown or not rules:
        raise ValueError(f"rules must be a non-empty subset of {PLAN_RULES}, got {tuple(rules)}")
    sizes = sorted(set(int(s) for s in subset_sizes))
    if "slm-mux" in rules and (not sizes or sizes[0] < 1 or sizes[-1] > models):
        raise ValueError(f"subset sizes must lie in 1..{models}, got {subset_sizes}")
    costs = np.ones(models) if cost_per_sample is None else np.asarray(cost_per_sample, float)
    priority = pilot_priority(counts) if priority is None else np.asarray(priority)
    unit = costs.min()
    k_budget = sorted({j for b in budgets for j in range(1, int(b / unit + 1e-9) + 1)
                       if j <= replay_samples} | ({k + 1} if k + 1 <= replay_samples else set()))
    k_values = sorted({k} | set(k_budget))
    levels, draws = _predict_levels(predictor, key, counts, num_questions, replay_samples,
                                    k_values, num_draws, svi_steps, unseen)
    bootstrap_seed = np.asarray(jax.random.key_data(jax.random.fold_in(key, 7))).ravel().tolist()

    groups = []  # (rule, size, subsets)
    if "slm-mux" in rules:
        groups += [("slm-mux", s, np.array(list(itertools.combinations(range(models), s))))
                   for s in sizes]
    if "self-consistency" in rules:
        groups.append(("self-consistency", 1, np.arange(models)[:, None]))
    candidates, all_draws, indistinct, warnings = [], [], {}, []
    for rule, size, subsets in groups:
        values = _accuracy_draws(levels[k], subsets, priority, draws, predictor, num_questions,
                                 bootstrap_seed)
        winners = np.argmax(values, axis=0)
        p_best = np.bincount(winners, minlength=len(subsets)) / values.shape[1]
        low, high = _interval(values)
        name = f"{rule}/K={size}/k={k}"
        indistinct[name] = bool(p_best.max() < INDISTINCT_P_BEST)
        if indistinct[name]:
            warnings.append(
                f"pilot too small to tell {rule} subsets of size {size} apart: the best has "
                f"p_best {p_best.max():.2f} < {INDISTINCT_P_BEST}"
            )
        for row, draw_row, lo, hi, p in zip(subsets, values, low, high, p_best):
            candidates.append(PlanCandidate(
                tuple(int(m) for m in row), k, rule, float(fixed_cost(row, k, costs)),
                float(draw_row.mean()), (float(lo), float(hi)), float(p)))
            all_draws.append(draw_row)
    order = np.argsort([-c.predicted_accuracy for c in candidates], kind="stable")
    result_draws = np.array(all_draws)[order]
    choices, front = (), ()
    if budgets:
        choices, front = _budget(levels, k_budget, budgets, costs, priority, draws, predictor,
                                 num_questions, bootstrap_seed, min(max_budget_size, models), names)
    return Plan(tuple(candidates[i] for i in order), result_draws, indistinct, tuple(warnings),
                choices, front)


# ----------------------------------------------------------------------------- budgets


def _budget(levels, k_values, budgets, costs, priority, draws, predictor, num_questions,
            bootstrap_seed, max_size, names):
    pool = all_subsets(len(costs), 1, max_size)
    unit_cost = np.array([fixed_cost(row[row >= 0], 1, costs) for row in pool])
    table = {}  # k -> draws [subsets, draws]
    for k in k_values:
        table[k] = _accuracy_draws(levels[k], pool, priority, draws, predictor, num_questions,
                                   bootstrap_seed)
    grid = [(i, k) for k in k_values for i in range(len(pool))]
    grid_cost = np.array([k * unit_cost[i] for i, k in grid])
    grid_acc = np.array([table[k][i].mean() for i, k in grid])
    choices = [budget_choice(b, pool, unit_cost, table, names) for b in budgets]
    keep = pareto_front(grid_cost, grid_acc)
    front = tuple(
        (float(grid_cost[j]), float(grid_acc[j]),
         tuple(int(m) for m in pool[grid[j][0]] if m >= 0), int(grid[j][1]))
        for j in keep
    )
    return tuple(choices), front


def budget_choice(budget: float, pool: np.ndarray, unit_cost: np.ndarray, table: dict,
                  names=None) -> BudgetChoice:
    """Best (subset, k) under a budget from accuracy draws; the reason compares the gain of one
    more model (best subset of size K+1 at the same k) with one more sample per model.

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

    sizes = (pool >= 0).sum(1)
    best = None
    for k, values in table.items():
        means = values.mean(1)
        feasible = k * unit_cost <= budget * (1 + 1e-12)
        for i in np.flatnonzero(feasible):
            if best is None or means[i] > best[2] + 1e-12:
                best = (i, k, means[i])
    if best is None:
        raise ValueError(f"no candidate fits budget {budget}")
    i, k, mean = best
    values = table[k][i]
    low, high = _interval(values)
    members = tuple(int(m) for m in pool[i] if m >= 0)
    more_models = more_samples = None
    lines = [f"budget {budget:g}: K={len(members)} models {show(members)} x k={k}, predicted "
             f"{mean:.4f} [{low:.4f}, {high:.4f}]"]
    bigger = np.flatnonzero((sizes == sizes[i] + 1) & np.all(
        (pool[:, :, None] == pool[i][pool[i] >= 0][None, None]).any(1), axis=1))
    if len(bigger):
        j = bigger[np.argmax(table[k][bigger].mean(1))]
        gain = table[k][j] - values
        more_models = float(gain.mean())
        lo, hi = _interval(gain)
        lines.append(f"one more model {show(pool[j])} at k={k}: "
                     f"gain {more_models:+.4f} [{lo:+.4f}, {hi:+.4f}] "
                     f"for {k * (unit_cost[j] - unit_cost[i]):+g} cost")
    else:
        lines.append("one more model: not available")
    if k + 1 in table:
        gain = table[k + 1][i] - values
        more_samples = float(gain.mean())
        lo, hi = _interval(gain)
        lines.append(f"one more sample per model (k={k + 1}): gain {more_samples:+.4f} "
                     f"[{lo:+.4f}, {hi:+.4f}] for {unit_cost[i]:+g} cost")
    else:
        lines.append("one more sample per model: not available (k at its maximum)")
    return BudgetChoice(float(budget), members, int(k), float(mean), (float(low), float(high)),
                        more_models, more_samples, "\n".join(lines))


def pareto_figure(front, path, candidates=None):
    """Accuracy vs cost per question: the Pareto front (and optionally all candidates)."""
    from slmmux_run import figures

    fig, ax = figures.figure()
    if candidates:
        ax.scatter([c[0] for c in candidates], [c[1] for c in candidates], s=6, alpha=0.3,
                   label="candidates")
    ax.plot([f[0] for f in front], [f[1] for f in front], marker="o", label="Pareto front")
    ax.set_xlabel("cost per question")
    ax.set_ylabel("predicted population accuracy")
    ax.legend()
    return figures.save(fig, path)
