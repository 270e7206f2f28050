"""Records -> answer-slot arrays -> the theory's rules: replay and live orchestration.

Floor 2 of the runner. Nothing here decides anything about answers: the selection rules are
:mod:`slmmux_theory.rules.base` (literal replay) and their expectations :mod:`slmmux_theory.engines.exact`
(exact replay). This module only

* splits questions into a validation part (the SLM-MUX tie-break ranks models by their
  per-sample accuracy there) and a disjoint evaluation part, or cross-fits over folds;
* replays a rule two ways on the evaluation questions: **literally** on the first k recorded
  samples with seeded ties, and **exactly** as the expectation over drawing k of the recorded
  samples without replacement (:func:`slmmux_theory.engines.exact.hypergeometric_counts`);
* runs ModelSwitch **live**: model j+1 is sampled only when the theory's stop rule did not end
  the question at model j, so calls are really saved (the record store is the cache).

Stored records become a :class:`~slmmux_run.data.datasets.SampleSet` in
:mod:`slmmux_run.data.record_samples` (:func:`load_records`).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.distributions import compact_slots
from slmmux_theory.engines.exact import exact_accuracy, hypergeometric_counts, multinomial_counts
from slmmux_theory.rules.base import (
    MuxConfig,
    SwitchConfig,
    first_seen_positions,
    model_switch_select,
    mux_select,
    oracle_any_mode,
    plurality_vote,
    pooled_vote,
    tie_priority,
)
from slmmux_run.sampling.collect import collect_question, estimate_plan, keys_of
from slmmux_run.data.datasets import MISSING_SAMPLE, SampleSet
from slmmux_run.data.record_samples import RecordSet, load_records
from slmmux_run.errors import UserError
from slmmux_run.data.records import Record

__all__ = [
    "REPLAY_RULES",
    "LiveSwitchResult",
    "ReplayRow",
    "evaluation_folds",
    "exact_replay",
    "literal_replay",
    "live_model_switch",
    "mean_and_standard_error",
    "plug_in_prediction",
    "replay_table",
    "validation_accuracy",
]

REPLAY_RULES = ("slm-mux", "agent-forest", "self-consistency", "model-switch", "oracle")

# Enumerating rules (pooled convolution, ModelSwitch product) cost |count vectors|^2 memory:
# C(k + A - 1, A - 1)^2 entries. Above this many slots a question's exact value is not computed.
MAX_EXACT_SLOTS = 10
_NARROW_SLOTS = 7


# --------------------------------------------------------------------------- splits


def evaluation_folds(
    num_questions: int, validation_fraction: float, seed: int, cross_fit: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint (validation, evaluation) question indices.

    Without cross-fitting: one split, ``round(fraction * Q)`` validation questions, the rest
    evaluated. With cross-fitting: ``round(1 / fraction)`` folds; each fold is evaluated with
    the other folds as its validation part, so every question is evaluated once. A fraction of
    0 gives no validation questions (ties then fall back to list order).

    >>> folds = evaluation_folds(10, 0.3, seed=0)
    >>> [len(v) for v, e in folds], [len(e) for v, e in folds]
    ([3], [7])
    >>> sorted(np.concatenate([e for _, e in evaluation_folds(10, 0.5, 0, True)]).tolist())
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise UserError(f"--validation-split must lie in [0, 1), got {validation_fraction}")
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
        raise UserError(f"--validation-split {validation_fraction} of {num_questions} questions "
                        "leaves a part empty")  # fmt: skip
    return [(np.sort(order[:size]), np.sort(order[size:]))]


def validation_accuracy(sample_set: SampleSet, questions: np.ndarray) -> np.ndarray:
    """Per-sample accuracy of each model on the given questions, shape [models] (NaN if none)."""
    samples = sample_set.samples[:, questions]
    recorded = (samples != MISSING_SAMPLE).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(recorded > 0, (samples == 0).sum(axis=(1, 2)) / recorded, np.nan)


# --------------------------------------------------------------------------- replay


def _rule_model_indices(rule: str, model: int | None, num_models: int) -> list[int]:
    return [model] if rule == "self-consistency" else list(range(num_models))


def literal_replay(
    sample_set: SampleSet,
    rule: str,
    k: int,
    key,
    *,
    priority=None,
    model: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply a rule of :mod:`slmmux_theory.rules.base` to the first k recorded samples.

    Args:
      sample_set: slots, shape [models, questions, samples].
      rule: one of :data:`REPLAY_RULES`.
      k: k.
      key: jax.random key; question q uses ``split(key, Q)[q]`` for its ties.
      priority: SLM-MUX tie ranks, shape [models] (default list order).
      model: the model of ``self-consistency``.

    Returns:
      (correct [questions] float, samples spent [questions] float).
    """
    k = k
    if k > sample_set.num_samples:
        raise UserError(f"k={k} but only {sample_set.num_samples} samples are recorded")
    chosen = sample_set.select(samples=slice(0, k))
    counts = jnp.asarray(chosen.counts).transpose(1, 0, 2)  # [Q, M, A]
    first_seen = first_seen_positions(jnp.asarray(chosen.samples), chosen.num_answers)
    first_seen = first_seen.transpose(1, 0, 2)
    keys = jax.random.split(key, sample_set.num_questions)
    num_models = sample_set.num_models
    if rule not in REPLAY_RULES:
        raise UserError(f"unknown rule {rule!r}; choose one of {', '.join(REPLAY_RULES)}")
    if rule == "self-consistency" and model is None:
        raise ValueError("self-consistency needs a model index")
    rank = jnp.arange(num_models) if priority is None else jnp.asarray(priority)
    answer, spent = _literal_answers(counts, first_seen, keys, rank, rule, model)
    if rule == "self-consistency":
        spent = jnp.full(sample_set.num_questions, float(k))
    elif rule != "model-switch":
        spent = jnp.full(sample_set.num_questions, float(num_models * k))
    return np.asarray(answer == 0, dtype=np.float64), np.asarray(spent, dtype=np.float64)


