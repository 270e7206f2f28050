r"""SLM-MUX level laws of rows with many distinct answers, by dynamic programming over slots.

Place in the layers: engines (pure NumPy; no I/O). :func:`slmmux_theory.engines.replay.
replay_levels` enumerates every count vector of a row, ``C(k + A - 1, A - 1)`` of them: at
k = 9 a row of a reasoning model with 60 distinct wrong answers (AIME 2024) has about 10^11.
SLM-MUX only needs, per row, the law of the mode count c (confidence denominator k) and the
chance that the mode (uniform ties) is the correct answer. Both count laws of the package have
*product form*, P(x) ∝ Π_j w_j(x_j) on sum x_j = k: drawing k of the recorded samples without
replacement (w_j(x) = C(n_j, x)) and k i.i.d. samples (w_j(x) = p_j^x / x!). For each level c a
pass over the wrong slots with x_j ≤ c, keeping (samples used, wrong slots at exactly c), gives

* F(c) = P(every valid count ≤ c), so P(mode count = c) = F(c) − F(c − 1);
* P(mode count = c, mode correct) = Σ w_0(c) D_c[s, t] w_⊥(k − c − s) / (1 + t) / Z,

at a cost linear in the number of slots. The result is the :class:`~slmmux_theory.engines.
levels.MuxLevels` that :func:`~slmmux_theory.engines.levels.mux_subset_accuracy` and
:func:`~slmmux_theory.engines.levels.mux_accuracy_from_levels` combine; the test checks it
against the enumeration on small rows.

Example:
  >>> levels = hypergeometric_levels(np.array([[[2, 1, 0]]]), 2)
  >>> [round(float(x), 4) for x in levels.level_correct[0, 0]]
  [0.0, 0.3333, 0.3333]
"""

from __future__ import annotations

import math

import numpy as np

from slmmux_theory.engines.levels import MuxLevels

__all__ = [
    "binomial_weights",
    "hypergeometric_levels",
    "multinomial_levels",
    "power_weights",
    "product_form_levels",
]

_ROWS_PER_CALL = 4096


