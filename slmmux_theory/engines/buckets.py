"""Group questions by the number of answer slots they use; run an exact engine once per group.

Place in the layers: engines (pure NumPy around the exact engines; no I/O). Exact enumeration
costs grow steeply with the number of answer slots, and real questions differ: most use two or
three answers, a few use ten. Every engine that replays recorded samples or enumerates count
vectors therefore groups questions (or single (model, question) rows) by their width, compacts
each group to its own slots (:func:`slmmux_theory.distributions.compact_slots`, which leaves
every rule's value unchanged) and calls the engine once per group, in row chunks of bounded
memory. :func:`apply_by_width` is that one grouping engine; the bucket policies below are the
ways its callers group:

* :func:`even_width` (at least 2): :func:`by_question_width`, ModelSwitch pair replay;
* :func:`even_width_from_zero`: Agent Forest pair replay
  (:func:`slmmux_theory.engines.replay.pooled_vote_pairs_exact`);
* the identity (exact width, chunked, padded rows): SLM-MUX level laws of single rows
  (:func:`slmmux_theory.engines.replay.replay_levels`);
* :func:`narrow_and_wide`: the exact replay of enumerating rules
  (:func:`slmmux_theory.engines.replay.exact_replay`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from slmmux_theory.distributions import compact_slots

__all__ = [
    "apply_by_width",
    "by_question_width",
    "even_width",
    "even_width_from_zero",
    "narrow_and_wide",
    "single_bucket",
    "wrong_slot_width",
]


def wrong_slot_width(array) -> np.ndarray:
    """Wrong-answer slots that any model uses, per question.

    Args:
      array: probabilities or counts, shape [models, questions, answers].

    Returns:
      int, shape [questions].

    >>> wrong_slot_width(np.array([[[1, 2, 0, 0], [3, 0, 0, 1]], [[0, 0, 1, 0], [1, 0, 0, 0]]]))
    array([2, 0])
    """
    array = np.asarray(array)
    return (array[:, :, 1:-1] > 0).any(axis=0).sum(axis=1)


def even_width(width) -> np.ndarray:
    """Bucket = width rounded up to even, at least 2 (fewer distinct compiled shapes).

    >>> even_width(np.array([0, 1, 2, 3])).tolist()
    [2, 2, 2, 4]
    """
    width = np.asarray(width)
    return np.maximum(width + width % 2, 2)


def even_width_from_zero(width) -> np.ndarray:
    """Bucket = width rounded up to even (0 stays 0).

    >>> even_width_from_zero(np.array([0, 1, 2, 3])).tolist()
    [0, 2, 2, 4]
    """
    width = np.asarray(width)
    return width + width % 2


def single_bucket(width) -> np.ndarray:
    """Every question in bucket 0 (one call, compacted to the widest question).

    >>> single_bucket(np.array([0, 5])).tolist()
    [0, 0]
    """
    return np.zeros(np.shape(width), dtype=int)


def narrow_and_wide(narrow_slots: int, max_slots: int) -> Callable[[np.ndarray], np.ndarray]:
    """Two buckets by total slots (wrong + correct + ⊥): 0 up to ``narrow_slots``, 1 up to
    ``max_slots``, the rest skipped (-1).

    The cost of a pooled or product enumeration grows like the square of the number of count
    vectors, so the few wide questions should not set everyone's width; beyond ``max_slots``
    the memory would not fit.

    >>> narrow_and_wide(4, 6)(np.array([0, 2, 3, 4, 5])).tolist()
    [0, 0, 1, 1, -1]
    """
    narrow = min(narrow_slots, max_slots)

    def bucket(width):
        slots = np.asarray(width) + 2
        return np.where(slots <= narrow, 0, np.where(slots <= max_slots, 1, -1))

    return bucket


def _pad_rows(part: np.ndarray, limit: int) -> np.ndarray:
    # Pad the rows to a power of two (copies of the first row, dropped afterwards): the
    # engines are jitted per shape, and without padding every (width, chunk length) pair
    # compiles anew.
    rows = part.shape[1]
    padded = min(limit, 1 << max(6, (rows - 1).bit_length()))
    if padded > rows:
        part = np.concatenate([part, np.repeat(part[:, :1], padded - rows, axis=1)], axis=1)
    return part


def apply_by_width(
    array,
    fn: Callable[[np.ndarray], np.ndarray],
    *,
    bucket: Callable[[np.ndarray], np.ndarray] | None = None,
    keep_bucket_width: bool = True,
    max_rows: Callable[[int], int] | None = None,
    pad_rows: bool = False,
    fill: float = np.nan,
) -> np.ndarray:
    """Apply ``fn`` to groups of questions of similar slot width, each compacted to its slots.

    Args:
      array: probabilities or counts, shape [models, questions, answers].
      fn: maps a compacted group [models, n, answers'] to per-question values [n, ...].
      bucket: maps the wrong-slot widths [questions] (:func:`wrong_slot_width`) to an int
        bucket per question; a negative bucket skips the question (its values stay ``fill``).
        Default: the width itself.
      keep_bucket_width: compact each group to as many wrong slots as its bucket number (the
        buckets are widths); False: to the widest question of the group.
      max_rows: maps a group's compacted answers' to the most questions per ``fn`` call;
        None: the whole group in one call.
      pad_rows: pad every call's questions to a power of two (at least 64, at most
        ``max_rows``) with copies of its first question, so jitted engines see few shapes.
      fill: value of skipped questions.

    Returns:
      the values of every question in the original order, shape [questions, ...].

    >>> values = apply_by_width(np.array([[[1, 1, 0, 0], [1, 0, 0, 0]]]),
    ...                         lambda group: np.full(group.shape[1], group.shape[2]))
    >>> values.tolist()
    [3, 2]
    """
    array = np.asarray(array)
    width = wrong_slot_width(array)
    labels = width if bucket is None else np.asarray(bucket(width))
    pieces, order = [], []
    for label in np.unique(labels):
        if label < 0:
            continue
        rows = np.flatnonzero(labels == label)
        if keep_bucket_width:
            group = compact_slots(array[:, rows], keep=int(label))[:, :, : int(label) + 2]
        else:
            group = compact_slots(array[:, rows])
        chunk = len(rows) if max_rows is None else max(1, int(max_rows(group.shape[-1])))
        for start in range(0, len(rows), chunk):
            part = group[:, start : start + chunk]
            here = part.shape[1]
            if pad_rows:
                part = _pad_rows(part, chunk)
            pieces.append(np.asarray(fn(part))[:here])
            order.append(rows[start : start + chunk])
    if not pieces:
        return np.full(len(labels), fill)
    values = np.concatenate(pieces)
    covered = np.concatenate(order)
    if len(covered) == len(labels):
        result = np.empty_like(values)
    else:
        dtype = np.result_type(values.dtype, np.asarray(fill).dtype)
        result = np.full((len(labels),) + values.shape[1:], fill, dtype=dtype)
    result[covered] = values
    return result


def by_question_width(array, fn):
    """Apply ``fn`` to groups of questions of equal slot width, each compacted to that width.

    Grouping questions by the number of wrong slots the given models use (rounded up to even,
    at least 2) lets each group pay only for its own width.

    Args:
      array: probabilities or counts, shape [models, questions, answers].
      fn: maps a compacted array [models, n, answers'] to per-question values [n, ...].

    Returns:
      the values of every question in the original order, shape [questions, ...].

    >>> by_question_width(np.array([[[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]]]),
    ...                   lambda group: np.full(group.shape[1], group.shape[2])).tolist()
    [4, 4]
    """
    return apply_by_width(array, fn, bucket=even_width)
