"""Plan before spending: predict every candidate's population accuracy from a small pilot.

Place in the layers: runner (NumPy/JAX glue around :mod:`slmmux_theory`); no file I/O except
the figure written by :func:`pareto_figure`.

The target of every prediction is the accuracy over ALL ``N`` questions of the task (the
population, a finite set), replayed exactly over ``n`` recorded samples per (model, question)
(``replay_samples``; drawing ``k`` of ``n`` i.i.d. samples is ``k`` i.i.d. samples, so this is
an unbiased, slightly noisy version of the accuracy under the answer distributions).

* **Hierarchical predictor** (the answer model of :mod:`slmmux_theory.inference.answer_model`, fitted on
  the pilot counts). For each posterior draw: the pilot questions' distributions are the
  posterior predictive conditioned on their pilot samples; the ``N - Q`` unseen questions are
  drawn by a finite-population Bayesian bootstrap of the pilot questions (Dirichlet(1) weights,
  then ``N - Q`` draws with them), by the same bootstrap within two strata, shared failures
  and the rest, with the failures' share under a Beta posterior (``"stratified"``, the default:
  a small pilot that saw no shared failure still allows some; on GSM8K pilots of 25 questions
  it lifts the 90 % coverage from 0.62 to 0.85, ``experiments/pilot_eval``), or as new
  questions from the fitted parametric population (``unseen="population"``, measured 3-5
  points too hard on GSM8K).
  The ``n - S`` unrecorded samples of the pilot questions and all ``n`` samples of the unseen
  ones are drawn from those distributions and the rule is replayed exactly over the pool.
  Intervals and ``p_best`` come from the draws.
* **Plug-in baseline**: per-question sample frequencies of the pilot (METHODS.md §5.3). It
  knows nothing about unseen questions, so it predicts the pilot questions' mean; its interval
  is a bootstrap over pilot questions shrunk by the finite-population factor ``1 - Q/N``.

Rules: SLM-MUX over subsets of the requested sizes, self-consistency of single models, and
Agent Forest and ModelSwitch over pairs (:func:`pair_rule_values`; ModelSwitch's cost is its
expected cost with early stopping). The SLM-MUX engine for one k is :func:`replay_levels`:
SLM-MUX factorises over models, so every (model, question) row is enumerated on its own used
slots only (rows grouped by how many wrong slots they use), which keeps k up to 10 exact on
files with many distinct wrong answers.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.planning.budget import fixed_cost, pareto_front
from slmmux_theory.engines.exact import (
    MuxLevels,
    by_question_width,
    count_vectors,
    hypergeometric_counts,
    model_switch_exact,
    multinomial_counts,
    mux_levels,
    mux_subset_accuracy,
    pooled_vote_pairs_exact,
)
from slmmux_theory.rules.base import SwitchConfig, tie_priority
from slmmux_theory.planning.search import all_subsets
from slmmux_theory.inference.unseen import (
    generic_failure_probs,
    shared_failure_questions,
    stratified_unseen_picks,
    unseen_question_picks,
)

__all__ = [
    "PLAN_RULES",
    "PREDICTORS",
    "UNSEEN_LAWS",
    "BudgetChoice",
    "Plan",
    "PlanCandidate",
    "budget_choice",
    "draw_pilot",
    "pareto_figure",
    "pair_rule_values",
    "pilot_priority",
    "plan",
    "population_draws",
    "replay_levels",
    "subset_accuracy_draws",
]

PLAN_RULES = ("slm-mux", "agent-forest", "model-switch", "self-consistency")
# Agent Forest and ModelSwitch enumerate products over members: they are ranked on pairs.
PAIR_RULES = ("agent-forest", "model-switch")
# Pairs per pooled-vote call: bounds memory (pairs · 2 · draws·N · answers floats).
_PAIR_BLOCK = 6
PREDICTORS = ("hierarchical", "plug-in")
# How the hierarchical predictor draws the unseen questions ("population" is also accepted:
# new questions of the fitted parametric population, measured 3-5 points too hard on GSM8K).
UNSEEN_LAWS = ("bootstrap", "stratified", "dirichlet-process")

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
            rows_here = part.shape[1]
            # Pad the rows to a power of two (copies of the first row, dropped below): the
            # engine is jitted per shape, and without padding every (width, chunk length)
            # pair compiles anew, which dominated a plan's run time.
            padded = min(chunk, 1 << max(6, (rows_here - 1).bit_length()))
            if padded > rows_here:
                part = np.concatenate(
                    [part, np.repeat(part[:, :1], padded - rows_here, axis=1)], axis=1)
            if hypergeometric:
                law = hypergeometric_counts(part, k)
            else:
                part = part / part.sum(-1, keepdims=True)
                law = multinomial_counts(part, k)
            levels = mux_levels(law)
            level[index[start : start + chunk]] = np.asarray(levels.level[0, :rows_here])
            level_correct[index[start : start + chunk]] = np.asarray(
                levels.level_correct[0, :rows_here])
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


def pair_rule_values(rule: str, array, pairs, k: int, hypergeometric: bool = True,
                     cost_per_sample=None, switch_config: SwitchConfig = SwitchConfig()):
    """Exact per-question accuracy and expected cost of a pair rule for many ordered pairs.

    Args:
      rule: ``"agent-forest"`` (plurality over both models' k samples, uniform ties) or
        ``"model-switch"`` (the first model's k samples; if not unanimous the second's, then
        the entropy-weighted vote; METHODS.md §5.4).
      array: recorded counts (``hypergeometric``) or probabilities, [models, rows, answers].
      pairs: ordered model pairs, int [pairs, 2] (ModelSwitch visits the first one first).
      k: samples per model.
      cost_per_sample: shape [models]; None = 1 per sample.

    Returns:
      (accuracy, cost), each shape [pairs, rows]; ModelSwitch's cost counts the second model
      only when the first did not stop.

    >>> acc, cost = pair_rule_values("model-switch", np.array([[[3, 0, 0]], [[0, 3, 0]]]),
    ...                              np.array([[0, 1]]), 2)
    >>> float(acc[0, 0]), float(cost[0, 0])
    (1.0, 2.0)
    """
    array = np.asarray(array)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    costs = np.ones(array.shape[0]) if cost_per_sample is None else np.asarray(cost_per_sample)
    law = "hypergeometric" if hypergeometric else "multinomial"
    if rule == "agent-forest":
        accuracy = np.concatenate([
            pooled_vote_pairs_exact(np.stack([array[pair] for pair in block]), k, law=law)
            for block in np.array_split(pairs, max(1, -(-len(pairs) // _PAIR_BLOCK)))
        ]) if len(pairs) else np.zeros((0, array.shape[1]))
        cost = np.broadcast_to((k * costs[pairs].sum(1))[:, None], accuracy.shape).copy()
        return accuracy, cost
    if rule != "model-switch":
        raise ValueError(f"rule must be one of {PAIR_RULES}, got {rule!r}")
    make = hypergeometric_counts if hypergeometric else multinomial_counts

    def switch(group):
        if not hypergeometric:
            group = group / group.sum(-1, keepdims=True)
        result = model_switch_exact(make(group, k), config=switch_config)
        return np.stack([np.asarray(result.per_question), np.asarray(result.expected_samples)],
                        axis=-1)

    accuracy = np.zeros((len(pairs), array.shape[1]))
    cost = np.zeros_like(accuracy)
    for i, (first, second) in enumerate(pairs):
        values = by_question_width(array[[first, second]], switch)
        accuracy[i] = values[:, 0]
        cost[i] = k * costs[first] + (values[:, 1] - k) * costs[second]
    return accuracy, cost


# ----------------------------------------------------------------------------- predictors


def population_draws(key, pilot_counts, num_questions: int, replay_samples: int, *,
                     num_draws: int = 100, svi_steps: int = 1000, unseen: str = "stratified",
                     concentration: float = 1.0):
    """Replay pools of the whole population, one per posterior draw (hierarchical predictor).

    Args:
      key: jax.random key (fit, predictive draws and the simulated samples).
      pilot_counts: pilot counts, shape [models, Q, answers] (Q pilot questions).
      num_questions: N, the population size (N >= Q).
      replay_samples: n, recorded samples per (model, question) of the target replay.
      unseen: how the N - Q unseen questions are drawn: ``"bootstrap"`` (per draw,
        Dirichlet(1) weights over the pilot questions, then N - Q of them drawn with those
        weights and their posterior distributions reused: the finite-population Bayesian
        bootstrap, which keeps the models' joint behaviour per question and assumes no
        difficulty law) or ``"population"`` (new questions from the fitted population:
        parametric difficulty and attractor; measured ~3-5 points too hard on GSM8K), or
        ``"dirichlet-process"``: the Dirichlet-process posterior whose base measure is that
        fitted population, i.e. the bootstrap with one more weight ``concentration`` on "a
        new question from the population". A handful of pilot questions may all be easy;
        the plain bootstrap then cannot imagine a hard one and its interval collapses.
        ``"stratified"`` (default): the bootstrap within two strata, shared failures and the
        rest, with the share of shared failures under a Beta posterior, so that a pilot that saw
        none still allows some (:func:`slmmux_theory.inference.unseen.stratified_unseen_picks`).
      concentration: the Dirichlet-process concentration α (pseudo-questions of the base).

    Returns:
      int pools, shape [models, draws * N, answers] (draw-major), each row holding n samples:
      the pilot samples plus simulated ones on pilot questions, simulated ones elsewhere.
    """
    from slmmux_theory.inference.answer_model import fit_answer_model
    from slmmux_theory.inference.predict import population_predictive_probs, posterior_predictive_probs

    counts = np.asarray(pilot_counts)
    models, pilot_size, answers = counts.shape
    fit_key, post_key, pop_key, sim_key = jax.random.split(key, 4)
    fit = fit_answer_model(fit_key, counts, method="svi", num_draws=num_draws, svi_steps=svi_steps)
    probs = np.asarray(posterior_predictive_probs(post_key, fit, num_draws=num_draws))
    if num_questions > pilot_size:
        if unseen == "population":
            new = np.asarray(population_predictive_probs(pop_key, fit, num_questions - pilot_size,
                                                         num_draws=num_draws))
        elif unseen in UNSEEN_LAWS:
            # Unseen questions reuse the posteriors of the pilot questions picked for them.
            pick_key, base_key = jax.random.split(pop_key)
            base = unseen == "dirichlet-process"
            if unseen == "stratified":
                picks = stratified_unseen_picks(pick_key, shared_failure_questions(counts),
                                                num_questions - pilot_size, num_draws)
            else:
                picks = unseen_question_picks(pick_key, pilot_size, num_questions - pilot_size,
                                              num_draws, concentration if base else 0.0)
            new = np.take_along_axis(probs, np.minimum(picks, pilot_size - 1)[:, None, :, None],
                                     axis=2)
            if base:
                fresh = np.asarray(population_predictive_probs(
                    base_key, fit, num_questions - pilot_size, num_draws=num_draws))
                new = np.where((picks == pilot_size)[:, None, :, None], fresh, new)
            elif unseen == "stratified":
                new = np.where((picks == pilot_size)[:, None, :, None],
                               generic_failure_probs(new.shape[:-1], answers), new)
        else:
            raise ValueError(f"unseen must be one of {UNSEEN_LAWS + ('population',)}, "
                             f"got {unseen!r}")
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


def _prediction_source(predictor, key, pilot_counts, num_questions, replay_samples, num_draws,
                       svi_steps, unseen="stratified", concentration=1.0):
    """(array, hypergeometric, draws): what every rule's exact engine replays.

    Hierarchical: pools of the whole population, one per draw, folded [models, draws*N, A]
    (exact replay). Plug-in: the pilot counts themselves when they hold every recorded sample
    (exact replay), else their frequencies as i.i.d. laws; one "draw".
    """
    counts = np.asarray(pilot_counts)
    if predictor == "hierarchical":
        pools = population_draws(key, counts, num_questions, replay_samples,
                                 num_draws=num_draws, svi_steps=svi_steps, unseen=unseen,
                                 concentration=concentration)
        return pools, True, num_draws
    if predictor == "plug-in":
        totals = counts.sum(-1)
        if bool(np.all(totals == replay_samples)):
            return counts, True, 1
        probs = np.where(totals[..., None] > 0, counts / np.maximum(totals, 1)[..., None], 0)
        probs[..., -1] = np.where(totals > 0, probs[..., -1], 1.0)
        return probs, False, 1
    raise ValueError(f"predictor must be one of {PREDICTORS}, got {predictor!r}")


def _predict_levels(predictor, key, pilot_counts, num_questions, replay_samples, k_values,
                    num_draws, svi_steps, unseen="stratified", concentration=1.0):
    """{k: MuxLevels folded [models, draws*N', L]}, the number of draws, and the source."""
    source = _prediction_source(predictor, key, pilot_counts, num_questions, replay_samples,
                                num_draws, svi_steps, unseen, concentration)
    array, hypergeometric, draws = source
    return {k: replay_levels(array, k, hypergeometric) for k in k_values}, draws, source


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
      rule: one of :data:`PLAN_RULES`.
      cost: cost per question (k · Σ cost per sample; ModelSwitch: expected, with early
        stopping, mean over draws).
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
    """Best (subset, k) with (expected) cost ≤ budget, and why (one more model vs one more
    sample; for ModelSwitch, what early stopping saves)."""

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


def _interval(values, level=0.9):
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return low, high


def _fold_rows(per_row, draws, predictor, num_questions, seed):
    """Per-row values [candidates, draws*N'] -> accuracy draws [candidates, draws']."""
    if predictor != "plug-in":
        return per_row.reshape(per_row.shape[0], draws, -1).mean(-1)
    # The same resampled questions for every candidate and k: gains are paired.
    return _bootstrap(per_row, num_questions, np.random.default_rng(seed))


def _accuracy_draws(levels, subsets, priority, draws, predictor, num_questions, seed):
    if predictor != "plug-in":
        return subset_accuracy_draws(levels, subsets, priority, draws)
    # Per-question values of the pilot, then a bootstrap over pilot questions.
    per_question = np.asarray(mux_subset_accuracy(
        MuxLevels(jnp.asarray(levels.level), jnp.asarray(levels.level_correct)),
        subsets, priority, batch_size=32))
    return _fold_rows(per_question, draws, predictor, num_questions, seed)


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
) -> Plan:
    """Predict every candidate's population accuracy from pilot counts.

    Args:
      key: jax.random key.
      pilot_counts: shape [models, Q, answers], the pilot's counts (any samples per row).
      num_questions: N, questions of the task (the population), N >= Q.
      replay_samples: n, recorded samples per (model, question) the target replays (>= k).
      k: samples per model of the ranked candidates.
      subset_sizes: sizes of the subsets ranked (every subset of each size).
      rules: some of :data:`PLAN_RULES` (self-consistency: single models; Agent Forest and
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
      unseen: hierarchical predictor's unseen questions, see :func:`population_draws`.
      concentration: Dirichlet-process concentration (``unseen="dirichlet-process"``).

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
    levels, draws, source = _predict_levels(predictor, key, counts, num_questions,
                                            replay_samples, k_values, num_draws, svi_steps,
                                            unseen, concentration)
    bootstrap_seed = np.asarray(jax.random.key_data(jax.random.fold_in(key, 7))).ravel().tolist()

    groups = []  # (rule, size, subsets)
    if "slm-mux" in rules:
        groups += [("slm-mux", s, np.array(list(itertools.combinations(range(models), s))))
                   for s in sizes]
    if "self-consistency" in rules:
        groups.append(("self-consistency", 1, np.arange(models)[:, None]))
    pairs = np.array(list(itertools.combinations(range(models), 2)))
    # ModelSwitch visits the pilot's better model first (the order the paper's chains use).
    pairs = np.where((priority[pairs[:, 0]] > priority[pairs[:, 1]])[:, None], pairs[:, ::-1],
                     pairs)
    groups += [(rule, 2, pairs) for rule in PAIR_RULES if rule in rules and models >= 2]
    candidates, all_draws, indistinct, warnings = [], [], {}, []
    for rule, size, subsets in groups:
        pair_cost = None
        if rule in PAIR_RULES:
            per_row, cost_rows = pair_rule_values(rule, source[0], subsets, k, source[1], costs)
            values = _fold_rows(per_row, draws, predictor, num_questions, bootstrap_seed)
            pair_cost = cost_rows.mean(1)
        else:
            values = _accuracy_draws(levels[k], subsets, priority, draws, predictor,
                                     num_questions, bootstrap_seed)
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
        for i, (row, draw_row, lo, hi, p) in enumerate(zip(subsets, values, low, high, p_best)):
            cost = fixed_cost(row, k, costs) if pair_cost is None else pair_cost[i]
            candidates.append(PlanCandidate(
                tuple(int(m) for m in row), k, rule, float(cost),
                float(draw_row.mean()), (float(lo), float(hi)), float(p)))
            all_draws.append(draw_row)
    order = np.argsort([-c.predicted_accuracy for c in candidates], kind="stable")
    result_draws = np.array(all_draws)[order]
    choices, front = (), ()
    if budgets:
        choices, front = _budget(levels, k_budget, budgets, costs, priority, draws, predictor,
                                 num_questions, bootstrap_seed, min(max_budget_size, models), names)
        if "model-switch" in rules and models >= 2:
            choices, front = _switch_budget(choices, front, source, pairs, k_budget, costs,
                                            draws, predictor, num_questions, bootstrap_seed,
                                            names)
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
         tuple(int(m) for m in pool[grid[j][0]] if m >= 0), int(grid[j][1]), "slm-mux")
        for j in keep
    )
    return tuple(choices), front


def _switch_budget(choices, front, source, pairs, k_values, costs, draws, predictor,
                   num_questions, bootstrap_seed, names):
    """Let ModelSwitch pairs compete for each budget at their EXPECTED cost.

    Early stopping makes a chain of two models at n samples each cost far less than 2n on
    easy questions, so at a fixed budget ModelSwitch can afford a larger n than SLM-MUX.
    """
    array, hypergeometric, _ = source
    options = []  # (pair, n, accuracy draws, expected cost)
    for n in k_values:
        per_row, cost_rows = pair_rule_values("model-switch", array, pairs, n, hypergeometric,
                                              costs)
        values = _fold_rows(per_row, draws, predictor, num_questions, bootstrap_seed)
        options += [(pair, n, values[i], float(cost_rows[i].mean()))
                    for i, pair in enumerate(pairs)]

    def show(members):
        return " -> ".join(str(names[m]) if names else str(m) for m in members)

    updated = []
    for choice in choices:
        feasible = [o for o in options if o[3] <= choice.budget * (1 + 1e-12)]
        if not feasible:
            updated.append(choice)
            continue
        pair, n, values, cost = max(feasible, key=lambda o: o[2].mean())
        if values.mean() <= choice.predicted_accuracy + 1e-12:
            updated.append(dataclasses.replace(choice, reason=choice.reason + (
                f"\nbest ModelSwitch chain {show(pair)} at n={n}: {values.mean():.4f} for "
                f"expected cost {cost:.3g}: not better")))
            continue
        low, high = _interval(values)
        full = n * float(costs[list(pair)].sum())
        updated.append(BudgetChoice(
            choice.budget, tuple(int(m) for m in pair), int(n), float(values.mean()),
            (float(low), float(high)), None, None,
            f"budget {choice.budget:g}: ModelSwitch {show(pair)} x n={n}, predicted "
            f"{values.mean():.4f} [{low:.4f}, {high:.4f}] at expected cost {cost:.3g} (early "
            f"stopping saves {full - cost:.3g} of {full:g}); best SLM-MUX choice "
            f"{choice.predicted_accuracy:.4f}", rule="model-switch", expected_cost=cost))
    points = list(front) + [
        (o[3], float(o[2].mean()), tuple(int(m) for m in o[0]), int(o[1]), "model-switch")
        for o in options]
    keep = pareto_front(np.array([p[0] for p in points]), np.array([p[1] for p in points]))
    return tuple(updated), tuple(points[j] for j in keep)


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
