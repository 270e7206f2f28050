"""The held-out test: predict rule accuracies from some samples, observe them on the others.

Place in the layers: planning (pure theory; the runner splits a sample file and prints). Fit
on the first samples of every model, predict the k-sample accuracy of SLM-MUX, Agent Forest
and self-consistency for model pairs, and compare with what the held-out samples show. The
observed value is the exact expectation over drawing k of the held-out samples without
replacement (:func:`slmmux_theory.engines.exact.hypergeometric_counts`), so it carries no Monte
Carlo noise; it does carry the noise of having only a few held-out samples per question, and
the predictive interval includes that noise by replicating the held-out draw from each
posterior draw of the answer distributions.

Predictors are those of :mod:`slmmux_theory.planning.predictors`
(``(key, fit_counts [M, Q, A], num_draws) -> QuestionLaws``); :func:`heldout_test` runs the
whole test with the plug-in as the baseline.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import jax
import numpy as np

from slmmux_theory.distributions import compact_slots_per_model
from slmmux_theory.engines.exact import (
    hypergeometric_counts,
    mux_levels,
    mux_subset_accuracy,
)
from slmmux_theory.engines.replay import (
    pair_rule_values,
    pooled_vote_pairs_exact,
    replay_levels,
    subset_accuracy_draws,
)
from slmmux_theory.engines.wide_levels import hypergeometric_levels, multinomial_levels
from slmmux_theory.planning.predictors import Predictor, QuestionLaws, plug_in_predictor
from slmmux_theory.rules.base import tie_priority
from slmmux_theory.rules.registry import RULES

__all__ = [
    "HELDOUT_RULES",
    "HeldoutRow",
    "HeldoutTest",
    "PlanScore",
    "default_priority",
    "evaluate_rows",
    "heldout_test",
    "observed_accuracies",
    "predicted_accuracies",
    "replayed_rule_accuracy",
    "replayed_subset_accuracy",
    "score_plan",
    "summarise",
]

# The rules the held-out test scores, from the registry's flags: ``level_engine`` rules (on
# pairs through the subset engine; a ``first_model_only`` rule per model) and ``pooled`` ones.
HELDOUT_RULES = tuple(name for name, rule in RULES.items() if rule.level_engine or rule.pooled)
# Pairs per pooled-vote call.
_PAIR_BLOCK = 8


@dataclass(frozen=True)
class HeldoutRow:
    """One (models, rule) cell of the held-out test.

    Attributes:
      models: model names (two for pair rules, one for self-consistency).
      rule: rule name.
      predicted: predictive mean of the held-out accuracy.
      interval: 90 % predictive interval (equal to ``(predicted, predicted)`` for a point
        predictor).
      observed: exact held-out accuracy.
    """

    models: tuple[str, ...]
    rule: str
    predicted: float
    interval: tuple[float, float]
    observed: float


class HeldoutTest(NamedTuple):
    """Outcome of :func:`heldout_test`.

    Attributes:
      rows: the predictor's rows.
      baseline: the plug-in predictor's rows (same cells).
    """

    rows: list
    baseline: list


class PlanScore(NamedTuple):
    """A plan's predicted subset accuracies scored against the truth.

    Attributes:
      mae: mean |predicted - truth| over the candidates (accuracy as a fraction).
      coverage: share of candidates whose interval holds the truth.
      regret: best true accuracy minus the true accuracy of the candidate predicted best.
    """

    mae: float
    coverage: float
    regret: float


def _pairs(num_models):
    return list(itertools.combinations(range(num_models), 2))


def _pair_question_values(array, pairs, rules, priority, k, hypergeometric: bool):
    """Per-question accuracy of every (pair, rule): {cell: values [questions]}.

    Args:
      array: counts (``hypergeometric``: k of them drawn without replacement) or probabilities
        (k i.i.d. samples) of all models, shape [models, questions, answers].

    Level rules read the per-row level laws of the pass over slots
    (:mod:`slmmux_theory.engines.wide_levels`): no count vector is enumerated and nothing is
    compiled per slot width, so many replications stacked along the questions cost one call.
    """
    unknown = [r for r in rules if r not in HELDOUT_RULES]
    if unknown:
        raise ValueError(f"the held-out test scores {HELDOUT_RULES}, not {unknown}")
    values = {}
    level_rules = [RULES[name] for name in HELDOUT_RULES if name in rules and RULES[name].level_engine]
    if level_rules:
        levels = (hypergeometric_levels if hypergeometric else multinomial_levels)(array, k)
        for rule in level_rules:
            if rule.first_model_only:
                # One model's SLM-MUX is its plurality vote: the mass of "level and correct".
                per_model = np.asarray(levels.level_correct).sum(axis=-1)
                for m, row in enumerate(per_model):
                    values[((m,), rule.name)] = row
            else:
                swept = mux_subset_accuracy(levels, np.array(pairs), priority)
                for pair, row in zip(pairs, np.asarray(swept)):
                    values[(pair, rule.name)] = row
    for name in rules:
        if RULES[name].pooled:
            kind = "hypergeometric" if hypergeometric else "multinomial"
            # Blocks of pairs bound the stacked copy (pairs x 2 x questions x answers).
            for start in range(0, len(pairs), _PAIR_BLOCK):
                block = pairs[start : start + _PAIR_BLOCK]
                stacked = np.stack([array[list(p)] for p in block])
                for pair, row in zip(block, pooled_vote_pairs_exact(stacked, k, kind)):
                    values[(pair, name)] = row
    return values


def _pair_values(array, pairs, rules, priority, k, hypergeometric: bool):
    """Accuracy (mean over questions) of every (pair, rule)."""
    return {cell: float(row.mean()) for cell, row in
            _pair_question_values(array, pairs, rules, priority, k, hypergeometric).items()}


def observed_accuracies(heldout_counts, k, rules=HELDOUT_RULES, priority=None):
    """Exact held-out accuracies: every (pair, rule) replayed over the held-out samples.

    Args:
      heldout_counts: recorded counts, shape [models, questions, answers].
      k: k.
      rules: subset of :data:`HELDOUT_RULES`.
      priority: SLM-MUX tie ranks, shape [models]; default list order.

    Returns:
      {(model indices, rule): accuracy}.
    """
    counts = np.asarray(heldout_counts)
    priority = np.arange(counts.shape[0]) if priority is None else np.asarray(priority)
    return _pair_values(counts, _pairs(counts.shape[0]), rules, priority, k, True)


def predicted_accuracies(
    key, probs_draws, heldout_sizes, k, rules=HELDOUT_RULES, priority=None
):
    """Predictive distribution of the held-out accuracies.

    For each draw of the distributions, the held-out samples are replicated (multinomial with
    the real held-out sizes) and replayed exactly, as the observed values are. With a single
    draw (a point predictor), the exact k-sample accuracy is returned: by exchangeability,
    drawing k of n i.i.d. samples without replacement is k i.i.d. samples.

    Args:
      key: jax.random key of the replication.
      probs_draws: a :class:`QuestionLaws` of probabilities, or its values
        [draws, models, questions, answers].
      heldout_sizes: recorded held-out samples per (model, question), shape [models, questions].
      k: k.

    Returns:
      {(model indices, rule): values [draws]} (predictive draws of the observed statistic).
    """
    if isinstance(probs_draws, QuestionLaws):
        probs_draws = probs_draws.values
    probs_draws = np.asarray(probs_draws)
    num_draws, num_models = probs_draws.shape[:2]
    priority = np.arange(num_models) if priority is None else np.asarray(priority)
    pairs = _pairs(num_models)
    if num_draws == 1:
        values = _pair_values(probs_draws[0], pairs, rules, priority, k, False)
        return {cell: np.array([value]) for cell, value in values.items()}
    sizes = np.asarray(heldout_sizes)
    keys = jax.random.split(key, num_draws)
    replicated = []
    for d in range(num_draws):
        rng = np.random.default_rng(np.asarray(jax.random.key_data(keys[d])).ravel())
        probs = probs_draws[d] / probs_draws[d].sum(-1, keepdims=True)
        replicated.append(rng.multinomial(sizes, probs))
    # Every replication replayed in one pass: the draws stacked along the questions
    # [models, draws * questions, answers], each draw's mean taken afterwards.
    stacked = np.concatenate(replicated, axis=1)
    values = _pair_question_values(stacked, pairs, rules, priority, k, True)
    return {cell: row.reshape(num_draws, -1).mean(axis=1) for cell, row in values.items()}


def evaluate_rows(model_names, observed, predicted, level: float = 0.9) -> list[HeldoutRow]:
    """Join observed and predicted cells into rows with predictive means and intervals."""
    rows = []
    tail = (1.0 - level) / 2.0
    for cell in sorted(observed, key=lambda c: (c[1], c[0])):
        models, rule = cell
        values = predicted[cell]
        low, high = np.quantile(values, [tail, 1.0 - tail])
        rows.append(
            HeldoutRow(
                models=tuple(model_names[m] for m in models),
                rule=rule,
                predicted=float(values.mean()),
                interval=(float(low), float(high)),
                observed=float(observed[cell]),
            )
        )
    return rows


def summarise(rows, rule: str = "slm-mux") -> dict:
    """MAE (accuracy as fractions) and interval coverage over one rule's rows.

    Returns:
      {"rule", "cells", "mae", "coverage"} (JSON-ready; NaN values when the rule has no row).
    """
    chosen = [r for r in rows if r.rule == rule]
    if not chosen:
        return {"rule": rule, "cells": 0, "mae": float("nan"), "coverage": float("nan")}
    errors = [abs(r.predicted - r.observed) for r in chosen]
    covered = [r.interval[0] <= r.observed <= r.interval[1] for r in chosen]
    return {"rule": rule, "cells": len(chosen), "mae": float(np.mean(errors)),
            "coverage": float(np.mean(covered))}


def default_priority(fit_counts):
    """Tie ranks from per-sample accuracy on the fit samples (disjoint from the held-out ones).

    >>> default_priority(np.array([[[1, 1, 0]], [[2, 0, 0]]])).tolist()
    [1, 0]
    """
    counts = np.asarray(fit_counts, dtype=np.float64)
    accuracy = counts[..., 0].sum(axis=1) / np.maximum(counts.sum(axis=(1, 2)), 1)
    return tie_priority(accuracy)


def heldout_test(key, fit_counts, heldout_counts, k: int, predictor: Predictor, *,
                 num_draws: int = 100, rules=HELDOUT_RULES, model_names=None,
                 priority=None) -> HeldoutTest:
    """The whole held-out test: observed cells, the predictor's rows and the plug-in's rows.

    Args:
      key: jax.random key (split into the predictor's and the replication's keys).
      fit_counts: counts of the fit samples, shape [models, questions, answers].
      heldout_counts: counts of the held-out samples (every row at least k), same shape.
      k: samples per model of the predicted rules.
      predictor: a :data:`~slmmux_theory.planning.predictors.Predictor`.
      num_draws: the predictor's draws.
      rules: some of :data:`HELDOUT_RULES`.
      model_names: names in the rows (default: indices as strings).
      priority: SLM-MUX tie ranks (default :func:`default_priority` of the fit counts).
    """
    heldout_counts = np.asarray(heldout_counts)
    names = model_names or [str(m) for m in range(heldout_counts.shape[0])]
    sizes = heldout_counts.sum(-1)
    priority = default_priority(fit_counts) if priority is None else np.asarray(priority)
    observed = observed_accuracies(heldout_counts, k, rules, priority)
    model_key, replicate_key = jax.random.split(key)
    laws = predictor(model_key, fit_counts, num_draws)
    rows = evaluate_rows(names, observed,
                         predicted_accuracies(replicate_key, laws, sizes, k, rules, priority))
    baseline = evaluate_rows(names, observed, predicted_accuracies(
        None, plug_in_predictor(None, fit_counts), sizes, k, rules, priority))
    return HeldoutTest(rows, baseline)


def replayed_subset_accuracy(counts, subsets, k: int, priority) -> np.ndarray:
    """SLM-MUX accuracy of each subset by exact replay of k of the recorded samples.

    The truth a plan is scored against: the expectation over drawing k of every (model,
    question)'s recorded samples without replacement, averaged over the questions.

    Args:
      counts: recorded answer counts, shape [models, questions, answers] (rows of >= k).
      subsets: model subsets of equal size, int [subsets, size].
      k: samples per model.
      priority: cross-model tie ranks (lower wins), shape [models].

    Returns:
      accuracy per subset, shape [subsets].

    >>> counts = np.array([[[2, 0, 0], [0, 2, 0]], [[0, 2, 0], [2, 0, 0]]])
    >>> replayed_subset_accuracy(counts, [(0, 1)], 2, np.array([0, 1])).tolist()
    [0.5]
    """
    counts = np.asarray(counts)
    levels = mux_levels(hypergeometric_counts(compact_slots_per_model(counts), k))
    return np.asarray(mux_subset_accuracy(levels, np.array(subsets), priority)).mean(axis=1)


def replayed_rule_accuracy(counts, rule: str, subsets, k: int, priority) -> np.ndarray:
    """Accuracy of any plan rule on each subset by exact replay of k of the recorded samples.

    What a run realised, for the candidates of a plan: ``level_engine`` rules (SLM-MUX; a
    subset of one model is its self-consistency) through the level laws, ``pair_engine`` rules
    (Agent Forest, ModelSwitch visiting ``subsets[:, 0]`` first) through the pair engine; the
    expectation over drawing k of every row's samples without replacement (with rows of exactly
    k samples: the run's own outcome, averaged only over its random tie-breaks).

    Args:
      counts: recorded answer counts, shape [models, questions, answers] (rows of >= k).
      rule: a rule of :data:`slmmux_theory.planning.plan.PLAN_RULES`.
      subsets: model subsets of equal size, int [subsets, size] (pair rules: ordered pairs).
      k: samples per model.
      priority: cross-model tie ranks (lower wins), shape [models].

    Returns:
      accuracy per subset, shape [subsets].

    >>> counts = np.array([[[2, 0, 0], [0, 2, 0]], [[0, 2, 0], [2, 0, 0]]])
    >>> replayed_rule_accuracy(counts, "slm-mux", [(0, 1)], 2, np.array([0, 1])).tolist()
    [0.5]
    """
    counts = np.asarray(counts)
    subsets = np.asarray(subsets, dtype=int).reshape(len(subsets), -1)
    if RULES[rule].pair_engine:
        return np.asarray(pair_rule_values(rule, counts, subsets, k, True).accuracy).mean(axis=1)
    if not RULES[rule].level_engine:
        raise ValueError(f"rule {rule!r} is not one a plan ranks")
    levels = replay_levels(counts, k, True)
    return subset_accuracy_draws(levels, subsets, np.asarray(priority), 1)[:, 0]


def score_plan(predicted, intervals, truth) -> PlanScore:
    """MAE, interval coverage and regret of predicted accuracies against the true ones.

    Args:
      predicted: predicted accuracy per candidate, shape [candidates].
      intervals: (low, high) predictive interval per candidate, shape [candidates, 2].
      truth: true accuracy per candidate (e.g. :func:`replayed_subset_accuracy`), same shape
        as ``predicted``.

    Returns:
      a :class:`PlanScore`.

    >>> score = score_plan([0.7, 0.6], [(0.6, 0.8), (0.5, 0.55)], [0.65, 0.75])
    >>> round(score.mae, 4), score.coverage, round(score.regret, 4)
    (0.1, 0.5, 0.1)
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    low, high = np.asarray(intervals, dtype=np.float64).reshape(-1, 2).T
    errors = np.abs(predicted - truth)
    covered = (low <= truth) & (truth <= high)
    regret = float(truth.max() - truth[int(np.argmax(predicted))])
    return PlanScore(float(errors.mean()), float(covered.mean()), regret)