@functools.partial(jax.jit, static_argnums=(4, 5))
def _literal_answers(counts, first_seen, keys, rank, rule, model):
    """Chosen slot and samples spent per question; one compilation per (rule, shapes)."""
    spent = jnp.zeros(counts.shape[0])
    if rule == "slm-mux":
        answer = jax.vmap(lambda c, f, s: mux_select(c, rank, s, MuxConfig(), f).answer)(
            counts, first_seen, keys)  # fmt: skip
    elif rule == "agent-forest":
        answer = jax.vmap(lambda c, s: pooled_vote(c, s, "random").answer)(counts, keys)
    elif rule == "self-consistency":
        answer = jax.vmap(lambda c, s: plurality_vote(c[model], s, "random").answer)(counts, keys)
    elif rule == "model-switch":
        outcome = jax.vmap(lambda c, f, s: model_switch_select(c, None, s, SwitchConfig(), f))(
            counts, first_seen, keys)  # fmt: skip
        answer, spent = outcome.answer, outcome.samples_spent.astype(jnp.float64)
    else:
        hit = jax.vmap(lambda c, s: oracle_any_mode(c, s))(counts, keys)
        answer = jnp.where(hit, 0, 1)
    return answer, spent


def _exact_by_slot_buckets(
    counts: np.ndarray,
    rule: str,
    k: int,
    distribution_for: Callable[[np.ndarray, int], Any],
    validation: np.ndarray | None,
    max_slots: int,
) -> tuple[np.ndarray, np.ndarray]:
    """exact_accuracy per question, in at most two calls per rule and k.

    Per-model rules run on every question, compacted to the most slots any question uses.
    Enumerating rules run on the questions needing at most ``max_slots`` slots, in a narrow and
    a wide group; the others stay NaN (their enumeration would need |count vectors|^2 memory).
    """
    num_models, num_questions, _ = counts.shape
    used = (counts[:, :, 1:-1] > 0).any(axis=0).sum(axis=1)
    correct = np.full(num_questions, np.nan)
    spent = np.full(num_questions, np.nan)
    enumerating = rule in ("agent-forest", "model-switch") and num_models > 1
    if enumerating:
        # Two groups: most questions use few slots, and the cost grows like the square of the
        # number of count vectors, so the few wide questions should not set everyone's width.
        narrow = min(_NARROW_SLOTS, max_slots)
        groups = [np.flatnonzero(used + 2 <= narrow),
                  np.flatnonzero((used + 2 > narrow) & (used + 2 <= max_slots))]
    else:
        groups = [np.arange(num_questions)]
    for questions in groups:
        if questions.size == 0:
            continue
        result = exact_accuracy(
            rule,
            distribution_for(compact_slots(counts[:, questions]), k),
            k,
            validation_accuracy=validation if rule == "slm-mux" else None,
        )
        correct[questions] = np.asarray(result.per_question)
        spent[questions] = np.asarray(result.expected_samples)
    return correct, spent


