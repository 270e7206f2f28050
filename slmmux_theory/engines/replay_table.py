"""The replay table: every rule at every k on recorded samples, SLM-MUX ties from validation.

Place in the layers: engines (pure NumPy/JAX on sample arrays; the runner loads records and
prints). Questions are split into a validation part (the SLM-MUX tie-break ranks models by
their per-sample accuracy there) and a disjoint evaluation part, or cross-fitted over folds;
each rule is replayed on the evaluation questions **literally** on the first k recorded samples
with seeded ties, and **exactly** as the expectation over drawing k of the recorded samples
without replacement (:mod:`slmmux_theory.engines.replay`); optionally beside the plug-in
prediction (the recorded frequencies taken as the answer laws, k i.i.d. samples).

Samples are slot indices, shape [models, questions, samples], negative where a sample was not
recorded; slot 0 is the correct answer and the last slot ⊥. Any registered rule replays
(:mod:`slmmux_theory.rules.registry`); :data:`REPLAY_RULES`, the rules flagged
``replay_report``, is the table of every rule (``slmmux mux --rule all``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import jax
import numpy as np

from slmmux_theory.engines.replay import (
    MAX_EXACT_SLOTS,
    ReplayValues,
    exact_replay,
    literal_replay,
    mean_and_standard_error,
    sample_counts,
)
from slmmux_theory.rules.base import tie_priority
from slmmux_theory.rules.registry import RULES, get_rule, rule_names
from slmmux_theory.rules.rule import Rule

__all__ = [
    "REPLAY_RULES",
    "ReplayRow",
    "evaluation_folds",
    "exact_replay_samples",
    "literal_replay_samples",
    "plug_in_replay_samples",
    "replay_table",
    "validation_accuracy",
]

REPLAY_RULES = rule_names(replay_report=True)


def evaluation_folds(
    num_questions: int, validation_fraction: float, seed: int, cross_fit: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint (validation, evaluation) question indices.

    Without cross-fitting: one split, ``round(fraction * Q)`` validation questions, the rest
    evaluated. With cross-fitting: ``round(1 / fraction)`` folds; each fold is evaluated with
    the other folds as its validation part, so every question is evaluated once. A fraction of
    0 gives no validation questions (ties then fall back to list order).

    Raises:
      ValueError: for a fraction outside [0, 1) or a split that leaves a part empty.

    >>> folds = evaluation_folds(10, 0.3, seed=0)
    >>> [len(v) for v, e in folds], [len(e) for v, e in folds]
    ([3], [7])
    >>> sorted(np.concatenate([e for _, e in evaluation_folds(10, 0.5, 0, True)]).tolist())
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ValueError(f"--validation-split must lie in [0, 1), got {validation_fraction}")
    everything = np.arange(num_questions)
    if validation_fraction == 0.0:
        return [(everything[:0], everything)]
    order = np.random.default_rng(seed).permutation(num_questions)
    if cross_fit:
        folds = max(2, round(1.0 / validation_fraction))
        parts = np.array_split(order, folds)
        return [
            (np.sort(np.concatenate([p for j, p in enumerate(parts) if j != i])), np.sort(part))
            for i, part in enumerate(parts)
        ]
    size = int(round(validation_fraction * num_questions))
    if not 0 < size < num_questions:
        raise ValueError(f"--validation-split {validation_fraction} of {num_questions} questions "
                         "leaves a part empty")  # fmt: skip
    return [(np.sort(order[:size]), np.sort(order[size:]))]


def validation_accuracy(samples, questions) -> np.ndarray:
    """Per-sample accuracy of each model on the given questions, shape [models] (NaN if none).

    >>> validation_accuracy(np.array([[[0, 1]], [[-1, -1]]]), [0]).tolist()
    [0.5, nan]
    """
    samples = np.asarray(samples)[:, questions]
    recorded = (samples >= 0).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(recorded > 0, (samples == 0).sum(axis=(1, 2)) / recorded, np.nan)


def _replay_rule(rule: str | Rule) -> Rule:
    """The registered rule, or a ValueError naming the registered ones."""
    if not isinstance(rule, Rule) and rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    return get_rule(rule)


def _rule_models(rule: Rule, model: int | None, num_models: int) -> list[int]:
    return [model] if rule.first_model_only else list(range(num_models))


def _validation(validation, models) -> np.ndarray:
    """Per-model validation accuracy of the models used (NaN: list order)."""
    if validation is None:
        return np.full(len(models), np.nan)
    validation = np.asarray(validation, dtype=np.float64)
    return validation[models] if len(validation) != len(models) else validation


def literal_replay_samples(samples, num_answers: int, rule: str, k: int, key, *, priority=None,
                           model: int | None = None) -> ReplayValues:
    """The literal replay of a rule on the first k recorded samples (see
    :func:`~slmmux_theory.engines.replay.literal_replay`).

    Raises:
      ValueError: when k exceeds the recorded samples or the rule is not registered.
    """
    samples = np.asarray(samples)
    if k > samples.shape[2]:
        raise ValueError(f"k={k} but only {samples.shape[2]} samples are recorded")
    rule = _replay_rule(rule)
    return literal_replay(samples[:, :, :k], num_answers, rule, key, priority=priority,
                          model=model)


def exact_replay_samples(samples, num_answers: int, rule: str, k: int, *, validation=None,
                         model: int | None = None,
                         max_slots: int = MAX_EXACT_SLOTS) -> ReplayValues:
    """Expected correctness over drawing k of each model's recorded samples (no replacement).

    Every recorded sample counts, failures as ⊥. Questions needing more than ``max_slots`` slots
    for an enumerating rule (``enumerates_products``: agent-forest, model-switch) are NaN.

    Raises:
      ValueError: when a (model, question) has fewer than k recorded samples.
    """
    rule = _replay_rule(rule)
    models = _rule_models(rule, model, np.shape(samples)[0])
    counts = sample_counts(samples, num_answers)[models]
    if counts.sum(axis=2).min() < k:
        raise ValueError(f"exact replay at k={k} needs k recorded samples of "
                         "every model on every question; collect the missing ones first")
    return exact_replay(counts, rule, k, validation=_validation(validation, models),
                        max_slots=max_slots)


def plug_in_replay_samples(samples, num_answers: int, rule: str, k: int, *, validation=None,
                           model: int | None = None,
                           max_slots: int = MAX_EXACT_SLOTS) -> ReplayValues:
    """The theory's prediction from plug-in per-question frequencies (in-sample).

    Each (model, question)'s recorded answer frequencies are taken as its answer distribution
    and the rule's accuracy at k i.i.d. samples is computed exactly (multinomial).

    Raises:
      ValueError: when a (model, question) has no recorded sample.
    """
    rule = _replay_rule(rule)
    models = _rule_models(rule, model, np.shape(samples)[0])
    counts = sample_counts(samples, num_answers)[models].astype(np.float64)
    if counts.sum(axis=2, keepdims=True).min() == 0:
        raise ValueError("plug-in prediction needs a recorded sample of every (model, question)")
    return exact_replay(counts, rule, k, hypergeometric=False,
                        validation=_validation(validation, models), max_slots=max_slots)


@dataclass(frozen=True)
class ReplayRow:
    """One rule at one k on the evaluation questions.

    Attributes:
      rule: rule name; ``models``: the models it uses.
      k: samples per model.
      literal: accuracy of the literal replay on the first k samples; ``literal_se`` its
        standard error over questions.
      exact: expected accuracy over drawing k of the recorded samples; ``exact_se`` its
        standard error over questions; ``exact_questions`` how many questions it covers.
      literal_samples / exact_samples: samples spent per question (ModelSwitch saves some).
      predicted: plug-in theory prediction (in-sample), or NaN when not asked.
      questions: evaluation questions.
    """

    rule: str
    models: tuple[str, ...]
    k: int
    literal: float
    literal_se: float
    exact: float
    exact_se: float
    exact_questions: int
    literal_samples: float
    exact_samples: float
    predicted: float
    questions: int


def replay_table(
    samples,
    num_answers: int,
    model_names: Sequence[str],
    rules: Sequence[str],
    ks: Sequence[int],
    *,
    validation_fraction: float = 0.3,
    seed: int = 0,
    cross_fit: bool = False,
    predict: bool = False,
    max_slots: int = MAX_EXACT_SLOTS,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[ReplayRow], dict[str, Any]]:
    """Literal and exact replay of each rule at each k, SLM-MUX ties from validation accuracy.

    Args:
      samples: slot indices, shape [models, questions, samples] (negative: not recorded).
      num_answers: A.
      model_names: names of the models, length M.
      rules: registered rules (names), e.g. :data:`REPLAY_RULES`.
      ks: samples per model to replay.
      progress: called after each row with its name, e.g. ``"slm-mux k=3"`` (a runner's
        progress display); None: silent.

    Returns:
      (rows, split information: validation accuracies per fold and the evaluated questions).
    """
    samples = np.asarray(samples)
    num_models, num_questions, _ = samples.shape
    folds = evaluation_folds(num_questions, validation_fraction, seed, cross_fit)
    accuracies = [validation_accuracy(samples, v) for v, _ in folds]
    evaluated = np.concatenate([e for _, e in folds])
    rows = []
    for rule in rules:
        targets = range(num_models) if _replay_rule(rule).first_model_only else [None]
        for model, k in itertools.product(targets, ks):
            parts: dict[str, list[np.ndarray]] = {n: [] for n in ("lc", "ls", "ec", "es", "pc")}
            for fold, ((_, evaluation), accuracy) in enumerate(zip(folds, accuracies)):
                subset = samples[:, evaluation]
                key = jax.random.fold_in(jax.random.PRNGKey(seed), fold * 1000 + k)
                correct, spent = literal_replay_samples(
                    subset, num_answers, rule, k, key, priority=tie_priority(accuracy),
                    model=model)
                exact, expected = exact_replay_samples(
                    subset, num_answers, rule, k, validation=accuracy, model=model,
                    max_slots=max_slots)
                parts["lc"].append(correct)
                parts["ls"].append(spent)
                parts["ec"].append(exact)
                parts["es"].append(expected)
                if predict:
                    parts["pc"].append(plug_in_replay_samples(
                        subset, num_answers, rule, k, validation=accuracy, model=model,
                        max_slots=max_slots).correct)
            literal, literal_se, count = mean_and_standard_error(np.concatenate(parts["lc"]))
            exact, exact_se, exact_count = mean_and_standard_error(np.concatenate(parts["ec"]))
            predicted = (
                mean_and_standard_error(np.concatenate(parts["pc"]))[0] if predict else math.nan
            )
            names = tuple(model_names) if model is None else (model_names[model],)
            rows.append(ReplayRow(
                rule, tuple(names), int(k), literal, literal_se, exact, exact_se, exact_count,
                float(np.mean(np.concatenate(parts["ls"]))),
                float(np.nanmean(np.concatenate(parts["es"]))), predicted, count,
            ))  # fmt: skip
            if progress is not None:
                progress(f"{rule} k={k}" + ("" if model is None else f" {model_names[model]}"))
    split = {
        "validation_fraction": validation_fraction,
        "cross_fit": cross_fit,
        "seed": seed,
        "folds": [
            {"validation_questions": len(v), "evaluation_questions": len(e),
             "validation_accuracy": dict(zip(model_names, map(float, a)))}
            for (v, e), a in zip(folds, accuracies)
        ],  # fmt: skip
        "evaluated_questions": int(evaluated.size),
    }
    return rows, split
