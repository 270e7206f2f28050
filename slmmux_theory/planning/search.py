"""The SLM-MUX paper's model-selection search: union accuracy minus a contradiction penalty.

Place in the layers: pure theory (NumPy, no I/O). The runner turns validation records into
answer counts ``[models, questions, answers]`` (slot 0 correct, last slot ⊥); this module labels
every (model, question) as *correct* or *consistently wrong* (METHODS.md §3.2), scores every
candidate subset with the objective ``O(S) = UnionAcc(S) - λ · Contradiction(S)`` (§3.3) and
returns the best subset of each size with the paper's ranking rules (§3.4).

Counts over subsets are matrix products: with ``member[S, models]`` the 0/1 membership matrix,
``member @ correct > 0`` is "some member is correct" for every (subset, question) at once.

Repeated collection runs: pass counts with a leading runs axis ``[runs, models, questions,
answers]`` and choose ``sample_pool``: ``"per_run"`` labels the samples of one run (``run``),
``"pooled"`` sums the runs' counts first (e.g. all 9 samples of 3 runs of 3). Which one the paper
used is not stated (METHODS.md §11).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from slmmux_theory.distributions import validate_counts

__all__ = [
    "SearchConfig",
    "SearchLabels",
    "SearchResult",
    "SubsetChoice",
    "SubsetTable",
    "all_subsets",
    "counts_from_samples",
    "pool_runs",
    "score_subsets",
    "search_labels",
    "search_subsets",
]

# Objectives closer than this are "equal" for the ranking (rule 2: then higher union). Two
# subsets with the same (u, c) have bitwise-equal objectives; this only merges values that are
# equal as rationals but differ in the last float bits (e.g. 1/4 - 0 vs 1/2 - 1/4).
OBJECTIVE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class SearchConfig:
    """Options of the subset search (METHODS.md §3.2–3.4).

    Attributes:
      robust_level: r, the number of gold copies that make a (model, question) *correct*
        (the framework and the default: 2).
      abstention_is_wrong: whether ``≥ 2`` samples that are all ⊥ count as *consistently wrong*
        (default no: such a model has confidence 0 and cannot win; the framework counts them).
      contradiction_normalization: ``"per_dataset"`` (c/|D|, the paper's text, default) or
        ``"per_union_correct"`` (c/u, 0 when u = 0; the framework and the paper's figure).
      contradiction_weight: λ in ``O = UnionAcc − λ·Contradiction`` (1 in the paper).
      sample_pool: with a runs axis, ``"per_run"`` (one run's samples) or ``"pooled"``
        (all runs' samples together).
      run: which run ``"per_run"`` uses.
    """

    robust_level: int = 2
    abstention_is_wrong: bool = False
    contradiction_normalization: str = "per_dataset"
    contradiction_weight: float = 1.0
    sample_pool: str = "per_run"
    run: int = 0

    def __post_init__(self):
        if self.robust_level < 1:
            raise ValueError(f"robust_level must be >= 1, got {self.robust_level}")
        if self.contradiction_normalization not in ("per_dataset", "per_union_correct"):
            raise ValueError(
                "contradiction_normalization must be 'per_dataset' or 'per_union_correct', "
                f"got {self.contradiction_normalization!r}"
            )
        if self.sample_pool not in ("per_run", "pooled"):
            raise ValueError(f"sample_pool must be 'per_run' or 'pooled', got {self.sample_pool!r}")
        if not np.isfinite(self.contradiction_weight):
            raise ValueError(
                f"contradiction_weight must be finite, got {self.contradiction_weight}"
            )


class SearchLabels(NamedTuple):
    """Per-(model, question) labels of METHODS.md §3.2.

    Attributes:
      correct: at least ``robust_level`` samples equal the gold answer, bool [models, questions].
      consistently_wrong: at least 2 samples, all identical, none the gold answer (all-⊥ only
        with ``abstention_is_wrong``), bool [models, questions].
    """

    correct: np.ndarray
    consistently_wrong: np.ndarray


class SubsetTable(NamedTuple):
    """Scores of every evaluated subset, in evaluation order (by size, then lexicographic).

    Attributes:
      subsets: model indices, int [subsets, max_size], ``-1`` pads smaller subsets.
      size: subset sizes, int [subsets].
      union_count: u(S), questions some member gets right, int [subsets].
      contradiction_count: c(S), questions with a correct and a consistently wrong member,
        int [subsets].
      union_accuracy: u(S)/|D|, float [subsets].
      contradiction: c(S) under the chosen normalization, float [subsets].
      objective: UnionAcc − λ·Contradiction, float [subsets].
    """

    subsets: np.ndarray
    size: np.ndarray
    union_count: np.ndarray
    contradiction_count: np.ndarray
    union_accuracy: np.ndarray
    contradiction: np.ndarray
    objective: np.ndarray


class SubsetChoice(NamedTuple):
    """The best subset of one size.

    Attributes:
      size: K.
      subset: model indices in increasing order.
      objective: O(S).
      union_accuracy: u(S)/|D|.
      union_count: u(S).
      contradiction_count: c(S).
      contradiction: c(S) normalized.
      penalty: UnionAcc − O = λ·Contradiction (the figure's "Penalty").
    """

    size: int
    subset: tuple[int, ...]
    objective: float
    union_accuracy: float
    union_count: int
    contradiction_count: int
    contradiction: float
    penalty: float


class SearchResult(NamedTuple):
    """Outcome of :func:`search_subsets`.

    Attributes:
      best: one :class:`SubsetChoice` per size, sizes ``min_size..max_size`` in order.
      labels: the labels the search used.
      table: every subset's scores when ``return_table`` was set, else None.
    """

    best: tuple[SubsetChoice, ...]
    labels: SearchLabels
    table: SubsetTable | None


def counts_from_samples(samples, num_answers: int) -> np.ndarray:
    """Answer counts from sample slot arrays.

    Args:
      samples: answer slot of each sample, int [..., models, questions, samples]; negative
        entries are missing samples (not drawn), distinct from the ⊥ slot ``num_answers - 1``.
      num_answers: A, the number of slots.

    Returns:
      counts, int [..., models, questions, answers].

    >>> counts_from_samples([[[0, 0, 2], [1, -1, 1]]], 3).tolist()
    [[[2, 0, 1], [0, 2, 0]]]
    """
    samples = np.asarray(samples)
    if samples.ndim < 3:
        raise ValueError(
            f"samples must have shape [models, questions, samples], got {samples.shape}"
        )
    if np.any(samples >= num_answers):
        raise ValueError(f"samples hold a slot >= num_answers={num_answers}")
    onehot = samples[..., None] == np.arange(num_answers)
    return onehot.sum(axis=-2).astype(np.int64)


def pool_runs(counts, sample_pool: str = "per_run", run: int = 0) -> np.ndarray:
    """Counts ``[models, questions, answers]`` from counts that may carry a runs axis.

    Args:
      counts: int [models, questions, answers] (returned as is) or
        [runs, models, questions, answers].
      sample_pool: ``"per_run"`` keeps run ``run``; ``"pooled"`` sums over runs.
      run: the run kept by ``"per_run"``.

    >>> pool_runs([[[[1, 1]]], [[[2, 0]]]], "pooled").tolist()
    [[[3, 1]]]
    """
    array = np.asarray(counts)
    if array.ndim == 3:
        return validate_counts(array)
    if array.ndim != 4:
        raise ValueError(
            "counts must have shape [models, questions, answers] or "
            f"[runs, models, questions, answers], got {array.ndim} dimensions"
        )
    if sample_pool == "pooled":
        return validate_counts(array.sum(axis=0))
    if sample_pool != "per_run":
        raise ValueError(f"sample_pool must be 'per_run' or 'pooled', got {sample_pool!r}")
    if not 0 <= run < array.shape[0]:
        raise ValueError(f"run must lie in 0..{array.shape[0] - 1}, got {run}")
    return validate_counts(array[run])


def search_labels(counts, config: SearchConfig = SearchConfig()) -> SearchLabels:
    """Label each (model, question) correct / consistently wrong (METHODS.md §3.2).

    Args:
      counts: validation answer counts, int [models, questions, answers] or
        [runs, models, questions, answers] (see :func:`pool_runs`).
      config: ``robust_level``, ``abstention_is_wrong`` and the sample pool.

    >>> labels = search_labels([[[2, 0, 0], [0, 3, 0], [0, 0, 2]]])
    >>> labels.correct.tolist(), labels.consistently_wrong.tolist()
    ([[True, False, False]], [[False, True, False]])
    """
    pooled = pool_runs(counts, config.sample_pool, config.run)
    total = pooled.sum(axis=-1)
    correct = pooled[..., 0] >= config.robust_level
    # All samples identical <=> one slot holds them all; with total >= 2 that slot is unique.
    unanimous_slot = np.argmax(pooled, axis=-1)
    unanimous = (pooled.max(axis=-1) == total) & (total >= 2)
    wrong_slot = unanimous_slot != 0
    if not config.abstention_is_wrong:
        wrong_slot &= unanimous_slot != pooled.shape[-1] - 1
    return SearchLabels(correct, unanimous & wrong_slot)


def all_subsets(num_models: int, min_size: int, max_size: int) -> np.ndarray:
    """Every subset with ``min_size..max_size`` models, by size then lexicographic order.

    Returns:
      int [subsets, max_size], ``-1`` pads smaller subsets (the padding of
      :func:`slmmux_theory.engines.exact.mux_subset_accuracy`).

    >>> all_subsets(3, 1, 2).tolist()
    [[0, -1], [1, -1], [2, -1], [0, 1], [0, 2], [1, 2]]
    """
    if not 1 <= min_size <= max_size <= num_models:
        raise ValueError(
            f"need 1 <= min_size <= max_size <= {num_models} models, got {min_size}..{max_size}"
        )
    rows = [
        list(subset) + [-1] * (max_size - size)
        for size in range(min_size, max_size + 1)
        for subset in itertools.combinations(range(num_models), size)
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, max_size)


def _membership(subsets: np.ndarray, num_models: int) -> np.ndarray:
    member = np.zeros((subsets.shape[0], num_models + 1), dtype=np.int64)
    rows = np.repeat(np.arange(subsets.shape[0]), subsets.shape[1])
    member[rows, np.where(subsets < 0, num_models, subsets).ravel()] = 1
    return member[:, :num_models]


def score_subsets(
    labels: SearchLabels, subsets, config: SearchConfig = SearchConfig()
) -> SubsetTable:
    """Union, contradiction and objective of the given subsets (METHODS.md §3.3).

    Args:
      labels: from :func:`search_labels`, bool [models, questions].
      subsets: int [subsets, size], ``-1`` padded.
      config: normalization and λ.

    >>> labels = SearchLabels(np.array([[1, 1, 0, 0], [0, 0, 1, 0]], bool),
    ...                       np.array([[0, 0, 0, 1], [1, 0, 0, 0]], bool))
    >>> table = score_subsets(labels, [[0, 1]])
    >>> int(table.union_count[0]), int(table.contradiction_count[0]), float(table.objective[0])
    (3, 1, 0.5)
    """
    correct = np.asarray(labels.correct, dtype=bool)
    wrong = np.asarray(labels.consistently_wrong, dtype=bool)
    num_models, num_questions = correct.shape
    subsets = np.asarray(subsets, dtype=np.int64).reshape(len(subsets), -1)
    if np.any(subsets >= num_models):
        raise ValueError(f"subsets name a model >= {num_models}")
    member = _membership(subsets, num_models)
    any_correct = (member @ correct.astype(np.int64)) > 0
    any_wrong = (member @ wrong.astype(np.int64)) > 0
    union_count = any_correct.sum(axis=1)
    contradiction_count = (any_correct & any_wrong).sum(axis=1)
    union_accuracy = union_count / num_questions
    if config.contradiction_normalization == "per_dataset":
        contradiction = contradiction_count / num_questions
    else:
        contradiction = np.where(
            union_count > 0, contradiction_count / np.maximum(union_count, 1), 0.0
        )
    objective = union_accuracy - config.contradiction_weight * contradiction
    return SubsetTable(
        subsets,
        member.sum(axis=1),
        union_count,
        contradiction_count,
        union_accuracy,
        contradiction,
        objective,
    )


def _best_index(table: SubsetTable, rows: np.ndarray) -> int:
    """Ranking of METHODS.md §3.4: higher O, then higher union, then the earliest subset.

    Equivalent to a running best started at -inf, so some subset is always returned.
    """
    objective = table.objective[rows]
    top = objective >= objective.max() - OBJECTIVE_TOLERANCE
    union = np.where(top, table.union_count[rows], -1)
    return int(rows[np.argmax(union == union.max())])


def search_subsets(
    counts=None,
    *,
    labels: SearchLabels | None = None,
    min_size: int = 1,
    max_size: int | None = None,
    config: SearchConfig = SearchConfig(),
    return_table: bool = False,
) -> SearchResult:
    """Exhaustive search for the best subset of each size (METHODS.md §3.4).

    Args:
      counts: validation answer counts, int [models, questions, answers] or
        [runs, models, questions, answers]; or give ``labels`` instead.
      labels: precomputed :class:`SearchLabels` (then ``counts`` is ignored).
      min_size: K_min (1 allowed; the framework forces 2).
      max_size: K_max, default the number of models.
      config: labels, normalization, λ and sample pool.
      return_table: also return every subset's scores.

    Returns:
      a :class:`SearchResult`, one best subset per size.

    >>> counts = [[[2, 0, 0], [0, 2, 0]], [[0, 2, 0], [2, 0, 0]]]
    >>> result = search_subsets(counts, min_size=1, max_size=2)
    >>> [(choice.subset, choice.objective) for choice in result.best]
    [((0,), 0.5), ((0, 1), 0.0)]
    """
    if labels is None:
        if counts is None:
            raise ValueError("give counts or labels")
        labels = search_labels(counts, config)
    num_models = labels.correct.shape[0]
    max_size = num_models if max_size is None else max_size
    table = score_subsets(labels, all_subsets(num_models, min_size, max_size), config)
    best = []
    for size in range(min_size, max_size + 1):
        index = _best_index(table, np.flatnonzero(table.size == size))
        subset = table.subsets[index]
        best.append(
            SubsetChoice(
                size=size,
                subset=tuple(int(m) for m in subset[subset >= 0]),
                objective=float(table.objective[index]),
                union_accuracy=float(table.union_accuracy[index]),
                union_count=int(table.union_count[index]),
                contradiction_count=int(table.contradiction_count[index]),
                contradiction=float(table.contradiction[index]),
                penalty=float(table.union_accuracy[index] - table.objective[index]),
            )
        )
    return SearchResult(tuple(best), labels, table if return_table else None)