def exact_replay(
    sample_set: SampleSet,
    rule: str,
    k: int,
    *,
    validation: np.ndarray | None = None,
    model: int | None = None,
    max_slots: int = MAX_EXACT_SLOTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected correctness over drawing k of each model's recorded samples (no replacement).

    Every recorded sample counts, failures as ⊥. Questions needing more than ``max_slots`` slots
    for an enumerating rule (agent-forest, model-switch) are NaN.

    Returns:
      (probability correct [questions], expected samples spent [questions]).

    Raises:
      UserError: when a (model, question) has fewer than k recorded samples.
    """
    models = _rule_model_indices(rule, model, sample_set.num_models)
    counts = np.asarray(sample_set.counts)[models]
    if counts.sum(axis=2).min() < k:
        raise UserError(f"exact replay at k={k} needs k recorded samples of "
                        "every model on every question; collect the missing ones first")
    if rule == "slm-mux" and validation is None:
        validation = np.full(len(models), np.nan)
    return _exact_by_slot_buckets(counts, rule, k, hypergeometric_counts,
                                  validation, max_slots)  # fmt: skip


def plug_in_prediction(
    sample_set: SampleSet,
    rule: str,
    k: int,
    *,
    validation: np.ndarray | None = None,
    model: int | None = None,
    max_slots: int = MAX_EXACT_SLOTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The theory's prediction from plug-in per-question frequencies (in-sample).

    Each (model, question)'s recorded answer frequencies are taken as its answer distribution
    and the rule's accuracy at k i.i.d. samples is computed exactly (multinomial).
    """
    models = _rule_model_indices(rule, model, sample_set.num_models)
    counts = np.asarray(sample_set.counts)[models].astype(np.float64)
    totals = counts.sum(axis=2, keepdims=True)
    if totals.min() == 0:
        raise UserError("plug-in prediction needs a recorded sample of every (model, question)")

    def multinomial(compact, k):
        return multinomial_counts(compact / compact.sum(axis=2, keepdims=True), k)

    if rule == "slm-mux" and validation is None:
        validation = np.full(len(models), np.nan)
    return _exact_by_slot_buckets(counts, rule, k, multinomial, validation,
                                  max_slots)  # fmt: skip


def mean_and_standard_error(values: np.ndarray) -> tuple[float, float, int]:
    """Mean over questions, its standard error (ddof 1), and how many values were finite.

    >>> mean_and_standard_error(np.array([1.0, 0.0, 1.0, 0.0]))
    (0.5, 0.28867513459481287, 4)
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return math.nan, math.nan, 0
    error = float(finite.std(ddof=1) / math.sqrt(finite.size)) if finite.size > 1 else math.nan
    return float(finite.mean()), error, int(finite.size)


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
    record_set: RecordSet,
    rules: Sequence[str],
    ks: Sequence[int],
    *,
    validation_fraction: float = 0.3,
    seed: int = 0,
    cross_fit: bool = False,
    predict: bool = False,
    max_slots: int = MAX_EXACT_SLOTS,
) -> tuple[list[ReplayRow], dict[str, Any]]:
    """Literal and exact replay of each rule at each k, SLM-MUX ties from validation accuracy.

    Returns:
      (rows, split information: validation accuracies per fold and the evaluated questions).
    """
    sample_set = record_set.sample_set
    folds = evaluation_folds(sample_set.num_questions, validation_fraction, seed, cross_fit)
    accuracies = [validation_accuracy(sample_set, v) for v, _ in folds]
    evaluated = np.concatenate([e for _, e in folds])
    rows = []
    for rule in rules:
        if rule not in REPLAY_RULES:
            raise UserError(f"unknown rule {rule!r}; choose one of {', '.join(REPLAY_RULES)}")
        targets = range(sample_set.num_models) if rule == "self-consistency" else [None]
        for model, k in itertools.product(targets, ks):
            parts: dict[str, list[np.ndarray]] = {n: [] for n in ("lc", "ls", "ec", "es", "pc")}
            for fold, ((_, evaluation), accuracy) in enumerate(zip(folds, accuracies)):
                subset = sample_set.select(questions=evaluation.tolist())
                key = jax.random.fold_in(jax.random.PRNGKey(seed), fold * 1000 + k)
                priority = tie_priority(accuracy)
                correct, spent = literal_replay(subset, rule, k, key, priority=priority,
                                                model=model)  # fmt: skip
                exact, expected = exact_replay(subset, rule, k, validation=accuracy, model=model,
                                               max_slots=max_slots)  # fmt: skip
                parts["lc"].append(correct)
                parts["ls"].append(spent)
                parts["ec"].append(exact)
                parts["es"].append(expected)
                if predict:
                    parts["pc"].append(plug_in_prediction(
                        subset, rule, k, validation=accuracy, model=model, max_slots=max_slots
                    )[0])  # fmt: skip
            literal, literal_se, count = mean_and_standard_error(np.concatenate(parts["lc"]))
            exact, exact_se, exact_count = mean_and_standard_error(np.concatenate(parts["ec"]))
            predicted = (
                mean_and_standard_error(np.concatenate(parts["pc"]))[0] if predict else math.nan
            )
            names = sample_set.models if model is None else (sample_set.models[model],)
            rows.append(ReplayRow(
                rule, tuple(names), int(k), literal, literal_se, exact, exact_se, exact_count,
                float(np.mean(np.concatenate(parts["ls"]))),
                float(np.nanmean(np.concatenate(parts["es"]))), predicted, count,
            ))  # fmt: skip
    split = {
        "validation_fraction": validation_fraction,
        "cross_fit": cross_fit,
        "seed": seed,
        "folds": [
            {"validation_questions": len(v), "evaluation_questions": len(e),
             "validation_accuracy": dict(zip(sample_set.models, map(float, a)))}
            for (v, e), a in zip(folds, accuracies)
        ],  # fmt: skip
        "evaluated_questions": int(evaluated.size),
    }
    return rows, split


# --------------------------------------------------------------------------- live


@dataclass(frozen=True)
class LiveSwitchResult:
    """Outcome of a live ModelSwitch run.

    Attributes:
      correct: per question, whether the chosen answer is correct, shape [questions].
      models_used: per question, how many models were sampled, shape [questions].
      samples_used: samples the rule consumed (cached or new).
      samples_max: samples if every model were sampled on every question.
      requests_sent: HTTP requests actually sent (cached samples cost none).
      requests_max: requests sampling every model on every question would take.
    """

    correct: np.ndarray
    models_used: np.ndarray
    samples_used: int
    samples_max: int
    requests_sent: int
    requests_max: int


async def live_model_switch(client, store, plan_by_model: Mapping[str, Sequence[Any]],
                            models: Sequence[str]) -> LiveSwitchResult:
    """ModelSwitch sampling on demand: model j+1 only when the stop rule did not fire at j.

    Args:
      client: an open :class:`~slmmux_run.sampling.client.Client`.
      store: the :class:`~slmmux_run.data.records.RecordStore` used as the cache.
      plan_by_model: per model, its :class:`~slmmux_run.sampling.collect.QuestionRequest` list (same
        questions, same order).
      models: visiting order.
    """
    budget_before = client.budget.requests
    num_questions = len(plan_by_model[models[0]])
    k = plan_by_model[models[0]][0].request.samples

    async def one(q: int) -> tuple[bool, int]:
        rows: list[Record] = []
        for j, name in enumerate(models):
            question = plan_by_model[name][q]
            await collect_question(client, store, question, client.config)
            latest = store.latest()
            rows.extend(latest[key] for key in keys_of(question) if key in latest)
            loaded = load_records(rows, models=models[: j + 1])
            counts = np.zeros((len(models), loaded.sample_set.num_answers), dtype=np.int64)
            counts[: j + 1] = loaded.sample_set.counts[:, 0]
            first = np.full(counts.shape, k, dtype=np.int64)
            first[: j + 1] = np.asarray(first_seen_positions(
                jnp.asarray(loaded.sample_set.samples[:, 0]), counts.shape[1]))  # fmt: skip
            # Unsampled models have zero budget: they never stop and carry zero weight.
            outcome = model_switch_select(jnp.asarray(counts), None, None, SwitchConfig(),
                                          jnp.asarray(first))  # fmt: skip
            if int(outcome.stopped_at) == j or j == len(models) - 1:
                return bool(int(outcome.answer) == 0), j + 1
        raise AssertionError("unreachable")

    outcomes = await asyncio.gather(*(one(q) for q in range(num_questions)))
    full_plan = [question for name in models for question in plan_by_model[name]]
    return LiveSwitchResult(
        correct=np.array([c for c, _ in outcomes], dtype=np.float64),
        models_used=np.array([u for _, u in outcomes]),
        samples_used=int(sum(u for _, u in outcomes) * k),
        samples_max=len(models) * num_questions * k,
        requests_sent=client.budget.requests - budget_before,
        requests_max=estimate_plan(client.config, full_plan).requests,
    )
