"""Exact majority-vote (maj@k) accuracy for large k and many answer slots, by generating functions.

Place in the layers: pure theory (NumPy/SciPy over arrays; no I/O). The exact engine
(:mod:`slmmux_theory.engines.counts`) enumerates every count vector of k samples over A slots,
``C(k + A - 1, A - 1)`` of them: fine for k <= 9 and a handful of slots, impossible for k = 25
over the 20-60 distinct wrong answers a reasoning model gives on a hard question. Here the
plurality law is summed without enumeration, for any count law whose probability of a count
vector factorises over slots,

    P(n_0, ..., n_{A-1}) = scale · Π_a coef_a[n_a]      (Σ_a n_a = k),

which holds for the multinomial (``coef[n] = p^n / n!``, ``scale = k!``), drawing k of a pool of
recorded samples without replacement (``coef[n] = C(N_a, n)``, ``scale = 1 / C(N, k)``) and the
Dirichlet-multinomial (``coef[n] = α^(n) / n!`` with the rising factorial,
``scale = k! Γ(A) / Γ(A + k)``, A = Σ α), and for a tree (:func:`tree_majority`): any law of the
correct count, the other samples wrong or ⊥ by a Beta-binomial and the wrong ones split by a
Dirichlet (process). The SLM-MUX level laws of such rows are
:mod:`slmmux_theory.engines.wide_levels`.

The rule is the package's plurality (:func:`slmmux_theory.engines.counts.plurality_kernel`):
slot 0 is correct, the last slot ⊥ never votes, ties are shared uniformly, and all-⊥ scores 0.
For a correct count c >= 1 the vote is won with probability 1/(1 + t) when t wrong slots also
hold c and none more. With y marking "a wrong slot at exactly c",

    maj@k = scale · Σ_c coef_0[c] · [x^(k-c)] E_⊥(x) Π_j (Σ_{n<c} coef_j[n] x^n + y coef_j[c] x^c),

averaged over t with weight 1/(1 + t) = ∫_0^1 y^t dy: the polynomial in y is integrated exactly by
Gauss-Legendre nodes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, gammaln, roots_legendre

__all__ = [
    "dirichlet_majority",
    "dirichlet_tree_majority",
    "hypergeometric_majority",
    "majority_from_coefficients",
    "multinomial_majority",
    "tree_majority",
]


def _times(poly, coef, degree):
    """poly · coef truncated at ``degree``; poly [..., degree + 1], coef [..., m + 1]."""
    product = coef[..., :1] * poly
    for n in range(1, min(coef.shape[-1] - 1, degree) + 1):
        product[..., n:] += coef[..., n : n + 1] * poly[..., : degree + 1 - n]
    return product


def _exp_series(log_coef, degree):
    """Coefficients 0..degree of exp(L(x)) for a series L without constant term.

    Uses n e_n = Σ_i i l_i e_(n-i) (from E' = L' E); ``log_coef[..., i]`` is l_i, i = 0..m.
    """
    out = np.zeros((*log_coef.shape[:-1], degree + 1))
    out[..., 0] = 1.0
    top = log_coef.shape[-1] - 1
    for n in range(1, degree + 1):
        i = np.arange(1, min(n, top) + 1)
        out[..., n] = (i * log_coef[..., i] * out[..., n - i]).sum(-1) / n
    return out


def majority_from_coefficients(coef, log_scale, k: int, wrong_total=None,
                               diffuse=None) -> np.ndarray:
    """Plurality accuracy of k samples whose count law factorises over slots.

    Args:
      coef: per-slot coefficients ``coef[..., a, n]`` of n samples in slot a, n = 0..k, shape
        [..., A, k + 1] (slot 0 correct, last slot ⊥; all-zero slots beyond n = 0 are padding).
      log_scale: log of the factor making the coefficients a probability law, shape [...].
      k: samples, k >= 1.
      wrong_total: optional factor of the law that depends on the total W of the wrong slots
        only, ``wrong_total[..., W]``, shape [..., k + 1] (a Dirichlet tree: the wrong mass
        split by its own Dirichlet).
      diffuse: optional mass γ of ever-new wrong answers, shape [...]: the wrong slots also
        receive the blocks of a Chinese restaurant of concentration γ (a Dirichlet process
        posterior's unseen atoms), whose generating function is ``exp(γ Σ_b x^b / b)`` with the
        same tie marking (the limit of infinitely many slots of mass γ/T).

    Returns:
      P(plurality correct), shape [...].

    >>> p = np.array([0.5, 0.5, 0.0])
    >>> coef = p[:, None] ** np.arange(3) / np.array([1.0, 1.0, 2.0])
    >>> round(float(majority_from_coefficients(coef, np.log(2.0), 2)), 6)
    0.5
    """
    coef = np.asarray(coef, dtype=np.float64)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    batch = coef.shape[:-2]
    coef = coef.reshape(-1, *coef.shape[-2:])[..., : k + 1]
    correct, wrong, abstain = coef[:, 0], coef[:, 1:-1], coef[:, -1]
    if wrong_total is not None:
        wrong_total = np.asarray(wrong_total, dtype=np.float64).reshape(-1, k + 1)
    if diffuse is not None:
        diffuse = np.broadcast_to(np.asarray(diffuse, dtype=np.float64), batch).reshape(-1)
    # A wrong slot that never holds a sample adds a factor 1. Used slots first in every row,
    # so that slot j only needs the rows that use at least j + 1 wrong slots.
    used = np.any(wrong[..., 1:] != 0, axis=2)
    order = np.argsort(~used, axis=1, kind="stable")
    wrong = np.take_along_axis(wrong, order[..., None], axis=1)
    num_wrong = int(used.sum(1).max(initial=0))
    wrong = wrong[:, :num_wrong]
    rows_of = [np.flatnonzero(used.sum(1) > j) for j in range(num_wrong)]
    # The tie count t is at most the wrong slots plus, with a diffuse part, its k - 1 possible
    # blocks; Gauss-Legendre with d // 2 + 1 nodes integrates y^t exactly up to t = d.
    most_ties = num_wrong + (k - 1 if diffuse is not None else 0)
    nodes, weights = roots_legendre(most_ties // 2 + 1)
    tie = (nodes + 1.0) / 2.0  # y at the nodes, on [0, 1]
    weights = weights / 2.0
    total = np.zeros(coef.shape[0])
    for c in range(1, k + 1):
        if not np.any(correct[:, c]):
            continue
        degree = k - c
        poly = np.zeros((coef.shape[0], tie.size, degree + 1))
        poly[..., 0] = 1.0
        top = min(c, degree)
        for j in range(num_wrong):
            rows = rows_of[j]
            slot = np.broadcast_to(wrong[rows, j, None, : top + 1],
                                   (rows.size, tie.size, top + 1)).copy()
            if c <= degree:
                slot[..., c] *= tie
            poly[rows] = _times(poly[rows], slot, degree)
        if diffuse is not None and degree > 0:
            # Blocks of size b < c weigh γ/b; a block of exactly c is a tie (marked by y).
            size = np.arange(top + 1)
            log_coef = np.where(size > 0, diffuse[:, None] / np.maximum(size, 1), 0.0)
            log_coef = np.broadcast_to(log_coef[:, None, :], (coef.shape[0], tie.size, top + 1))
            if c <= degree:
                log_coef = log_coef.copy()
                log_coef[..., c] *= tie
            poly = _times(poly, _exp_series(log_coef, degree), degree)
        if wrong_total is not None:
            poly = poly * wrong_total[:, None, : degree + 1]
        poly = _times(poly, abstain[:, None, : degree + 1], degree)
        total += correct[:, c] * (poly[..., degree] * weights).sum(-1)
    return (np.exp(np.asarray(log_scale, dtype=np.float64)).reshape(-1) * total).reshape(batch)


def multinomial_majority(probs, k: int) -> np.ndarray:
    """maj@k of k i.i.d. samples from each answer distribution.

    Args:
      probs: shape [..., A] (slot 0 correct, last slot ⊥).
      k: samples.

    Returns:
      shape [...].

    >>> round(float(multinomial_majority(np.array([0.6, 0.4, 0.0]), 3)), 6)
    0.648
    """
    probs = np.asarray(probs, dtype=np.float64)
    n = np.arange(k + 1)
    with np.errstate(divide="ignore"):
        log_p = np.where(probs[..., None] > 0, np.log(np.maximum(probs[..., None], 1e-300)) * n,
                         np.where(n == 0, 0.0, -np.inf))
    coef = np.exp(log_p - gammaln(n + 1.0))
    return majority_from_coefficients(coef, np.full(probs.shape[:-1], gammaln(k + 1.0)), k)


def hypergeometric_majority(counts, k: int) -> np.ndarray:
    """maj@k of k samples drawn without replacement from recorded answer counts (exact replay).

    Args:
      counts: recorded counts, shape [..., A] (every row at least k samples).
      k: samples.

    Returns:
      shape [...].

    >>> round(float(hypergeometric_majority(np.array([2, 1, 0]), 2)), 6)
    0.666667
    """
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(-1)
    if np.any(totals < k):
        raise ValueError(f"every row needs at least k = {k} recorded samples")
    n = np.arange(k + 1)
    log_coef = np.where(
        counts[..., None] >= n,
        gammaln(counts[..., None] + 1.0) - gammaln(n + 1.0)
        - gammaln(np.maximum(counts[..., None] - n, 0.0) + 1.0),
        -np.inf,
    )
    log_scale = -(gammaln(totals + 1.0) - gammaln(k + 1.0) - gammaln(totals - k + 1.0))
    return majority_from_coefficients(np.exp(log_coef), log_scale, k)


def dirichlet_majority(alpha, k: int) -> np.ndarray:
    """maj@k of k samples from π ~ Dirichlet(alpha) (the Dirichlet-multinomial), exactly.

    Args:
      alpha: Dirichlet parameters, shape [..., A] (slot 0 correct, last slot ⊥; a zero
        parameter is a slot that never occurs).
      k: samples.

    Returns:
      shape [...]: E over π of the multinomial maj@k.

    >>> round(float(dirichlet_majority(np.array([1.0, 1.0, 0.0]), 1)), 6)
    0.5
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    log_coef = _rising_coefficients(alpha, k)
    total = alpha.sum(-1)
    log_scale = gammaln(k + 1.0) + gammaln(total) - gammaln(total + k)
    return majority_from_coefficients(np.exp(log_coef), log_scale, k)


def _rising_coefficients(alpha, k):
    """log(α^(n) / n!) for n = 0..k, shape [..., k + 1] (a zero α: only n = 0 is possible)."""
    n = np.arange(k + 1)
    positive = alpha[..., None] > 0
    safe = np.where(positive, alpha[..., None], 1.0)
    log_coef = np.where(positive, gammaln(safe + n) - gammaln(safe), np.where(n == 0, 0.0, -np.inf))
    return log_coef - gammaln(n + 1.0)


def tree_majority(correct_law, not_correct, wrong_alpha, k: int, diffuse=None) -> np.ndarray:
    """maj@k of k samples whose correct count has any law and whose other samples form a tree.

    The k samples: the correct count C has the law ``correct_law`` (any law on 0..k, e.g. the
    posterior predictive of a scaled Beta-binomial); the k - C other samples are wrong or ⊥ by a
    Beta-binomial of parameters ``not_correct = (u, v)`` (wrong share ~ Beta(u, v)), and the
    wrong ones split over the wrong slots by ``ρ ~ Dirichlet(wrong_alpha)`` (with ``diffuse``: a
    Dirichlet process with those atoms and mass γ on ever-new answers). The count law still
    factorises over slots: with N = k - C, the Beta-binomial's ``N! / (u + v)^(N)`` depends on C
    only and joins the correct slot's coefficient, ``u^(W)`` and the split's ``Γ(G) / Γ(G + W)``
    (G = Σ wrong_alpha + γ) form the factor of the wrong total W, and ``v^(B) / B!`` is ⊥'s.

    Args:
      correct_law: P(C = c), c = 0..k, shape [..., k + 1].
      not_correct: (u, v), shape [..., 2], u > 0 (v = 0: ⊥ never occurs).
      wrong_alpha: shape [..., J], positive where a slot can occur (zeros are padding).
      k: samples.
      diffuse: optional γ, shape [...].

    Returns:
      shape [...].

    >>> law = np.array([0.25, 0.5, 0.25])  # C ~ Binomial(2, 1/2)
    >>> round(float(tree_majority(law, np.array([1.0, 0.0]), np.array([1.0]), 2)), 6)
    0.5
    """
    correct_law = np.asarray(correct_law, dtype=np.float64)
    not_correct = np.asarray(not_correct, dtype=np.float64)
    wrong_alpha = np.asarray(wrong_alpha, dtype=np.float64)
    if correct_law.shape[-1] != k + 1:
        raise ValueError(f"correct_law needs k + 1 = {k + 1} entries on its last axis")
    shape = np.broadcast_shapes(correct_law.shape[:-1], not_correct.shape[:-1],
                                wrong_alpha.shape[:-1])
    correct_law = np.broadcast_to(correct_law, (*shape, k + 1))
    not_correct = np.broadcast_to(not_correct, (*shape, 2))
    wrong_alpha = np.broadcast_to(wrong_alpha, (*shape, wrong_alpha.shape[-1]))
    n = np.arange(k + 1)
    u, both = not_correct[..., :1], not_correct.sum(-1)[..., None]
    split = wrong_alpha.sum(-1)[..., None]
    if diffuse is not None:
        diffuse = np.broadcast_to(np.asarray(diffuse, dtype=np.float64), shape)
        split = split + diffuse[..., None]
    rest = k - n  # N = k - C
    with np.errstate(divide="ignore"):
        log_correct = (np.log(correct_law) + gammaln(rest + 1.0)
                       - gammaln(both + rest) + gammaln(both))
    log_total = gammaln(u + n) - gammaln(u) + gammaln(split) - gammaln(split + n)
    coef = np.concatenate([
        log_correct[..., None, :],
        _rising_coefficients(wrong_alpha, k),
        _rising_coefficients(not_correct[..., 1:], k),
    ], axis=-2)
    return majority_from_coefficients(np.exp(coef), np.zeros(shape), k, np.exp(log_total),
                                      diffuse)


def dirichlet_tree_majority(top_alpha, wrong_alpha, k: int, diffuse=None) -> np.ndarray:
    """maj@k of k samples from a Dirichlet tree, exactly.

    ``(π_c, π_w, π_⊥) ~ Dirichlet(top_alpha)`` and the wrong mass split over the wrong slots by
    ``ρ ~ Dirichlet(wrong_alpha)``; ``π = (π_c, π_w ρ, π_⊥)``. The top Dirichlet is the tree
    ``π_c ~ Beta(a_c, a_w + a_b)``, then the rest split wrong/⊥ by ``Beta(a_w, a_b)``: the
    correct count is Beta-binomial and :func:`tree_majority` does the rest.

    Args:
      top_alpha: shape [..., 3] (correct, wrong, ⊥), wrong > 0 (correct 0: never correct).
      wrong_alpha: shape [..., J], positive where a slot can occur (zeros are padding).
      k: samples.
      diffuse: optional mass γ of a Dirichlet process's new wrong answers beside the J slots,
        shape [...] (then ρ ~ DP over the J slots and infinitely many new ones).

    Returns:
      shape [...].

    >>> round(float(dirichlet_tree_majority(np.array([1.0, 1.0, 0.0]), np.array([1.0]), 1)), 6)
    0.5
    """
    top_alpha = np.asarray(top_alpha, dtype=np.float64)
    n = np.arange(k + 1)
    a_c, others = top_alpha[..., :1], top_alpha[..., 1:].sum(-1)[..., None]
    solvable = a_c > 0
    safe = np.where(solvable, a_c, 1.0)
    log_law = (gammaln(k + 1.0) - gammaln(n + 1.0) - gammaln(k - n + 1.0)
               + betaln(safe + n, others + k - n) - betaln(safe, others))
    law = np.where(solvable, np.exp(log_law), (n == 0).astype(np.float64))
    return tree_majority(law, top_alpha[..., 1:], wrong_alpha, k, diffuse)
