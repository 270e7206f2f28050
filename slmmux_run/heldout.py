"""The held-out test: predict rule accuracies from some samples, observe them on the others.

Fit on the first samples of every model, predict the k-sample accuracy of SLM-MUX, Agent Forest
and self-consistency for model pairs, and compare with what the held-out samples show. The
observed value is the exact expectation over drawing k of the held-out samples without
replacement (:func:`slmmux_theory.engines.exact.hypergeometric_counts`), so it carries no Monte Carlo
noise; it does carry the noise of having only a few held-out samples per question, and the
predictive interval includes that noise by replicating the held-out draw from each posterior
draw of the answer distributions.

Predictors are functions ``(key, fit_counts [M, Q, A], num_draws) -> probs [D, M, Q, A]``:

* :func:`plug_in_predictor` -- the empirical frequencies (one draw, no uncertainty);
* :func:`dirichlet_predictor` -- independent Dirichlet posteriors per (model, question);
* the hierarchical NumPyro model of :mod:`slmmux_theory.inference.answer_model` (see ``slmmux check``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import jax
import numpy as np

from slmmux_theory.distributions import compact_slots_per_model
from slmmux_theory.engines.exact import (
    hypergeometric_counts,
    multinomial_counts,
    mux_levels,
    mux_subset_accuracy,
    pooled_vote_pairs_exact,
    self_consistency_accuracy_exact,
)
from slmmux_theory.rules.base import tie_priority

__all__ = [
    "HELDOUT_RULES",
    "HeldoutRow",
    "dirichlet_predictor",
    "evaluate_rows",
    "observed_accuracies",
    "plug_in_predictor",
    "predicted_accuracies",
    "summarise",
]

HELDOUT_RULES = ("slm-mux", "agent-forest", "self-consistency")


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


def plug_in_predictor(key, fit_counts, num_draws: int = 1):
    """Per-question sample frequencies as the distribution (METHODS.md §5.3's plug-in)."""
    del key, num_draws
    counts = np.asarray(fit_counts, dtype=np.float64)
    totals = counts.sum(-1, keepdims=True)
    probs = np.where(totals > 0, counts / np.maximum(totals, 1), 0.0)
    probs[..., -1] = np.where(totals[..., 0] > 0, probs[..., -1], 1.0)
    return probs[None]


def dirichlet_predictor(key, fit_counts, num_draws: int = 200, concentration: float = 0.1):
    """Independent Dirichlet(counts + α) posteriors per (model, question), over the slots that
    model used on that question, the correct slot and ⊥."""
    counts = np.asarray(fit_counts, dtype=np.float64)
    # Slots this model used, plus the correct answer and ⊥: unseen wrong answers get no mass,
    # which keeps exact enumeration small (a pair rarely uses more than six slots).
    used = counts > 0
    used[..., 0] = True
    used[..., -1] = True
    alpha = np.where(used, counts + concentration, 0.0)
    gamma = jax.random.gamma(key, np.where(used, alpha, 1.0), shape=(num_draws,) + alpha.shape)
    gamma = np.where(used[None], np.asarray(gamma), 0.0)
    return gamma / gamma.sum(-1, keepdims=True)


def _pairs(num_models):
    return list(itertools.combinations(range(num_models), 2))


def _pair_values(array, pairs, rules, priority, k, law):
    """Accuracy of every (pair, rule).

    Args:
      array: counts (``law=hypergeometric_counts``) or probabilities (``law=multinomial_counts``)
        of all models, shape [models, questions, answers].
      law: turns such an array and k into a CountDistribution.
    """
    values = {}
    if "slm-mux" in rules or "self-consistency" in rules:
        everyone = law(compact_slots_per_model(array), k)
        if "slm-mux" in rules:
            levels = mux_levels(everyone)
            swept = mux_subset_accuracy(levels, np.array(pairs), priority)
            for pair, row in zip(pairs, np.asarray(swept)):
                values[(pair, "slm-mux")] = float(row.mean())
        if "self-consistency" in rules:
            per_model = np.asarray(self_consistency_accuracy_exact(everyone)).mean(axis=1)
            for m, value in enumerate(per_model):
                values[((m,), "self-consistency")] = float(value)
    if "agent-forest" in rules:
        kind = "hypergeometric" if law is hypergeometric_counts else "multinomial"
        stacked = np.stack([array[list(p)] for p in pairs])
        accuracy = pooled_vote_pairs_exact(stacked, k, kind)
        for pair, row in zip(pairs, accuracy):
            values[(pair, "agent-forest")] = float(row.mean())
    return values


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
    return _pair_values(counts, _pairs(counts.shape[0]), rules, priority, k,
                        hypergeometric_counts)


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
      probs_draws: shape [draws, models, questions, answers].
      heldout_sizes: recorded held-out samples per (model, question), shape [models, questions].
      k: k.

    Returns:
      {(model indices, rule): values [draws]} (predictive draws of the observed statistic).
    """
    probs_draws = np.asarray(probs_draws)
    num_draws, num_models = probs_draws.shape[:2]
    priority = np.arange(num_models) if priority is None else np.asarray(priority)
    pairs = _pairs(num_models)
    if num_draws == 1:
        values = _pair_values(probs_draws[0], pairs, rules, priority, k,
                              multinomial_counts)
        return {cell: np.array([value]) for cell, value in values.items()}
    sizes = np.asarray(heldout_sizes)
    keys = jax.random.split(key, num_draws)
    draws: dict = {}
    for d in range(num_draws):
        rng = np.random.default_rng(np.asarray(jax.random.key_data(keys[d])).ravel())
        probs = probs_draws[d] / probs_draws[d].sum(-1, keepdims=True)
        replicated = rng.multinomial(sizes, probs)
        for cell, value in observed_accuracies(replicated, k, rules, priority).items():
            draws.setdefault(cell, []).append(value)
    return {cell: np.array(values) for cell, values in draws.items()}


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
    """MAE (accuracy points as fractions) and interval coverage over one rule's rows."""
    chosen = [r for r in rows if r.rule == rule]
    if not chosen:
        return {"rule": rule, "cells": 0, "mae": float("nan"), "coverage": float("nan")}
    errors = [abs(r.predicted - r.observed) for r in chosen]
    covered = [r.interval[0] <= r.observed <= r.interval[1] for r in chosen]
    return {"rule": rule, "cells": len(chosen), "mae": float(np.mean(errors)),
            "coverage": float(np.mean(covered))}


def default_priority(fit_counts):
    """Tie ranks from per-sample accuracy on the fit samples (disjoint from the held-out ones)."""
    counts = np.asarray(fit_counts, dtype=np.float64)
    accuracy = counts[..., 0].sum(axis=1) / np.maximum(counts.sum(axis=(1, 2)), 1)
    return tie_priority(accuracy)
