"""Rule accuracies on every model pair of a sample set: SLM-MUX vs Agent Forest vs ModelSwitch.

Place in the layers: engines (pure NumPy/JAX over count arrays; no I/O). The runner's replay
and ModelSwitch steps (``slmmux reproduce``) make one call here and only write and draw what
comes back. Every value is an exact expectation, under one of two laws of a model's k samples:

* ``hypergeometric=True``: **exact replay**, k of the recorded samples of each (model, question)
  drawn without replacement (:func:`slmmux_theory.engines.counts.hypergeometric_counts`);
* ``hypergeometric=False``: the **plug-in** law, each row's recorded frequencies taken as its
  answer distribution and k i.i.d. samples drawn from it (multinomial).

* :func:`pair_rule_curves`: per pair and k, SLM-MUX, Agent Forest and the better of the two
  models' self-consistency, as accuracy curves over k;
* :func:`model_switch_pair_savings`: per pair, ModelSwitch's accuracy, expected samples and
  saving beside SLM-MUX at the same per-model budget;
* :func:`weakest_models`: the models of lowest per-sample accuracy (the pairs ModelSwitch is
  studied on).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple, Sequence

import numpy as np
from scipy.special import comb

from slmmux_theory.engines.buckets import apply_by_width, even_width
from slmmux_theory.engines.exact import (
    exact_accuracy,
    hypergeometric_counts,
    model_switch_exact,
    multinomial_counts,
    mux_subset_accuracy,
)
from slmmux_theory.engines.levels import MuxLevels, mux_accuracy_from_levels
from slmmux_theory.engines.replay import pooled_vote_pairs_exact
from slmmux_theory.engines.wide_levels import hypergeometric_levels, multinomial_levels
from slmmux_theory.rules.base import SwitchConfig, tie_priority

__all__ = [
    "ModelSwitchPairs",
    "PairCurves",
    "all_pairs",
    "cross_fitted_pair_curves",
    "model_switch_pair_savings",
    "pair_rule_curves",
    "weakest_models",
]


class PairCurves(NamedTuple):
    """Accuracy of three rules on every model pair, per k (mean over questions).

    Attributes:
      ks: the k values, shape [K].
      pairs: the model pairs (i < j, lexicographic), int, shape [P, 2].
      slm_mux: SLM-MUX accuracy of each pair, shape [K, P].
      agent_forest: Agent Forest (pooled plurality, uniform ties) accuracy, shape [K, P].
      best_single_self_consistency: the larger self-consistency accuracy of the pair's two
        models, shape [K, P].
      self_consistency: self-consistency accuracy of every model, shape [K, models].
    """

    ks: np.ndarray
    pairs: np.ndarray
    slm_mux: np.ndarray
    agent_forest: np.ndarray
    best_single_self_consistency: np.ndarray
    self_consistency: np.ndarray


class ModelSwitchPairs(NamedTuple):
    """ModelSwitch (plain vote) on model pairs beside SLM-MUX at the same budget.

    Attributes:
      switch_accuracy: ModelSwitch accuracy of each pair, mean over questions, shape [P].
      expected_samples: ModelSwitch's expected samples per question, shape [P].
      saving: ``1 - expected_samples / (2 * budget)``, the share of the 2 x budget samples
        early stopping saves, shape [P].
      slm_mux_accuracy: SLM-MUX accuracy of each pair at ``budget`` samples per model, shape [P].
    """

    switch_accuracy: np.ndarray
    expected_samples: np.ndarray
    saving: np.ndarray
    slm_mux_accuracy: np.ndarray


#: Cells (pair, question) per engine call of :func:`model_switch_pair_savings`: about one pair's
#: questions, the memory the per-pair evaluation needed.
_CELL_ROWS = 256


def all_pairs(num_models: int) -> list[tuple[int, int]]:
    """Every pair of model indices i < j, in lexicographic order.

    >>> all_pairs(3)
    [(0, 1), (0, 2), (1, 2)]
    """
    return list(itertools.combinations(range(num_models), 2))


def _law_array(counts, hypergeometric: bool):
    """The array the count law takes, and that law."""
    counts = np.asarray(counts)
    if hypergeometric:
        return counts, hypergeometric_counts, "hypergeometric"
    return counts / counts.sum(-1, keepdims=True), multinomial_counts, "multinomial"


def pair_rule_curves(counts, ks: Sequence[int], priority, *,
                     hypergeometric: bool = True) -> PairCurves:
    """SLM-MUX, Agent Forest and best-single self-consistency on every pair, for each k.

    Args:
      counts: recorded answer counts, shape [models, questions, answers]; every row holds at
        least ``max(ks)`` samples when ``hypergeometric``.
      ks: samples per model to evaluate.
      priority: SLM-MUX cross-model tie ranks (lower wins), shape [models].
      hypergeometric: exact replay of the recorded samples (True) or the plug-in law (False).

    Returns:
      a :class:`PairCurves`.

    >>> counts = np.array([[[2, 1, 0], [0, 3, 0]], [[1, 2, 0], [3, 0, 0]]])
    >>> curves = pair_rule_curves(counts, [1, 3], np.array([0, 1]))
    >>> curves.pairs.tolist(), curves.self_consistency.round(4).tolist()
    ([[0, 1]], [[0.3333, 0.6667], [0.5, 0.5]])
    >>> curves.agent_forest.round(4).tolist()
    [[0.5], [0.5]]
    """
    counts = np.asarray(counts)
    return _rule_curves(counts, ks, [(np.asarray(priority), np.arange(counts.shape[1]))],
                        hypergeometric)


def _rule_curves(counts, ks: Sequence[int], mux_parts, hypergeometric: bool) -> PairCurves:
    """The three curves; SLM-MUX scores each part's questions with that part's tie ranks.

    Every (model, question)'s level law comes from the pass over slots of
    :mod:`~slmmux_theory.engines.wide_levels` (no count vector enumerated); self-consistency is
    SLM-MUX of one model, the sum of its level-and-correct law. The level laws are padded with
    empty levels to ``max(ks) + 1``, which changes no value, so the jitted subset engine
    compiles once for all k and parts.

    Args:
      counts: recorded answer counts, shape [models, questions, answers].
      ks: samples per model.
      mux_parts: (tie ranks [models], question indices) pairs whose question sets partition
        the questions.
      hypergeometric: exact replay (True) or the plug-in law (False).
    """
    array, _, kind = _law_array(counts, hypergeometric)
    num_questions = array.shape[1]
    pairs = np.array(all_pairs(array.shape[0]), dtype=int).reshape(-1, 2)
    stacked = array[pairs]
    width = max(ks) + 1
    mux, forest, best, single = [], [], [], []
    for k in ks:
        laws = (hypergeometric_levels if hypergeometric else multinomial_levels)(array, k)
        levels = MuxLevels(*(np.pad(part, ((0, 0), (0, 0), (0, width - k - 1))) for part in laws))
        self_consistency = levels.level_correct.sum(axis=2).mean(axis=1)
        total = np.zeros(len(pairs))
        for priority, questions in mux_parts:
            values = np.asarray(mux_subset_accuracy(levels, pairs, priority))
            total += values[:, np.asarray(questions)].sum(axis=1) / num_questions
        mux.append(total)
        forest.append(pooled_vote_pairs_exact(stacked, k, kind).mean(axis=1))
        best.append(self_consistency[pairs].max(axis=1))
        single.append(self_consistency)
    return PairCurves(np.asarray(list(ks)), pairs, np.stack(mux), np.stack(forest),
                      np.stack(best), np.stack(single))


def cross_fitted_pair_curves(counts, ks: Sequence[int], folds, *,
                             hypergeometric: bool = True) -> PairCurves:
    """:func:`pair_rule_curves` with SLM-MUX tie ranks never taken from the scored questions.

    Each fold's evaluation questions are scored with tie ranks from the per-sample accuracy on
    its validation questions (the paper's rule: a validation split); with cross-fitted folds
    every question is scored once, and the folds' SLM-MUX curves are averaged weighted by their
    question counts. The other rules use no ranks and are computed on all questions.

    Args:
      counts: recorded answer counts, shape [models, questions, answers].
      ks: samples per model to evaluate.
      folds: (validation, evaluation) question indices, disjoint, the evaluation parts
        covering every question once (e.g. ``replay_table.evaluation_folds(Q, 0.5, seed,
        cross_fit=True)``).
      hypergeometric: exact replay (True) or the plug-in law (False).

    Two models, two questions, every question a tie of confidences 2/3 or 1: ranked on the
    other question, the tie goes to the model that is wrong here both times.

    >>> counts = np.array([[[2, 1, 0], [0, 3, 0]], [[1, 2, 0], [3, 0, 0]]])
    >>> folds = [(np.array([1]), np.array([0])), (np.array([0]), np.array([1]))]
    >>> cross_fitted_pair_curves(counts, [3], folds).slm_mux.round(4).tolist()
    [[0.0]]
    """
    counts = np.asarray(counts)
    num_questions = counts.shape[1]
    evaluated = np.sort(np.concatenate([np.asarray(e) for _, e in folds]))
    if not np.array_equal(evaluated, np.arange(num_questions)):
        raise ValueError("the folds' evaluation parts must cover every question exactly once")
    parts = []
    for validation, evaluation in folds:
        validation_counts = counts[:, np.asarray(validation)].astype(np.float64)
        accuracy = validation_counts[..., 0].sum(1) / np.maximum(validation_counts.sum((1, 2)), 1)
        parts.append((tie_priority(accuracy), np.asarray(evaluation)))
    return _rule_curves(counts, ks, parts, hypergeometric)


def model_switch_pair_savings(counts, pairs, budget: int, *, hypergeometric: bool = True,
                              config: SwitchConfig = SwitchConfig(weighting="plain")
                              ) -> ModelSwitchPairs:  # fmt: skip
    """ModelSwitch's accuracy and early-stopping saving on ordered pairs, beside SLM-MUX.

    Each pair is evaluated on its own rows (the plug-in law normalises each row's counts).
    With the plain vote (stop when the first model is unanimous, else the pooled plurality
    with first-seen ties) ModelSwitch's answer *is* the pooled first-seen plurality of all 2 x
    budget samples: a unanimous first model holds at least ``budget`` votes for its answer,
    every other answer at most ``budget``, and a tie goes to the answer seen first, the first
    model's. So its accuracy is the pass over slots of
    :func:`~slmmux_theory.engines.replay.pooled_vote_pairs_exact` (``tie="first_seen"``), its
    expected samples ``budget * (2 - P(first model unanimous))``, and SLM-MUX comes from the
    level laws of :mod:`~slmmux_theory.engines.wide_levels`; no count-vector tuple is
    enumerated. Other options go through the tuple kernel of
    :func:`~slmmux_theory.rules.model_switch.model_switch_exact`, the (pair, question) cells
    grouped by slot width (:func:`slmmux_theory.engines.buckets.apply_by_width`).

    Args:
      counts: recorded answer counts, shape [models, questions, answers].
      pairs: ordered model pairs (ModelSwitch samples the first one first), int [P, 2].
      budget: samples per model (ModelSwitch may stop after the first model's).
      hypergeometric: exact replay of the recorded samples (True) or the plug-in law (False).
      config: ModelSwitch's options (default: the plain vote).

    Returns:
      a :class:`ModelSwitchPairs`.

    >>> counts = np.array([[[3, 0, 0], [0, 3, 0]], [[0, 3, 0], [3, 0, 0]]])
    >>> result = model_switch_pair_savings(counts, [(0, 1)], 2)
    >>> result.switch_accuracy.tolist(), result.expected_samples.tolist(), result.saving.tolist()
    ([0.5], [2.0], [0.5])
    """
    counts = np.asarray(counts)
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    if config == SwitchConfig(weighting="plain"):
        values = _plain_switch_and_mux(counts, pairs, budget, hypergeometric)
    else:
        values = _switch_and_mux_by_kernel(counts, pairs, budget, hypergeometric, config)
    return ModelSwitchPairs(values[:, 0], values[:, 1], 1 - values[:, 1] / (2 * budget),
                            values[:, 2])


def _plain_switch_and_mux(counts, pairs, budget: int, hypergeometric: bool) -> np.ndarray:
    """Mean over questions of (ModelSwitch accuracy, expected samples, SLM-MUX), [P, 3]."""
    array, _, kind = _law_array(counts, hypergeometric)
    stacked = array[pairs]  # [P, 2, Q, A]
    accuracy = pooled_vote_pairs_exact(stacked, budget, kind, tie="first_seen")
    first = stacked[:, 0]
    if hypergeometric:
        # P(all budget draws are answer j) = C(n_j, budget) / C(n, budget), j valid.
        unanimous = comb(first[..., :-1], budget).sum(-1) / comb(first.sum(-1), budget)
    else:
        unanimous = (first[..., :-1] ** budget).sum(-1)
    levels = (hypergeometric_levels if hypergeometric else multinomial_levels)(array, budget)
    # Each pair as two "models" over pairs x questions; the first model wins cross-model ties.
    paired = MuxLevels(*(np.asarray(part)[pairs.T].reshape(2, -1, budget + 1) for part in levels))
    mux = np.asarray(mux_accuracy_from_levels(paired, np.array([0, 1]), "model_order"))
    return np.stack([accuracy.mean(axis=1), budget * (2 - unanimous.mean(axis=1)),
                     mux.reshape(len(pairs), -1).mean(axis=1)], axis=1)


def _switch_and_mux_by_kernel(counts, pairs, budget: int, hypergeometric: bool,
                              config: SwitchConfig) -> np.ndarray:
    """The same three means through the count-vector tuple kernel (any options), [P, 3]."""
    num_pairs, num_questions = len(pairs), counts.shape[1]
    # Every (pair, question) is one cell of two rows: all pairs go through one width-bucketed
    # pass in row chunks of a fixed, padded size, so the jitted engines compile once per width
    # instead of once per pair and group size.
    cells = counts[pairs].transpose(1, 0, 2, 3).reshape(2, num_pairs * num_questions, -1)
    array, law, _ = _law_array(cells, hypergeometric)

    def switch_and_mux(group):
        laws = law(group, budget)
        result = model_switch_exact(laws, config=config)
        mux = exact_accuracy("slm-mux", laws).per_question
        return np.stack([result.per_question, result.expected_samples, mux], axis=1)

    values = apply_by_width(array, switch_and_mux, bucket=even_width,
                            max_rows=lambda answers: _CELL_ROWS, pad_rows=True)
    return values.reshape(num_pairs, num_questions, 3).mean(axis=1)


def weakest_models(counts, number: int) -> list[int]:
    """The ``number`` models of lowest per-sample accuracy, in index order.

    Args:
      counts: recorded answer counts (slot 0 correct), shape [models, questions, answers].
      number: how many models.

    >>> weakest_models(np.array([[[1, 1]], [[2, 0]], [[0, 2]]]), 2)
    [0, 2]
    """
    counts = np.asarray(counts)
    accuracy = counts[..., 0].sum(1) / counts.sum((1, 2))
    return sorted(np.argsort(accuracy)[:number].tolist())
