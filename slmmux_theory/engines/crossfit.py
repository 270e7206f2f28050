"""Cross-fitted replay of any rule on recorded samples: learn on one fold, score the other.

Engines layer: pure, explicit seeds and keys. Questions are split into two folds with a seed;
for each fold the rule's options (tie ranks from validation accuracy, learned weights,
threshold, answer law: :func:`slmmux_theory.rules.learning.learn_context`) come from the *other*
fold, and the rule is replayed on this fold: exactly for SLM-MUX and self-consistency (their
factorised level laws, :func:`slmmux_theory.engines.replay.replay_levels`, hypergeometric), by
subsampling otherwise (:mod:`slmmux_theory.engines.subsample`). Both folds pooled give one value
per question, so standard errors are clustered by question. A ``first_model_only`` rule on a
pool of models runs on the model the validation fold ranks first.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np

from slmmux_theory.engines.levels import MuxLevels, mux_subset_accuracy
from slmmux_theory.engines.replay import replay_levels, sample_counts
from slmmux_theory.engines.subsample import compact_sample_slots, subsample_replay
from slmmux_theory.rules.learning import learn_context
from slmmux_theory.rules.registry import get_rule
from slmmux_theory.rules.rule import Rule

__all__ = [
    "CrossfitValues",
    "best_single",
    "crossfit_levels",
    "crossfit_rule",
    "crossfit_subsets",
    "mean_tokens_per_sample",
    "question_folds",
    "summarise",
]


class CrossfitValues(NamedTuple):
    """One rule's cross-fitted values per question (each question scored by the fold it is in).

    Attributes:
      correct: P(correct), shape [questions].
      tokens: mean real tokens spent, shape [questions].
      samples: mean samples spent, shape [questions].
    """

    correct: np.ndarray
    tokens: np.ndarray
    samples: np.ndarray


def question_folds(num_questions: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two folds of question indices (sizes differ by at most one), from a seeded permutation.

    >>> [fold.tolist() for fold in question_folds(5, 0)]
    [[2, 3, 4], [0, 1]]
    """
    order = np.random.default_rng(seed).permutation(num_questions)
    half = (num_questions + 1) // 2
    return np.sort(order[:half]), np.sort(order[half:])


def mean_tokens_per_sample(tokens, samples) -> np.ndarray:
    """Mean real tokens of a recorded sample per (model, question), [models, questions]; the
    expected tokens of k samples drawn without replacement is k times this."""
    tokens = np.where(np.asarray(samples) >= 0, np.asarray(tokens, dtype=np.float64), np.nan)
    with np.errstate(invalid="ignore"):
        return np.nanmean(tokens, axis=2)


def crossfit_levels(samples, num_answers: int, k: int) -> MuxLevels:
    """SLM-MUX level laws of every (model, question) at k (exact replay), computed once."""
    return replay_levels(sample_counts(samples, num_answers), k)


def crossfit_subsets(levels: MuxLevels, samples, subsets, folds, k: int,
                     tokens=None) -> list[CrossfitValues]:
    """SLM-MUX (self-consistency for one-model subsets) on many model subsets, cross-fitted:
    tie ranks from the other fold's per-sample accuracy.

    Args:
      levels: from :func:`crossfit_levels` at this k.
      samples: slot indices, int [models, questions, n].
      subsets: model indices per subset, int [subsets, size] (``-1`` pads).
      folds: the two question folds.
      k: samples per model.
      tokens: real tokens per sample [models, questions, n], or None.

    Returns:
      one :class:`CrossfitValues` per subset.
    """
    from slmmux_theory.rules.learning import validation_accuracy
    from slmmux_theory.rules.base import tie_priority

    samples = np.asarray(samples)
    subsets = np.asarray(subsets, dtype=int)
    num_questions = samples.shape[1]
    correct = np.zeros((len(subsets), num_questions))
    for test, validation in (folds, folds[::-1]):
        priority = tie_priority(validation_accuracy(samples[:, validation]))
        part = MuxLevels(*(np.asarray(a)[:, test] for a in levels))
        correct[:, test] = np.asarray(mux_subset_accuracy(part, subsets, priority))
    per_token = (mean_tokens_per_sample(tokens, samples) if tokens is not None
                 else np.full(samples.shape[:2], np.nan))
    used = [subset[subset >= 0] for subset in subsets]
    return [CrossfitValues(correct[i], k * per_token[members].sum(axis=0),
                           np.full(num_questions, float(k * len(members))))
            for i, members in enumerate(used)]


