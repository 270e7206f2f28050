r"""Agent Forest of two models on questions with many distinct answers, by a pass over slots.

Place in the layers: engines (pure NumPy; no I/O). :func:`slmmux_theory.engines.replay.
pooled_vote_pairs_exact` contracts the two models' count-vector laws against the V x V kernel
of summed vectors, V = C(k + A - 1, A - 1): at k = 5 a pair cell with 12 distinct wrong
answers (A = 14 slots) has V = 8568, a kernel of 73 million entries (590 MB) built for three
questions. Both count laws of the package have *product form*, P(x) ∝ Π_j w_j(x_j) on
Σ x_j = k (:mod:`slmmux_theory.engines.wide_levels`), and the pooled plurality with uniform
ties is correct exactly when the correct slot's pooled count c = a_0 + b_0 is positive, no
wrong slot's pooled count exceeds c, and the tie among the t wrong slots at exactly c falls
to the correct one (chance 1 / (1 + t)). For each c a pass over the wrong slots with
a_j + b_j ≤ c, keeping (first model's samples used, second's, wrong slots at exactly c), gives

    P(correct) = Σ_c Σ_{a_0 + b_0 = c} w_0(a_0) v_0(b_0)
                 Σ_{s, r, t} D_c[s, r, t] / (1 + t) · w_⊥(k − a_0 − s) v_⊥(k − b_0 − r)
                 / (Z_a Z_b),

at a cost linear in the number of slots and independent of V. First-seen ties (the first tied
answer met scanning the first model's samples, then the second's) replace 1 / (1 + t) by the
first model's share a_0 / (a_0 + Σ a_j), or the second's when the first holds no tied answer,
so the pass keeps each model's samples on the tied wrong slots instead of t. The tests check
both against enumerating every draw and against the kernel contractions on small cells.

Example:
  >>> first = np.array([[[2, 1, 0]]]); second = np.array([[[0, 2, 1]]])
  >>> hypergeometric_pooled_pairs(first, second, 2).round(4).tolist()  # 1/9 · 1/2 + 2/9
  [[0.2778]]
"""

from __future__ import annotations

import numpy as np

from slmmux_theory.engines.wide_levels import binomial_weights, power_weights

__all__ = [
    "hypergeometric_pooled_pairs",
    "multinomial_pooled_pairs",
    "product_form_pooled_pair",
]


def _normalizer(weights: np.ndarray, k: int) -> np.ndarray:
    """Σ over count vectors of Π_j weights[:, j, x_j] on Σ x_j = k, shape [rows]."""
    poly = np.zeros((weights.shape[0], k + 1))
    poly[:, 0] = 1.0
    for j in range(weights.shape[1]):
        new = np.zeros_like(poly)
        for x in range(k + 1):
            new[:, x:] += weights[:, j, x][:, None] * poly[:, : k + 1 - x]
        poly = new
    return poly[:, k]


