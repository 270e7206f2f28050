"""Budget arithmetic: what a candidate costs per question, and more models vs more samples.

Place in the layers: pure theory; it assembles :mod:`slmmux_theory.engines.exact` and never reads files.

* **Cost model.** A sample of model ``i`` costs ``cost_per_sample[i]`` (a price per 1k tokens
  times the mean tokens of a call, see :func:`sample_cost`, or 1 to count samples). SLM-MUX and
  Agent Forest spend ``k`` samples of every member: ``k · Σ_{i∈S} cost_i``. ModelSwitch stops
  early, so its cost is an expectation over the per-question stop probabilities (METHODS.md
  §5.4): ``E[cost | q] = Σ_j n_j cost_j Π_{l<j} (1 − u_l(q))`` with
  ``u_l(q) = Σ_{y≠⊥} π_l(y|q)^{n_l}`` for the unanimity rule.
* **Models vs samples.** :func:`models_vs_samples` enumerates the (rule, subset, k) candidates
  whose (expected) cost fits a budget, computes each one's exact predicted accuracy, and returns
  the best one together with the predicted gain of one more model and of one more sample per
  model, so the reason for the choice is visible. Posterior predictive draws
  ``[draws, models, questions, answers]`` give every accuracy and gain an interval.
* Choosing under the budget (feasibility, the best candidate with its tie rule, the gains, the
  Pareto front, the candidate type) is :mod:`slmmux_theory.planning.budget_core`, shared with
  the plan's split (:mod:`slmmux_theory.planning.pilot_budget`); this planner takes the
  cheapest of the candidates within 1e-12 of the best, and "one more model" is the best subset
  of the next size. :func:`pareto_front` keeps the candidates no other candidate beats on both
  cost and accuracy.
* The rules enumerated are the registry's ``budget`` rules (:data:`BUDGET_RULES`).

Every rule is a per-question computation, so draws are folded into the question axis and the
engine runs once per (subset, k) for all draws together.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from slmmux_theory.distributions import validate_probabilities
from slmmux_theory.engines.exact import (
    MuxLevels,
    model_switch_exact,
    multinomial_counts,
    mux_accuracy_exact,
    mux_levels,
    mux_subset_accuracy,
    pooled_vote_accuracy_exact,
)
from slmmux_theory.planning.budget_core import (
    ACCURACY_TOLERANCE,
    Candidate,
    MarginalGain,
    best_index,
    draws_gain,
    fits,
    larger_subsets,
    pareto_front,
)
from slmmux_theory.planning.search import all_subsets
from slmmux_theory.rules.base import MuxConfig, SwitchConfig, tie_priority
from slmmux_theory.rules.registry import rule_names

__all__ = [
    "BUDGET_RULES",
    "BudgetSplit",
    "Candidate",
    "ExpectedCost",
    "MarginalGain",
    "fixed_cost",
    "model_switch_expected_cost",
    "models_vs_samples",
    "pareto_front",
    "sample_cost",
    "stop_probability",
]

BUDGET_RULES = rule_names(budget=True)
# Block shapes of the SLM-MUX subset engine: subsets per call, (k, draw, question) cells per
# call, and subsets vectorised together inside a call. Peak memory is about
# _SUBSET_BATCH · size² · _QUESTION_BLOCK · levels floats (32 · 16 · 2048 · 12 · 8 B ≈ 100 MB).
_SUBSET_CHUNK = 256
_QUESTION_BLOCK = 2048
_SUBSET_BATCH = 32


def sample_cost(price_per_1k_tokens, mean_tokens_per_sample) -> np.ndarray:
    """Cost of one sample of each model: price per 1000 tokens × mean tokens of one sample.

    Args:
      price_per_1k_tokens: shape [models].
      mean_tokens_per_sample: shape [models] (prompt + completion tokens billed per sample).

    Returns:
      shape [models].

    >>> sample_cost([0.5, 2.0], [400, 250]).tolist()
    [0.2, 0.5]
    """
    price = np.asarray(price_per_1k_tokens, dtype=np.float64)
    tokens = np.asarray(mean_tokens_per_sample, dtype=np.float64)
    if np.any(price < 0) or np.any(tokens < 0):
        raise ValueError("prices and token counts must be >= 0")
    return price * tokens / 1000.0


def _costs(cost_per_sample, num_models: int) -> np.ndarray:
    if cost_per_sample is None:
        return np.ones(num_models)
    costs = np.broadcast_to(np.asarray(cost_per_sample, dtype=np.float64), (num_models,)).copy()
    if np.any(~np.isfinite(costs)) or np.any(costs <= 0):
        raise ValueError("cost_per_sample must be finite and > 0 for every model")
    return costs


def fixed_cost(subset, k: int, cost_per_sample=None) -> float:
    """Cost per question of SLM-MUX or Agent Forest: ``k · Σ_{i∈S} cost_i``.

    Args:
      subset: model indices.
      k: k.
      cost_per_sample: shape [models] (indexed by ``subset``); None counts samples.

    >>> fixed_cost((0, 2), 3, [1.0, 5.0, 2.0])
    9.0
    """
    subset = [int(m) for m in subset]
    if cost_per_sample is None:
        return float(k * len(subset))
    costs = np.asarray(cost_per_sample, dtype=np.float64)
    return float(k * costs[subset].sum())


def _budgets(k, num_models):
    if np.ndim(k) == 0:
        return (int(k),) * num_models
    budgets = tuple(int(n) for n in k)
    if len(budgets) != num_models:
        raise ValueError(f"{len(budgets)} budgets given for {num_models} models")
    return budgets


def stop_probability(probs, k, config: SwitchConfig = SwitchConfig()) -> np.ndarray:
    """Probability that each model's ``n_j`` samples end ModelSwitch at that model.

    For the unanimity rule this is ``u_j(q) = Σ_{y≠⊥} π_j(y|q)^{n_j}`` (METHODS.md §5.4); for
    the majority-share rule, the probability that the mode share exceeds the threshold.

    Args:
      probs: shape [models, questions, answers], models in visiting order.
      k: one budget or per-model budgets ``n_j``.
      config: the stop rule.

    Returns:
      shape [models, questions].

    >>> round(float(stop_probability([[[0.8, 0.2, 0.0]]], 4)[0, 0]), 4)
    0.4112
    """
    probs = validate_probabilities(probs)
    budgets = _budgets(k, probs.shape[0])
    rows = []
    for model, n in enumerate(budgets):
        if config.stop_rule == "unanimous":
            # NumPy, not jnp: an eager jnp power would compile once per exponent n.
            rows.append(np.sum(probs[model, :, :-1] ** n, axis=-1))
        else:
            law = multinomial_counts(probs[model : model + 1], n)
            top = law.vectors[:, :-1].max(axis=1)
            stops = (top > config.share_threshold * n).astype(np.float64)
            rows.append(np.asarray(law.probs[0]) @ stops)
    return np.stack(rows)


class ExpectedCost(NamedTuple):
    """Expected ModelSwitch cost.

    Attributes:
      mean: mean over questions of the expected cost.
      per_question: expected cost per question, shape [questions].
      reach_probability: probability that model j is sampled at all, Π_{l<j}(1 − u_l(q)),
        shape [models, questions].
    """

    mean: float
    per_question: np.ndarray
    reach_probability: np.ndarray


def model_switch_expected_cost(
    probs, k, cost_per_sample=None, config: SwitchConfig = SwitchConfig()
) -> ExpectedCost:
    """Exact expected cost per question of ModelSwitch (METHODS.md §5.4).

    ``E[cost | q] = Σ_j n_j cost_j Π_{l<j} (1 − u_l(q))``; with unit costs this is the expected
    number of samples. The last model never stops early, and models after the stopping one are
    never called.

    Args:
      probs: shape [models, questions, answers], models in visiting order.
      k: one budget or per-model budgets ``n_j``.
      cost_per_sample: shape [models]; None counts samples.
      config: the stop rule.

    >>> probs = [[[0.8, 0.2, 0.0]], [[0.8, 0.2, 0.0]]]
    >>> round(float(model_switch_expected_cost(probs, 4).mean), 4)
    6.3552
    """
    probs = validate_probabilities(probs)
    num_models = probs.shape[0]
    budgets = np.asarray(_budgets(k, num_models), dtype=np.float64)
    costs = _costs(cost_per_sample, num_models)
    stops = stop_probability(probs, k, config)
    continues = np.cumprod(1.0 - stops, axis=0)
    reach = np.concatenate([np.ones_like(stops[:1]), continues[:-1]], axis=0)
    per_question = (budgets * costs) @ reach
    return ExpectedCost(float(per_question.mean()), per_question, reach)


class BudgetSplit(NamedTuple):
    """Outcome of :func:`models_vs_samples`.

    Attributes:
      budget: the budget per question (cost units; samples with unit costs).
      best: the feasible candidate with the highest predicted accuracy (ties: cheaper, then
        earlier in enumeration order: rules as given, k ascending, subsets by size then
        lexicographic).
      candidates: every feasible candidate evaluated, in enumeration order.
      front: indices into ``candidates`` of the cost/accuracy Pareto front.
      more_models: one more model at the same k, or None when no larger subset exists.
      more_samples: one more sample per model on the same subset.
      reason: one readable sentence per line explaining the choice.
    """

    budget: float
    best: Candidate
    candidates: tuple[Candidate, ...]
    front: np.ndarray
    more_models: MarginalGain | None
    more_samples: MarginalGain | None
    reason: str


def _fold_draws(probs):
    """[draws?, models, questions, answers] -> ([models, draws*questions, answers], draws, q)."""
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(
            "probs must have shape [models, questions, answers] or "
            f"[draws, models, questions, answers], got {array.ndim} dimensions"
        )
    draws, models, questions, answers = array.shape
    folded = np.transpose(array, (1, 0, 2, 3)).reshape(models, draws * questions, answers)
    return validate_probabilities(folded), draws, questions


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    low, high = np.quantile(values, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(low), float(high)


class _Evaluator:
    """Exact accuracy and cost of candidates on folded draws, cached per (rule, subset, k)."""

    def __init__(self, folded, budget, costs, priority, mux_config, switch_config, interval):
        self.probs, self.draws, self.questions = folded
        self.num_models = self.probs.shape[0]
        self.budget = budget
        self.costs = costs
        self.priority = priority
        self.mux_config = mux_config
        self.switch_config = switch_config
        self.interval = interval
        self.cache: dict[tuple, Candidate] = {}

    def _per_draw(self, per_question) -> np.ndarray:
        return np.asarray(per_question).reshape(self.draws, self.questions).mean(axis=1)

    def _candidate(self, rule, subset, k, cost, accuracy_draws, interval=None) -> Candidate:
        if interval is None:
            interval = _interval(np.asarray(accuracy_draws), self.interval)
        return Candidate(
            rule=rule,
            subset=tuple(int(m) for m in subset),
            k=int(k),
            cost=float(cost),
            accuracy=float(np.mean(accuracy_draws)),
            accuracy_draws=np.asarray(accuracy_draws),
            accuracy_interval=interval,
            feasible=bool(fits(cost, self.budget)),
        )

    def mux_all(self, subsets: np.ndarray, samples: range) -> None:
        """SLM-MUX for many subsets and every k in ``samples``, compiled once.

        The per-model level laws of each k are padded with zero-probability top levels to a
        common length (a level nobody reaches changes no product) and stacked along the
        question axis. That axis and the subset list are then cut into blocks of one fixed
        shape (padding with questions nobody answers and with empty subsets), so the
        vectorised subset engine compiles once and its memory stays bounded.
        """
        laws = [
            mux_levels(multinomial_counts(self.probs, k), self.mux_config.confidence_denominator)
            for k in samples
        ]
        width = max(law.level.shape[-1] for law in laws)
        total = len(laws) * self.probs.shape[1]
        block = min(total, _QUESTION_BLOCK)
        padding = (-total) % block

        def stack(field, fill):
            arrays = [np.asarray(getattr(law, field)) for law in laws]
            padded = [np.pad(a, ((0, 0), (0, 0), (0, width - a.shape[-1]))) for a in arrays]
            # Padding questions: every model surely at level 0 (no valid answer), never correct.
            extra = np.zeros((self.num_models, padding, width))
            extra[..., 0] = fill
            return np.concatenate(padded + [extra], axis=1)

        level, level_correct = stack("level", 1.0), stack("level_correct", 0.0)
        rows = min(subsets.shape[0], _SUBSET_CHUNK)
        values = []
        for start in range(0, subsets.shape[0], rows):
            chunk = subsets[start : start + rows]
            chunk = np.concatenate([chunk, np.full((rows - len(chunk), chunk.shape[1]), -1)])
            parts = [
                np.asarray(
                    mux_subset_accuracy(
                        MuxLevels(
                            jnp.asarray(level[:, q : q + block]),
                            jnp.asarray(level_correct[:, q : q + block]),
                        ),
                        chunk,
                        self.priority,
                        self.mux_config.cross_model_tie,
                        batch_size=_SUBSET_BATCH,
                    )
                )
                for q in range(0, total + padding, block)
            ]
            values.append(np.concatenate(parts, axis=1))
        values = np.concatenate(values)[: subsets.shape[0], :total]
        per_draw = values.reshape(len(subsets), len(laws), self.draws, self.questions).mean(axis=-1)
        levels_q = [(1.0 - self.interval) / 2.0, (1.0 + self.interval) / 2.0]
        low, high = np.quantile(per_draw, levels_q, axis=-1)  # one call for all candidates
        for row, accuracy, row_low, row_high in zip(subsets, per_draw, low, high):
            subset = tuple(int(m) for m in row[row >= 0])
            unit_cost = fixed_cost(subset, 1, self.costs)
            for i, k in enumerate(samples):
                self.cache[("slm-mux", subset, k)] = self._candidate(
                    "slm-mux", subset, k, k * unit_cost, accuracy[i],
                    (float(row_low[i]), float(row_high[i])),
                )

    def get(self, rule: str, subset, k: int) -> Candidate:
        subset = tuple(int(m) for m in subset)
        key = (rule, subset, k)
        if key in self.cache:
            return self.cache[key]
        probs = self.probs[list(subset)]
        if rule == "slm-mux":
            per_question = mux_accuracy_exact(
                probs, k, config=self.mux_config, priority=self.priority[list(subset)]
            )
            cost = fixed_cost(subset, k, self.costs)
        elif rule == "agent-forest":
            per_question = pooled_vote_accuracy_exact(probs, k)
            cost = fixed_cost(subset, k, self.costs)
        elif rule == "model-switch":
            per_question = model_switch_exact(probs, k, config=self.switch_config).per_question
            cost = float(
                model_switch_expected_cost(
                    probs, k, self.costs[list(subset)], self.switch_config
                ).mean
            )
        else:
            raise ValueError(f"unknown rule {rule!r}; choose from {BUDGET_RULES}")
        candidate = self._candidate(rule, subset, k, cost, self._per_draw(per_question))
        self.cache[key] = candidate
        return candidate

    def switch_cost(self, order, n: int) -> float:
        return float(
            model_switch_expected_cost(
                self.probs[list(order)], n, self.costs[list(order)], self.switch_config
            ).mean
        )


def _gain(kind: str, base: Candidate, other: Candidate, level: float) -> MarginalGain:
    gain = draws_gain(base.accuracy_draws, other.accuracy_draws, level)
    return MarginalGain(
        kind=kind,
        candidate=other,
        gain=gain.mean,
        gain_interval=(gain.low, gain.high),
        extra_cost=other.cost - base.cost,
    )


def _best(candidates) -> Candidate:
    """The most accurate candidate; within 1e-12 of it, the cheapest (then the first)."""
    index = best_index([c.accuracy for c in candidates], [c.cost for c in candidates],
                       ties="cheapest", tolerance=ACCURACY_TOLERANCE)
    return candidates[index]


def _describe(best: Candidate, budget: float, more_models, more_samples) -> str:
    low, high = best.accuracy_interval
    lines = [
        f"best: {best.rule} on models {best.subset} with k={best.k}, "
        f"cost {best.cost:.4g} <= budget {budget:.4g}, predicted accuracy {best.accuracy:.4f} "
        f"[{low:.4f}, {high:.4f}]"
    ]
    steps = ((more_models, "one more model"), (more_samples, "one more sample per model"))
    for gain, label in steps:
        if gain is None:
            lines.append(f"{label}: not available")
            continue
        low, high = gain.gain_interval
        fits = "fits" if gain.candidate.feasible else "exceeds the budget"
        lines.append(
            f"{label} ({gain.candidate.subset}, k={gain.candidate.k}): "
            f"gain {gain.gain:+.4f} [{low:+.4f}, {high:+.4f}] "
            f"for {gain.extra_cost:+.4g} cost ({fits})"
        )
    return "\n".join(lines)


def models_vs_samples(
    probs,
    budget: float,
    cost_per_sample=None,
    *,
    rules=("slm-mux",),
    subsets: str = "all",
    max_subset_size: int | None = None,
    max_samples_per_model: int | None = None,
    validation_accuracy=None,
    mux_config: MuxConfig = MuxConfig(),
    switch_config: SwitchConfig = SwitchConfig(),
    switch_max_models: int = 2,
    interval: float = 0.9,
) -> BudgetSplit:
    """Best split of a per-question budget between models and samples per model.

    Candidates (every one evaluated exactly; draws folded into questions):

    * ``slm-mux``: every subset of up to ``max_subset_size`` models at every k with
      ``k · Σ cost ≤ budget`` (the fast shared-level engine scores all subsets at once).
    * ``agent-forest``: with ``subsets="all"`` every such subset; with ``"best_per_size"`` only
      the best SLM-MUX subset of each size at each k (pooled votes are costlier to enumerate).
    * ``model-switch``: ordered subsets of 2..``switch_max_models`` models (all orders of every
      subset with ``"all"``, all orders of the best SLM-MUX subset of that size with
      ``"best_per_size"``), ``n`` per model, kept while the EXPECTED cost fits: early stopping
      lets ModelSwitch afford a larger ``n`` than its maximum cost suggests. With draws, the
      feasibility uses the mean over draws.

    With ``subsets="best_per_size"`` the candidate list holds only the best feasible subset of
    each (rule, size, k); the optimum is the same maximum.

    Args:
      probs: [models, questions, answers] or posterior predictive draws
        [draws, models, questions, answers].
      budget: cost per question (samples when ``cost_per_sample`` is None).
      cost_per_sample: shape [models]; None means every sample costs 1.
      rules: a subset of :data:`BUDGET_RULES`.
      subsets: ``"all"`` or ``"best_per_size"``.
      max_subset_size: largest subset considered (default: every model).
      max_samples_per_model: cap on k (default: what the budget allows for the cheapest model).
      validation_accuracy: shape [models], SLM-MUX's cross-model tie ranks (default list order).
      mux_config: SLM-MUX options.
      switch_config: ModelSwitch options.
      switch_max_models: largest ModelSwitch chain (its exact engine enumerates a product).
      interval: central probability of the reported intervals over draws.

    Returns:
      a :class:`BudgetSplit`.

    Model 1 abstains instead of answering wrong, so a second sample of it is worth more than
    adding model 0 (0.84 = 1 − 0.4², against 0.6 for the pair at k = 1):

    >>> probs = [[[0.6, 0.4, 0.0]], [[0.6, 0.0, 0.4]]]
    >>> split = models_vs_samples(probs, 2)
    >>> split.best.subset, split.best.k, round(split.best.accuracy, 4)
    ((1,), 2, 0.84)
    """
    rules = (rules,) if isinstance(rules, str) else tuple(rules)
    unknown = set(rules) - set(BUDGET_RULES)
    if unknown or not rules:
        raise ValueError(f"rules must be a non-empty subset of {BUDGET_RULES}, got {rules}")
    if subsets not in ("all", "best_per_size"):
        raise ValueError(f"subsets must be 'all' or 'best_per_size', got {subsets!r}")
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must lie in (0, 1), got {interval}")
    folded = _fold_draws(probs)
    num_models = folded[0].shape[0]
    costs = _costs(cost_per_sample, num_models)
    budget = float(budget)
    k_max = int(np.floor(budget / costs.min() * (1.0 + 1e-12)))
    if max_samples_per_model is not None:
        k_max = min(k_max, int(max_samples_per_model))
    if k_max < 1:
        raise ValueError(f"budget {budget} is below the cost of one sample of the cheapest model")
    max_size = num_models if max_subset_size is None else min(int(max_subset_size), num_models)
    if mux_config.cross_model_tie == "validation_accuracy" and validation_accuracy is not None:
        priority = tie_priority(validation_accuracy)
    else:
        priority = np.arange(num_models)
    evaluator = _Evaluator(folded, budget, costs, priority, mux_config, switch_config, interval)
    pool = all_subsets(num_models, 1, max_size)
    sizes = (pool >= 0).sum(axis=1)
    pool_costs = np.array([fixed_cost(row[row >= 0], 1, costs) for row in pool])

    # SLM-MUX tables (also the "best subset of each size" for the other rules), k..k_max+1 so
    # that "one more sample" is ready for the optimum.
    if "slm-mux" in rules or subsets == "best_per_size":
        evaluator.mux_all(pool, range(1, k_max + 2))

    def mux_best(size: int, k: int, feasible_only: bool) -> tuple[int, ...] | None:
        rows = [row for row, s in zip(pool, sizes) if s == size]
        options = [evaluator.get("slm-mux", row[row >= 0], k) for row in rows]
        if feasible_only:
            options = [c for c in options if c.feasible]
        return _best(options).subset if options else None

    candidates: list[Candidate] = []
    for rule in rules:
        if rule in ("slm-mux", "agent-forest"):
            for k in range(1, k_max + 1):
                for size in range(1, max_size + 1):
                    rows = [
                        tuple(int(m) for m in row[row >= 0])
                        for row, s, c in zip(pool, sizes, pool_costs)
                        if s == size and fits(k * c, budget)
                    ]
                    if not rows:
                        continue
                    if subsets == "best_per_size":
                        best_subset = mux_best(size, k, feasible_only=True)
                        if rule == "slm-mux":
                            candidates.append(evaluator.get(rule, best_subset, k))
                        elif size >= 2:
                            candidates.append(evaluator.get(rule, best_subset, k))
                        continue
                    if rule == "agent-forest" and size == 1:
                        continue  # one model's pooled vote is its self-consistency: SLM-MUX K=1
                    candidates.extend(evaluator.get(rule, subset, k) for subset in rows)
        else:
            for size in range(2, min(switch_max_models, max_size) + 1):
                for n in itertools.count(1):
                    if max_samples_per_model is not None and n > max_samples_per_model:
                        break
                    if subsets == "all":
                        bases = itertools.combinations(range(num_models), size)
                    else:
                        # n <= budget / cost of the first model <= k_max: the table is ready.
                        bases = [mux_best(size, n, feasible_only=False)]
                    orders = [order for base in bases for order in itertools.permutations(base)]
                    affordable = [o for o in orders if fits(evaluator.switch_cost(o, n), budget)]
                    if not affordable:
                        break  # the expected cost grows with n
                    candidates.extend(evaluator.get(rule, order, n) for order in affordable)
    if not candidates:
        raise ValueError(f"no candidate fits budget {budget}")
    best = _best(candidates)

    k = best.k
    step = evaluator.get(best.rule, best.subset, k + 1)
    more_samples = _gain("more_samples", best, step, interval)
    more_models = None
    size = len(best.subset)
    if best.rule == "model-switch":
        if size + 1 <= min(switch_max_models, max_size):
            orders = [
                order
                for base in itertools.combinations(range(num_models), size + 1)
                for order in itertools.permutations(base)
            ]
            options = [evaluator.get(best.rule, order, k) for order in orders]
            more_models = _gain("more_models", best, _best(options), interval)
    elif size + 1 <= max_size:
        if best.rule == "slm-mux" or subsets == "all":
            rows = [tuple(int(m) for m in pool[j][pool[j] >= 0])
                    for j in larger_subsets(pool, best.subset, supersets_only=False)]
            options = [evaluator.get(best.rule, row, k) for row in rows]
            other = _best(options)
        else:
            other = evaluator.get(best.rule, mux_best(size + 1, k, feasible_only=False), k)
        more_models = _gain("more_models", best, other, interval)

    front = pareto_front([c.cost for c in candidates], [c.accuracy for c in candidates])
    return BudgetSplit(
        budget=budget,
        best=best,
        candidates=tuple(candidates),
        front=front,
        more_models=more_models,
        more_samples=more_samples,
        reason=_describe(best, budget, more_models, more_samples),
    )
