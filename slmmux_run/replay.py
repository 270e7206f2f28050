"""Replay of stored samples: loaded sample sets handed to the theory's replay engine.

Runner layer, glue only: these functions take a :class:`~slmmux_run.data.sample_set.SampleSet`
(or a record set), pass its slot arrays to :mod:`slmmux_theory.engines.replay_table` (which
computes every number) and turn the theory's complaints about the user's inputs (k above the
recorded samples, a split that leaves a part empty) into one-line :class:`UserError` messages.
``slmmux mux``, the debate study and the local-run study replay through here.
"""

from __future__ import annotations

import contextlib
from typing import Any, Sequence

import numpy as np

from slmmux_run.errors import UserError
from slmmux_run.progress import Progress
from slmmux_theory.engines import replay_table as table
from slmmux_theory.engines.replay import MAX_EXACT_SLOTS, ReplayValues, mean_and_standard_error
from slmmux_theory.engines.replay_table import REPLAY_RULES, ReplayRow
from slmmux_theory.rules.registry import RULES, get_rule

__all__ = [
    "REPLAY_RULES",
    "ReplayRow",
    "evaluation_folds",
    "exact_replay",
    "literal_replay",
    "mean_and_standard_error",
    "plug_in_prediction",
    "replay_table",
    "validation_accuracy",
]


@contextlib.contextmanager
def _user_errors():
    try:
        yield
    except ValueError as error:
        raise UserError(str(error)) from None


def evaluation_folds(num_questions: int, validation_fraction: float, seed: int,
                     cross_fit: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint (validation, evaluation) question indices; see
    :func:`slmmux_theory.engines.replay_table.evaluation_folds`."""
    with _user_errors():
        return table.evaluation_folds(num_questions, validation_fraction, seed, cross_fit)


def validation_accuracy(sample_set, questions) -> np.ndarray:
    """Per-sample accuracy of each model on the given questions, shape [models] (NaN if none)."""
    return table.validation_accuracy(sample_set.samples, questions)


def literal_replay(sample_set, rule: str, k: int, key, *, priority=None,
                   model: int | None = None) -> ReplayValues:
    """Apply a rule to the first k recorded samples: (correct [Q], samples spent [Q])."""
    if k > sample_set.num_samples:
        raise UserError(f"k={k} but only {sample_set.num_samples} samples are recorded")
    with _user_errors():
        return table.literal_replay_samples(sample_set.samples, sample_set.num_answers, rule, k,
                                            key, priority=priority, model=model)


def exact_replay(sample_set, rule: str, k: int, *, validation=None, model: int | None = None,
                 max_slots: int = MAX_EXACT_SLOTS) -> ReplayValues:
    """Expected correctness over drawing k of each model's recorded samples (no replacement)."""
    with _user_errors():
        return table.exact_replay_samples(sample_set.samples, sample_set.num_answers, rule, k,
                                          validation=validation, model=model,
                                          max_slots=max_slots)


def plug_in_prediction(sample_set, rule: str, k: int, *, validation=None,
                       model: int | None = None,
                       max_slots: int = MAX_EXACT_SLOTS) -> ReplayValues:
    """The theory's prediction from plug-in per-question frequencies (in-sample)."""
    with _user_errors():
        return table.plug_in_replay_samples(sample_set.samples, sample_set.num_answers, rule,
                                            k, validation=validation, model=model,
                                            max_slots=max_slots)


def replay_table(record_set, rules: Sequence[str], ks: Sequence[int], *,
                 validation_fraction: float = 0.3, seed: int = 0, cross_fit: bool = False,
                 predict: bool = False,
                 max_slots: int = MAX_EXACT_SLOTS) -> tuple[list[ReplayRow], dict[str, Any]]:
    """Literal and exact replay of each rule at each k on a record set's samples; see
    :func:`slmmux_theory.engines.replay_table.replay_table`. Progress (rows done) on stderr."""
    sample_set = record_set.sample_set
    num_rows = sum(sample_set.num_models if get_rule(rule).first_model_only else 1
                   for rule in rules if rule in RULES) * len(ks)
    with _user_errors(), Progress("replay", num_rows, unit="rows") as progress:
        return table.replay_table(
            sample_set.samples, sample_set.num_answers, sample_set.models, rules, ks,
            validation_fraction=validation_fraction, seed=seed, cross_fit=cross_fit,
            predict=predict, max_slots=max_slots,
            progress=lambda row: progress.advance(1, status=row))