def product_form_levels(weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Level laws of rows whose count law is P(x) ∝ Π_j weights[row, j, x_j] on Σ x_j = k.

    Args:
      weights: shape [rows, answers, k + 1]; slot 0 correct, the last slot ⊥ (never a mode),
        the wrong slots in between (a slot no sample can take has weights (1, 0, 0, ...)).
      k: samples per row, k >= 1.

    Returns:
      (level, level_correct), each shape [rows, k + 1]: P(mode count = c) and P(mode count = c
      and the mode, with uniform ties, is slot 0); level 0 means no valid answer.
    """
    weights = np.asarray(weights, dtype=np.float64)
    rows, answers, width = weights.shape
    if width != k + 1:
        raise ValueError(f"weights must have k + 1 = {k + 1} entries on the last axis")
    correct, wrong, abstain = weights[:, 0], weights[:, 1:-1], weights[:, -1]
    # The largest count each wrong slot can take in any row of the call: a slot of one
    # recorded sample never reaches 2, so the pass skips the counts no row can hold (on
    # reasoning-model rows most wrong answers were seen once), and padding slots entirely.
    reach = np.where(wrong > 0, np.arange(k + 1), 0).max(axis=(0, 2)) if rows else []
    # Z = Σ over all vectors: the same pass with no cap (c = k) and ⊥ free.
    cumulative = np.zeros((rows, k + 1))
    level_correct = np.zeros((rows, k + 1))
    for cap in range(0, k + 1):
        # Wrong slots at exactly the cap: at most k // cap of them (ties do not matter at 0).
        ties = 1 if cap == 0 else k // cap + 1
        table = np.zeros((rows, k + 1, ties))  # [rows, samples used s, wrong slots at cap t]
        table[:, 0, 0] = 1.0
        # A slot that no row can draw from has x = 0 in every vector: its weight is a common
        # factor that the normalisation cancels.
        for j in np.flatnonzero(reach > 0):
            new = wrong[:, j, 0][:, None, None] * table
            for x in range(1, min(cap, reach[j]) + 1):
                w = wrong[:, j, x][:, None, None]
                if x < cap:
                    new[:, x:, :] += w * table[:, : k + 1 - x, :]
                else:
                    new[:, x:, 1:] += w * table[:, : k + 1 - x, :-1]
            table = new
        by_samples = table.sum(axis=2)  # [rows, s]
        total = np.zeros(rows)
        for x0 in range(cap + 1):
            rest = k - x0 - np.arange(k + 1)  # ⊥ takes the remaining samples
            fits = rest >= 0
            tail = np.where(fits, abstain[:, np.clip(rest, 0, k)], 0.0)  # [rows, s]
            total += correct[:, x0] * (by_samples * tail).sum(axis=1)
            if x0 == cap and cap > 0:
                shared = (table / (1.0 + np.arange(ties))[None, None, :]).sum(axis=2)
                level_correct[:, cap] = correct[:, cap] * (shared * tail).sum(axis=1)
        cumulative[:, cap] = total
    normalizer = cumulative[:, k]  # every valid count ≤ k always holds
    level = np.diff(cumulative, axis=1, prepend=0.0) / normalizer[:, None]
    return np.clip(level, 0.0, 1.0), level_correct / normalizer[:, None]


def _compact(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows [rows, answers] -> wrong slots sorted by size, empty ones dropped; their count."""
    wrong = -np.sort(-array[:, 1:-1], axis=1)
    used = (wrong > 0).sum(axis=1)
    return wrong, used


def _levels(array, k: int, slot_weights) -> MuxLevels:
    array = np.asarray(array, dtype=np.float64)
    models, questions, answers = array.shape
    flat = array.reshape(-1, answers)
    wrong, used = _compact(flat)
    level = np.zeros((flat.shape[0], k + 1))
    level_correct = np.zeros_like(level)
    # Group rows by their number of used wrong slots (rounded up to a power of two): each group
    # pays only for its own width.
    bucket = np.where(used > 0, 1 << np.ceil(np.log2(np.maximum(used, 1))).astype(int), 0)
    for width in np.unique(bucket):
        rows = np.flatnonzero(bucket == width)
        for start in range(0, len(rows), _ROWS_PER_CALL):
            part = rows[start : start + _ROWS_PER_CALL]
            columns = np.concatenate(
                [flat[part, :1], wrong[part, :width], flat[part, -1:]], axis=1)
            level[part], level_correct[part] = product_form_levels(slot_weights(columns, k), k)
    shape = (models, questions, k + 1)
    return MuxLevels(level.reshape(shape), level_correct.reshape(shape))


def binomial_weights(counts: np.ndarray, k: int) -> np.ndarray:
    """Slot weights of drawing k recorded samples without replacement: C(n_j, x).

    Args:
      counts: recorded counts, shape [..., answers].
      k: samples drawn.

    Returns:
      shape [..., answers, k + 1].

    >>> binomial_weights(np.array([3, 1]), 2).tolist()
    [[1.0, 3.0, 3.0], [1.0, 1.0, 0.0]]
    """
    x = np.arange(k + 1)
    table = np.vectorize(math.comb, otypes=[np.float64])
    return table(np.rint(counts).astype(np.int64)[..., None], x)


def power_weights(probs: np.ndarray, k: int) -> np.ndarray:
    """Slot weights of k i.i.d. samples: p_j^x / x! (the multinomial law up to k!).

    Args:
      probs: answer probabilities, shape [..., answers].
      k: samples drawn.

    Returns:
      shape [..., answers, k + 1].

    >>> power_weights(np.array([0.5, 0.0]), 2).tolist()
    [[1.0, 0.5, 0.125], [1.0, 0.0, 0.0]]
    """
    x = np.arange(k + 1)
    factorial = np.array([math.factorial(i) for i in x], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        powers = np.where(x == 0, 1.0, probs[..., None] ** x)
    return powers / factorial


def hypergeometric_levels(counts, k: int) -> MuxLevels:
    """Exact SLM-MUX level laws of drawing k of the recorded samples without replacement.

    Args:
      counts: recorded answer counts, shape [models, questions, answers]; each row holds at
        least k samples.
      k: samples per model.

    Returns:
      MuxLevels with arrays [models, questions, k + 1] (confidence denominator k), equal to
      :func:`slmmux_theory.engines.replay.replay_levels` (which enumerates count vectors).
    """
    counts = np.asarray(counts)
    if np.any(counts.sum(-1) < k):
        raise ValueError(f"every row needs at least k = {k} recorded samples")
    return _levels(counts, k, binomial_weights)


def multinomial_levels(probs, k: int) -> MuxLevels:
    """Exact SLM-MUX level laws of k i.i.d. samples from answer probabilities.

    Args:
      probs: shape [models, questions, answers], rows summing to 1.
      k: samples per model.

    >>> levels = multinomial_levels(np.array([[[0.5, 0.5, 0.0]]]), 2)
    >>> [round(float(x), 4) for x in levels.level_correct[0, 0]]
    [0.0, 0.25, 0.25]
    """
    return _levels(probs, k, power_weights)