def crossfit_rule(key, rule: str | Rule, samples, num_answers: int, k: int, folds,
                  tokens=None, num_draws: int = 100, pad_to: int = 0) -> CrossfitValues:
    """Any registered rule on all models of ``samples``, cross-fitted, replayed by subsampling
    (an exact level law is used by :func:`crossfit_subsets` instead).

    Args:
      key: jax.random key (learning simulations and draws).
      rule: a registered rule.
      samples: slot indices, int [models, questions, n].
      num_answers: A.
      k: samples per model.
      folds: the two question folds (:func:`question_folds`).
      tokens: real tokens per sample, [models, questions, n], or None.
      num_draws: draws of k samples per question.
      pad_to: pad draws to this many samples (one compilation for every k).
    """
    rule = get_rule(rule)
    samples = np.asarray(samples)
    _, width = compact_sample_slots(samples, num_answers)
    num_questions = samples.shape[1]
    correct, spent_tokens, spent = (np.zeros(num_questions) for _ in range(3))
    for fold, (test, validation) in enumerate((folds, folds[::-1])):
        learn_key, run_key = jax.random.split(jax.random.fold_in(key, fold))
        context = learn_context(rule, samples[:, validation], num_answers, k, learn_key)
        models = np.arange(samples.shape[0])
        if rule.first_model_only:
            models = models[[int(np.argmin(np.asarray(context.tie_ranks(len(models)))))]]
            context = learn_context(rule, samples[models][:, validation], num_answers, k,
                                    learn_key)
        result = subsample_replay(
            run_key, rule, samples[models][:, test], num_answers, k, num_draws, context,
            None if tokens is None else np.asarray(tokens)[models][:, test],
            num_slots=-(-width // 16) * 16, pad_to=pad_to)
        correct[test] = result.correct
        spent_tokens[test] = result.tokens
        spent[test] = result.samples_spent.sum(axis=0)
    return CrossfitValues(correct, spent_tokens, spent)


def best_single(per_model: list[CrossfitValues], samples, folds) -> CrossfitValues:
    """A one-model rule on a pool: on each fold, the values of the model whose per-sample
    accuracy on the other fold is highest (ties: earlier model).

    Args:
      per_model: the rule's cross-fitted values of each model alone.
      samples: slot indices, int [models, questions, n].
      folds: the two question folds.
    """
    from slmmux_theory.rules.learning import validation_accuracy

    samples = np.asarray(samples)
    out = [np.zeros(samples.shape[1]) for _ in range(3)]
    for test, validation in (folds, folds[::-1]):
        accuracy = validation_accuracy(samples[:, validation])
        best = int(np.argmax(np.where(np.isnan(accuracy), -np.inf, accuracy)))
        for array, values in zip(out, per_model[best]):
            array[test] = np.asarray(values)[test]
    return CrossfitValues(*out)


def summarise(values: CrossfitValues) -> tuple[float, float, float]:
    """(accuracy, standard error clustered by question, mean tokens per question).

    >>> summarise(CrossfitValues(np.array([1.0, 0.0]), np.array([3.0, 5.0]), np.ones(2)))
    (0.5, 0.5, 4.0)
    """
    correct = np.asarray(values.correct, dtype=np.float64)
    error = float(correct.std(ddof=1) / math.sqrt(correct.size)) if correct.size > 1 else math.nan
    return float(correct.mean()), error, float(np.mean(values.tokens))