def product_form_pooled_pair(first: np.ndarray, second: np.ndarray, k: int,
                             tie: str = "random") -> np.ndarray:
    """Agent Forest (pooled plurality) of two models with product-form count laws.

    Args:
      first: the first model's slot weights, shape [rows, answers, k + 1]: its count law is
        P(x) ∝ Π_j first[row, j, x_j] on Σ x_j = k; slot 0 correct, the last slot ⊥ (never
        votes), the wrong slots in between (a slot no sample can take has weights (1, 0, ...)).
      second: the second model's, same shape.
      k: samples per model, k >= 1.
      tie: ``"random"`` (uniform among the tied answers) or ``"first_seen"`` (the first tied
        answer met scanning the first model's samples, then the second's: within a model the
        samples are exchangeable, so the first model holding a tied answer picks slot 0 with
        chance a_0 / (a_0 + Σ_{tied wrong j} a_j)).

    Returns:
      P(the pooled plurality of the 2k samples picks slot 0), shape [rows].
    """
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    rows, answers, width = first.shape
    if width != k + 1 or second.shape != first.shape:
        raise ValueError(f"both weights must have shape [rows, answers, k + 1 = {k + 1}]")
    if tie not in ("random", "first_seen"):
        raise ValueError(f"tie must be 'random' or 'first_seen', got {tie!r}")
    # Rows per pass: bounds the table at about 2**22 floats (32 MB).
    state = (k + 1) ** 4 if tie == "first_seen" else (k + 1) ** 2 * (2 * k + 1)
    chunk = max(1, (1 << 22) // state)
    values = [_pooled_pair_rows(first[i : i + chunk], second[i : i + chunk], k, tie)
              for i in range(0, rows, chunk)]
    return np.concatenate(values) if values else np.zeros(0)


def _pooled_pair_rows(first, second, k: int, tie: str) -> np.ndarray:
    rows, answers, _ = first.shape
    wrong = answers - 2
    used = np.arange(k + 1)
    total = np.zeros(rows)
    for cap in range(1, 2 * k + 1):
        if tie == "random":
            # Wrong slots at exactly ``cap`` each hold cap of the other 2k − cap samples.
            most_tied = min(wrong, (2 * k - cap) // cap)
            table = np.zeros((rows, k + 1, k + 1, most_tied + 1))  # [rows, s, r, t]
        else:
            table = np.zeros((rows, k + 1, k + 1, k + 1, k + 1))  # [rows, s, r, s_tied, r_tied]
        table[(slice(None),) + (0,) * (table.ndim - 1)] = 1.0
        for j in range(1, answers - 1):
            new = np.zeros_like(table)
            for a in range(min(k, cap) + 1):
                for b in range(min(k, cap - a) + 1):
                    w = (first[:, j, a] * second[:, j, b]).reshape((-1,) + (1,) * (table.ndim - 1))
                    before = table[:, : k + 1 - a, : k + 1 - b]
                    if a + b < cap:
                        new[:, a:, b:] += w * before
                    elif tie == "random":
                        if most_tied > 0:
                            new[:, a:, b:, 1:] += w * before[..., :-1]
                    else:
                        new[:, a:, b:, a:, b:] += w * before[:, :, :, : k + 1 - a, : k + 1 - b]
            table = new
        if tie == "random":
            shared = (table / (1.0 + np.arange(table.shape[-1]))).sum(axis=3)  # [rows, s, r]
        for a0 in range(max(0, cap - k), min(k, cap) + 1):
            b0 = cap - a0
            if tie == "first_seen":
                tied_a, tied_b = np.meshgrid(used, used, indexing="ij")
                with np.errstate(divide="ignore", invalid="ignore"):
                    share = np.where(a0 + tied_a > 0, a0 / (a0 + tied_a), b0 / (b0 + tied_b))
                shared = np.einsum("qsrxy,xy->qsr", table, share)
            # ⊥ takes each model's remaining samples.
            rest_a, rest_b = k - a0 - used, k - b0 - used
            tail_a = np.where(rest_a >= 0, first[:, -1, np.clip(rest_a, 0, k)], 0.0)
            tail_b = np.where(rest_b >= 0, second[:, -1, np.clip(rest_b, 0, k)], 0.0)
            inner = np.einsum("qsr,qs,qr->q", shared, tail_a, tail_b)
            total += first[:, 0, a0] * second[:, 0, b0] * inner
    return total / (_normalizer(first, k) * _normalizer(second, k))


def _pairs(first, second, k: int, slot_weights, tie: str) -> np.ndarray:
    first = np.asarray(first, dtype=np.float64)
    second = np.asarray(second, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 3:
        raise ValueError("first and second must both have shape [pairs, questions, answers]")
    pairs, questions, answers = first.shape
    flat = lambda array: slot_weights(array.reshape(-1, answers), k)  # noqa: E731
    values = product_form_pooled_pair(flat(first), flat(second), k, tie)
    return values.reshape(pairs, questions)


def hypergeometric_pooled_pairs(first, second, k: int, tie: str = "random") -> np.ndarray:
    """Exact Agent Forest of model pairs replaying k of each model's recorded samples.

    Args:
      first: the first models' recorded counts, shape [pairs, questions, answers] (rows of
        at least k samples).
      second: the second models', same shape.
      k: samples per model.
      tie: ``"random"`` or ``"first_seen"`` (:func:`product_form_pooled_pair`).

    Returns:
      shape [pairs, questions], equal to
      :func:`slmmux_theory.engines.replay.pooled_vote_pairs_exact` with ``law="hypergeometric"``.
    """
    if np.any(np.asarray(first).sum(-1) < k) or np.any(np.asarray(second).sum(-1) < k):
        raise ValueError(f"every row needs at least k = {k} recorded samples")
    return _pairs(first, second, k, binomial_weights, tie)


def multinomial_pooled_pairs(first, second, k: int, tie: str = "random") -> np.ndarray:
    """Exact Agent Forest of model pairs drawing k i.i.d. samples from each model's row.

    Args:
      first: the first models' answer probabilities, shape [pairs, questions, answers] (a row
        that does not sum to 1 is read as its normalised law).
      second: the second models', same shape.
      k: samples per model.
      tie: ``"random"`` or ``"first_seen"`` (:func:`product_form_pooled_pair`).

    >>> multinomial_pooled_pairs(np.array([[[1.0, 0.0, 0.0]]]), np.array([[[0.0, 1.0, 0.0]]]),
    ...                          1).round(6).tolist()
    [[0.5]]
    """
    return _pairs(first, second, k, power_weights, tie)
