"""Closed-form accuracies of voting: binomial majority, plurality, Poisson-binomial pooled votes.

This module holds the formulas of METHODS.md §5.1-§5.2 (the paper's binary majority picture and
its corrections) and the single-model plurality law of §5.3, as pure JAX functions:

* :func:`binomial_majority_accuracy` -- ``A(N, p)`` under the three tie conventions;
* :func:`voting_helps` and :func:`voting_helps_threshold` -- when ``A(N, p) > p`` (the corrected
  claim of §5.2 item 1);
* :func:`plurality_accuracy` and :func:`dispersed_plurality_accuracy` -- exact multinomial
  plurality of one model (§5.2 item 2, §5.3 "Dispersed errors");
* :func:`pooled_vote_binary_accuracy` and :func:`pooled_vote_count_moments` -- the Agent Forest
  vote in the binary model as a Poisson-binomial (§5.2 item 4);
* :func:`dataset_accuracy_per_question` -- ``E_q[A(N, p_q)]`` against ``A(N, E_q p_q)``;
* :func:`mux_binary_approximation` and :func:`agent_forest_binary_approximation` -- the paper's
  own approximations, kept to be set beside exact values.

Validation: every public function checks *concrete* inputs in Python before any tracing and raises
``ValueError`` with a one-sentence message. Inside ``jax.jit``/``jax.vmap`` the traced arguments
cannot be inspected, so they are not checked; ``num_samples`` and ``tie`` are always static
Python values and are always checked. Count vectors are enumerated with NumPy at trace time.
Symbolic derivations of the same formulas live in :mod:`slmmux_theory.closed.symbolic`.
"""

from __future__ import annotations

import functools
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln, xlog1py, xlogy

__all__ = [
    "TIE_CONVENTIONS",
    "DatasetAccuracy",
    "PooledVoteMoments",
    "TieConvention",
    "agent_forest_binary_approximation",
    "binomial_majority_accuracy",
    "dataset_accuracy_per_question",
    "dispersed_plurality_accuracy",
    "multinomial_count_vectors",
    "multinomial_log_pmf",
    "mux_binary_approximation",
    "plurality_accuracy",
    "plurality_win_weights",
    "poisson_binomial_pmf",
    "pooled_vote_binary_accuracy",
    "pooled_vote_count_moments",
    "voting_helps",
    "voting_helps_threshold",
]

TieConvention = Literal["counted", "strict", "coin"]
#: The three names of METHODS.md §5.2 item 1: ``counted`` = A_>= (the paper's formula, a tie
#: counts as correct), ``strict`` = A_> (strict majority), ``coin`` = A_1/2 (fair-coin tie).
TIE_CONVENTIONS: tuple[str, ...] = ("counted", "strict", "coin")

_SUM_TOLERANCE = 1e-6


def _is_traced(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _check_num_samples(num_samples, name: str = "num_samples") -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        # ValueError rather than TypeError: every bad input gets the one documented error type.
        message = f"{name} must be a Python int (static under jit), got {num_samples!r}"
        raise ValueError(message)  # noqa: TRY004
    if num_samples < 1:
        raise ValueError(f"{name} must be at least 1, got {num_samples}")
    return int(num_samples)


def _check_tie(tie) -> str:
    if tie not in TIE_CONVENTIONS:
        raise ValueError(f"tie must be one of {TIE_CONVENTIONS}, got {tie!r}")
    return tie


def _check_unit_interval(value, name: str) -> None:
    if _is_traced(value):
        return
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if np.any((array < 0.0) | (array > 1.0)):
        raise ValueError(
            f"{name} must lie in [0, 1], got values from {array.min()} to {array.max()}"
        )


def _check_distribution(probs, name: str = "probs", min_slots: int = 1) -> None:
    if _is_traced(probs):
        return
    array = np.asarray(probs, dtype=np.float64)
    if array.ndim < 1 or array.shape[-1] < min_slots:
        raise ValueError(f"{name} needs a last axis of at least {min_slots} answer slots")
    _check_unit_interval(array, name)
    sums = array.sum(axis=-1)
    if np.any(np.abs(sums - 1.0) > _SUM_TOLERANCE):
        worst = sums.flat[int(np.argmax(np.abs(sums - 1.0)))]
        raise ValueError(f"{name} must sum to 1 over its last axis, found a sum of {worst:.6g}")


def _majority_weights(num_samples: int, tie: str) -> np.ndarray:
    """Credit given to ``j`` correct votes out of ``num_samples``, shape [num_samples + 1]."""
    correct_votes = np.arange(num_samples + 1)
    doubled = 2 * correct_votes  # integers: compare 2j with N, never j with N/2 in floats
    weights = (doubled > num_samples).astype(np.float64)
    tied = doubled == num_samples
    weights[tied] = {"counted": 1.0, "strict": 0.0, "coin": 0.5}[tie]
    return weights


@functools.partial(jax.jit, static_argnums=(0, 2))
def _majority(num_samples: int, p, tie: str):
    p = jnp.asarray(p, dtype=jnp.float64)[..., None]
    pmf = jnp.exp(_log_binomial_coefficients(num_samples) + _log_binomial_powers(num_samples, p))
    return pmf @ jnp.asarray(_majority_weights(num_samples, tie))


def _log_binomial_coefficients(num_samples: int) -> np.ndarray:
    """``log binom(N, j)`` for ``j = 0..N`` via SciPy's gammaln, a constant at trace time."""
    from scipy.special import gammaln as scipy_gammaln

    j = np.arange(num_samples + 1, dtype=np.float64)
    return (
        scipy_gammaln(num_samples + 1.0)
        - scipy_gammaln(j + 1.0)
        - scipy_gammaln(num_samples - j + 1.0)
    )


def _log_binomial_powers(num_samples: int, p):
    """``j log p + (N - j) log(1 - p)``, shape [..., N + 1].

    ``xlogy`` makes ``0 log 0 = 0``, so ``p`` in {0, 1} stays exact.
    """
    j = np.arange(num_samples + 1, dtype=np.float64)
    return xlogy(j, p) + xlog1py(num_samples - j, -p)


def binomial_majority_accuracy(num_samples: int, p, tie: TieConvention = "counted"):
    """Accuracy ``A(N, p)`` of a majority vote over ``N`` binary samples (METHODS §5.1, §5.2).

    Each of ``N`` samples is correct with probability ``p``; the vote is correct when the
    correct votes ``X ~ Bin(N, p)`` form a majority. ``tie`` says what a tie ``X = N/2`` (even
    ``N`` only) is worth: ``"counted"`` 1 (the paper's formula ``Pr(X >= ceil(N/2))``),
    ``"strict"`` 0, ``"coin"`` 1/2. For odd ``N`` the three coincide.

    Args:
      num_samples: ``N >= 1``, a Python int (static under ``jax.jit``).
      p: per-sample accuracy, any shape, values in [0, 1].
      tie: tie convention, one of :data:`TIE_CONVENTIONS`.

    Returns:
      ``A(N, p)``, same shape as ``p``, float64.

    Raises:
      ValueError: for ``N < 1``, an unknown ``tie``, or a concrete ``p`` outside [0, 1].

    >>> round(float(binomial_majority_accuracy(3, 0.6)), 12)
    0.648
    >>> [round(float(binomial_majority_accuracy(2, 0.3, tie)), 12) for tie in TIE_CONVENTIONS]
    [0.51, 0.09, 0.3]
    """
    num_samples = _check_num_samples(num_samples)
    tie = _check_tie(tie)
    _check_unit_interval(p, "p")
    return _majority(num_samples, p, tie)


def voting_helps(num_samples: int, p, tie: TieConvention = "counted", *, atol: float = 1e-12):
    """Whether voting beats one sample, ``A(N, p) - p > atol``, computed from the formula.

    The tolerance keeps rounding noise from reading as a gain where ``A(N, p) = p`` holds
    identically (``N = 1``; ``N = 2`` with ``"coin"``) or at ``p`` in {0, 1/2, 1}.

    Args:
      num_samples: ``N >= 1`` (static).
      p: per-sample accuracy, any shape, in [0, 1].
      tie: tie convention.
      atol: the gain that counts as help.

    Returns:
      Boolean array, same shape as ``p``.

    >>> bool(voting_helps(4, 0.3)), bool(voting_helps(4, 0.3, "coin"))
    (True, False)
    """
    accuracy = binomial_majority_accuracy(num_samples, p, tie)
    return accuracy - jnp.asarray(p, dtype=jnp.float64) > atol


def voting_helps_threshold(num_samples: int, tie: TieConvention = "counted") -> float:
    """The corrected claim of METHODS §5.2 item 1: the ``t`` with ``A(N,p) > p  <=>  p > t``.

    For ``0 < p < 1`` the statement "voting helps iff ``p > t``" holds with

    * ``t = 1/2`` for odd ``N >= 3`` (all conventions agree) and for ``"coin"`` with ``N >= 3``
      (because ``A_1/2(2m, p) = A(2m-1, p)``);
    * ``t = 1`` (never helps: ``A = p`` identically) for ``N = 1`` and for ``"coin"`` with
      ``N = 2``;
    * ``t = 0`` (always helps) for ``"counted"`` with ``N = 2``, since ``A(2, p) = 2p - p^2``;
    * ``t = 1`` (always hurts) for ``"strict"`` with ``N = 2``, since ``A_>(2, p) = p^2``;
    * otherwise (even ``N >= 4`` counted or strict) the unique interior root of ``A(N, p) - p``,
      found numerically: below 1/2 for ``"counted"`` (so the paper's "only if ``p > 0.5``" fails)
      and above 1/2 for ``"strict"``. Uniqueness of the root is checked symbolically in
      :func:`slmmux_theory.closed.symbolic.interior_roots`.

    Args:
      num_samples: ``N >= 1``.
      tie: tie convention.

    Returns:
      The threshold ``t`` in [0, 1] as a Python float.

    >>> voting_helps_threshold(5), voting_helps_threshold(4, "coin")
    (0.5, 0.5)
    >>> round(voting_helps_threshold(4, "counted"), 6)
    0.232408
    """
    num_samples = _check_num_samples(num_samples)
    tie = _check_tie(tie)
    if num_samples == 1 or (tie == "coin" and num_samples == 2):
        return 1.0
    if num_samples % 2 == 1 or tie == "coin":
        return 0.5
    if num_samples == 2:
        return 0.0 if tie == "counted" else 1.0
    from scipy.optimize import brentq  # one root of a fixed polynomial: SciPy, not traced JAX
    from scipy.stats import binom as scipy_binom

    weights = _majority_weights(num_samples, tie)
    correct_votes = np.arange(num_samples + 1)

    def gain(p: float) -> float:
        return float(weights @ scipy_binom.pmf(correct_votes, num_samples, p)) - p

    # The root sits strictly inside (0, 1/2) for counted and (1/2, 1) for strict, where the gain
    # changes sign; A(N, 1/2) - 1/2 is +P(tie)/2 for counted and -P(tie)/2 for strict.
    low, high = (1e-9, 0.5) if tie == "counted" else (0.5, 1.0 - 1e-9)
    return float(brentq(gain, low, high, xtol=1e-14, rtol=1e-14))


@functools.lru_cache(maxsize=None)
def multinomial_count_vectors(num_samples: int, num_answers: int) -> np.ndarray:
    """All count vectors of ``num_samples`` draws over ``num_answers`` slots.

    Args:
      num_samples: total draws ``N >= 0``.
      num_answers: number of slots ``L >= 1``.

    Returns:
      Integer array, shape [binom(N + L - 1, L - 1), L], each row summing to ``N``. The array is
      cached and read-only.

    >>> multinomial_count_vectors(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    if num_answers == 1:
        rows = np.array([[num_samples]], dtype=np.int64)
    else:
        # Stars and bars: choose the L-1 bar positions among N + L - 1 places.
        from itertools import combinations

        bars = np.array(
            list(combinations(range(num_samples + num_answers - 1), num_answers - 1)),
            dtype=np.int64,
        ).reshape(-1, num_answers - 1)
        padded = np.concatenate(
            [
                -np.ones((bars.shape[0], 1), dtype=np.int64),
                bars,
                np.full((bars.shape[0], 1), num_samples + num_answers - 1, dtype=np.int64),
            ],
            axis=1,
        )
        rows = np.diff(padded, axis=1) - 1
    rows.setflags(write=False)
    return rows


def multinomial_log_pmf(counts: np.ndarray, probs):
    """Log multinomial probabilities of fixed count vectors.

    Args:
      counts: NumPy integer array, shape [vectors, answers] (concrete, e.g. from
        :func:`multinomial_count_vectors`).
      probs: probabilities, shape [..., answers].

    Returns:
      Log probabilities, shape [..., vectors]; ``-inf`` where a count falls on a zero-probability
      slot.
    """
    counts = np.asarray(counts)
    log_coefficient = gammaln(counts.sum(axis=1) + 1.0) - gammaln(counts + 1.0).sum(axis=1)
    probs = jnp.asarray(probs, dtype=jnp.float64)
    # xlogy gives 0 * log 0 = 0, so empty slots of zero probability cost nothing.
    log_terms = xlogy(jnp.asarray(counts, dtype=jnp.float64), probs[..., None, :]).sum(axis=-1)
    return jnp.asarray(log_coefficient) + log_terms


def plurality_win_weights(counts: np.ndarray, abstention_slot: bool = False) -> np.ndarray:
    """Probability that slot 0 wins a uniform-tie plurality, for each count vector.

    Args:
      counts: integer array, shape [vectors, answers].
      abstention_slot: if true the last slot is ⊥, which never votes.

    Returns:
      Float array, shape [vectors]: ``1[slot 0 is among the top] / #top`` among voting slots,
      and 0 when no voting slot has a count (all samples abstained).
    """
    counts = np.asarray(counts)
    voting = counts[:, :-1] if abstention_slot else counts
    top = voting.max(axis=1)
    number_top = (voting == top[:, None]).sum(axis=1)
    wins = (voting[:, 0] == top) & (top > 0)
    return np.where(wins, 1.0 / number_top, 0.0)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _plurality(probs, num_samples: int, abstention_slot: bool):
    counts = multinomial_count_vectors(num_samples, probs.shape[-1])
    weights = plurality_win_weights(counts, abstention_slot)
    return jnp.exp(multinomial_log_pmf(counts, probs)) @ jnp.asarray(weights)


def plurality_accuracy(probs, num_samples: int, *, abstention_slot: bool = False):
    """Exact accuracy of a plurality vote over ``N`` i.i.d. draws from one categorical law.

    Slot 0 is the correct answer; ties among the top slots are broken uniformly at random
    (METHODS §1.3(c); ``first_seen`` has the same law). With ``abstention_slot=True`` the last
    slot is ⊥: it never votes, and ``N`` abstentions give a wrong (abstained) answer.

    The law is summed over all ``binom(N + L - 1, L - 1)`` count vectors, enumerated with NumPy
    when the function is traced, so ``N`` and the number of slots are static under ``jax.jit``.

    Args:
      probs: probabilities, shape [..., answers]; leading axes are batch axes.
      num_samples: number of draws ``N >= 1`` (static).
      abstention_slot: whether the last slot is ⊥.

    Returns:
      Accuracy, shape [...].

    Raises:
      ValueError: for ``N < 1`` or concrete ``probs`` outside [0, 1] or not summing to 1.

    >>> round(float(plurality_accuracy([0.4, 0.2, 0.2, 0.2], 5)), 4)
    0.5094
    >>> round(float(plurality_accuracy([0.4, 0.6], 9)), 4)
    0.2666
    """
    num_samples = _check_num_samples(num_samples)
    _check_distribution(probs, min_slots=2 if abstention_slot else 1)
    return _plurality(jnp.asarray(probs, dtype=jnp.float64), num_samples, bool(abstention_slot))


def _dispersed_weights(counts: np.ndarray, abstention: bool) -> np.ndarray:
    """Win weights when column -1 (or -2 with abstention) counts never-repeated singleton draws."""
    singles = counts[:, -2] if abstention else counts[:, -1]
    labelled = counts[:, :-2] if abstention else counts[:, :-1]
    top = np.maximum(labelled.max(axis=1), np.minimum(singles, 1))
    number_top = (labelled == top[:, None]).sum(axis=1) + np.where(top == 1, singles, 0)
    wins = (labelled[:, 0] == top) & (top > 0)
    return np.where(wins, 1.0 / np.maximum(number_top, 1), 0.0)


@functools.partial(jax.jit, static_argnums=(1, 2))
def _dispersed(probs, num_samples: int, abstention: bool):
    counts = multinomial_count_vectors(num_samples, probs.shape[-1])
    weights = _dispersed_weights(counts, abstention)
    return jnp.exp(multinomial_log_pmf(counts, probs)) @ jnp.asarray(weights)


def dispersed_plurality_accuracy(
    p_correct, shared_wrong, dispersed_mass, num_samples: int, *, abstention_mass=None
):
    """Exact plurality accuracy when part of the error mass never repeats (METHODS §5.3).

    A draw lands on the correct answer with probability ``p_correct``, on shared wrong answer
    ``j`` with ``shared_wrong[j]``, on ⊥ with ``abstention_mass`` (never votes), and otherwise
    (``dispersed_mass``, the "singleton mass" δ) on a brand-new wrong answer that no other draw
    repeats. Singleton answers have count 1, so they matter only when the top count is 1; then
    each of them joins the uniform tie among all count-1 answers.

    Args:
      p_correct: probability of the correct answer, shape [...].
      shared_wrong: probabilities of the repeatable wrong answers, shape [..., wrong] (wrong may
        be 0).
      dispersed_mass: δ, shape [...].
      num_samples: ``N >= 1`` (static).
      abstention_mass: probability of ⊥, shape [...], or ``None`` for no ⊥ slot.

    Returns:
      Accuracy, shape [...].

    Raises:
      ValueError: if concrete masses leave [0, 1] or do not sum to 1.

    With no shared wrong answer, ``N = 3``: ``0.2^3 + 3 (0.2^2)(0.8) + 3 (0.2)(0.8^2) / 3``.

    >>> round(float(dispersed_plurality_accuracy(0.2, [], 0.8, 3)), 6)
    0.232
    """
    num_samples = _check_num_samples(num_samples)
    p_correct = jnp.asarray(p_correct, dtype=jnp.float64)
    shared_wrong = jnp.asarray(shared_wrong, dtype=jnp.float64)
    dispersed_mass = jnp.asarray(dispersed_mass, dtype=jnp.float64)
    batch = jnp.broadcast_shapes(p_correct.shape, dispersed_mass.shape, shared_wrong.shape[:-1])
    columns = [p_correct[..., None], shared_wrong, dispersed_mass[..., None]]
    if abstention_mass is not None:
        columns.append(jnp.asarray(abstention_mass, dtype=jnp.float64)[..., None])
    columns = [jnp.broadcast_to(c, batch + c.shape[-1:]) for c in columns]
    probs = jnp.concatenate(columns, axis=-1)
    _check_distribution(probs, name="[p_correct, shared_wrong, dispersed_mass, abstention_mass]")
    return _dispersed(probs, num_samples, abstention_mass is not None)


def poisson_binomial_pmf(p_per_model, k: int):
    """Law of the total correct votes ``sum_i X_i``, ``X_i ~ Bin(k, p_i)`` independent.

    Computed by convolving the models' binomial pmfs one after another (``lax.scan`` over models).

    Args:
      p_per_model: per-sample accuracies, shape [..., models].
      k: ``k >= 1`` (static).

    Returns:
      Probabilities of ``0 .. n*k`` correct votes, shape [..., n*k + 1].

    >>> [round(float(x), 12) for x in poisson_binomial_pmf([0.5, 1.0], 1)]
    [0.0, 0.5, 0.5]
    """
    k = _check_num_samples(k, "k")
    _check_unit_interval(p_per_model, "p_per_model")
    return _poisson_binomial(jnp.asarray(p_per_model, dtype=jnp.float64), k)


@functools.partial(jax.jit, static_argnums=(1,))
def _poisson_binomial(p_per_model, k: int):
    num_models = p_per_model.shape[-1]
    size = num_models * k + 1
    log_pmf = _log_binomial_coefficients(k) + _log_binomial_powers(k, p_per_model[..., None])
    per_model = jnp.exp(log_pmf)  # [..., models, k + 1]
    start = jnp.zeros(p_per_model.shape[:-1] + (size,)).at[..., 0].set(1.0)

    def add_model(total, model_pmf):
        # total[t] <- sum_j total[t - j] * model_pmf[j]; k is small, so a static loop over j.
        shifted = [
            jnp.pad(total, [(0, 0)] * (total.ndim - 1) + [(j, 0)])[..., :size] for j in range(k + 1)
        ]
        return sum(s * model_pmf[..., j : j + 1] for j, s in enumerate(shifted)), None

    total, _ = jax.lax.scan(add_model, start, jnp.moveaxis(per_model, -2, 0))
    return total


def pooled_vote_binary_accuracy(
    p_per_model, k: int, tie: TieConvention = "counted"
):
    """Exact Agent Forest (pooled vote) accuracy in the binary model (METHODS §5.2 item 4).

    Every sample of model ``i`` is correct with probability ``p_i`` and otherwise gives the one
    wrong label shared by all models, so the pooled vote over ``n*k`` samples is a majority vote
    whose correct count is Poisson-binomial, not ``Bin(n*k, mean p)``. Compare with
    :func:`agent_forest_binary_approximation`, the paper's ``A(n*k, mean p)``.

    Args:
      p_per_model: per-sample accuracies, shape [..., models].
      k: ``k >= 1`` (static).
      tie: what a tie between the two labels is worth (see :func:`binomial_majority_accuracy`).

    Returns:
      Accuracy, shape [...].

    >>> round(float(pooled_vote_binary_accuracy([0.9, 0.3], 3)), 6)  # A(6, 0.6) would say 0.8208
    0.89451
    """
    k = _check_num_samples(k, "k")
    tie = _check_tie(tie)
    pmf = poisson_binomial_pmf(p_per_model, k)
    weights = _majority_weights(pmf.shape[-1] - 1, tie)
    return pmf @ jnp.asarray(weights)


class PooledVoteMoments(NamedTuple):
    """Mean and variance of the pooled correct-vote count in the binary model.

    Attributes:
      mean: ``k * sum_i p_i``, shape [...].
      variance: ``k * sum_i p_i (1 - p_i)``, shape [...].
      variance_identity: ``n k [p̄(1 - p̄) - σ_p²]`` with σ_p² the population variance of the
        ``p_i``; equal to ``variance`` (METHODS §5.2 item 4), shape [...].
      binomial_variance: ``n k p̄(1 - p̄)``, the variance of the paper's ``Bin(nk, p̄)``; at
        least ``variance``, with equality iff all ``p_i`` are equal, shape [...].
    """

    mean: jnp.ndarray
    variance: jnp.ndarray
    variance_identity: jnp.ndarray
    binomial_variance: jnp.ndarray


def pooled_vote_count_moments(p_per_model, k: int) -> PooledVoteMoments:
    """Moments of the Poisson-binomial correct-vote count ``sum_i Bin(k, p_i)``.

    Args:
      p_per_model: shape [..., models].
      k: ``k >= 1``.

    Returns:
      The moments, each of shape [...].

    >>> moments = pooled_vote_count_moments([0.9, 0.3], 3)
    >>> round(float(moments.variance), 12), round(float(moments.variance_identity), 12)
    (0.9, 0.9)
    """
    k = _check_num_samples(k, "k")
    _check_unit_interval(p_per_model, "p_per_model")
    p = jnp.asarray(p_per_model, dtype=jnp.float64)
    n = p.shape[-1]
    mean_p = p.mean(axis=-1)
    spread = jnp.var(p, axis=-1)  # population variance (ddof = 0), as in the identity
    return PooledVoteMoments(
        mean=k * p.sum(axis=-1),
        variance=k * (p * (1.0 - p)).sum(axis=-1),
        variance_identity=n * k * (mean_p * (1.0 - mean_p) - spread),
        binomial_variance=n * k * mean_p * (1.0 - mean_p),
    )


class DatasetAccuracy(NamedTuple):
    """Dataset-level voting accuracy computed two ways (METHODS §5.2 item 3).

    Attributes:
      per_question: ``E_q[A(N, p_q)]``, the right value, shape [].
      plug_in: ``A(N, E_q p_q)``, the paper's shortcut, shape [].
    """

    per_question: jnp.ndarray
    plug_in: jnp.ndarray


def dataset_accuracy_per_question(
    num_samples: int, p_per_question, tie: TieConvention = "counted", weights=None
) -> DatasetAccuracy:
    """Average ``A(N, p_q)`` over questions, beside ``A(N, average p_q)``.

    Args:
      num_samples: ``N >= 1``.
      p_per_question: per-question accuracies, shape [questions].
      tie: tie convention.
      weights: optional non-negative question weights, shape [questions]; uniform by default.

    Returns:
      Both values.

    >>> result = dataset_accuracy_per_question(3, [0.9, 0.3])
    >>> round(float(result.per_question), 12), round(float(result.plug_in), 12)
    (0.594, 0.648)
    """
    num_samples = _check_num_samples(num_samples)
    _check_unit_interval(p_per_question, "p_per_question")
    p = jnp.asarray(p_per_question, dtype=jnp.float64)
    if weights is None:
        weights = jnp.full(p.shape[-1:], 1.0 / p.shape[-1])
    else:
        if not _is_traced(weights):
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != tuple(p.shape[-1:]) or np.any(w < 0) or not w.sum() > 0:
                raise ValueError(
                    "weights must be non-negative, one per question, with a positive sum"
                )
        weights = jnp.asarray(weights, dtype=jnp.float64)
        weights = weights / weights.sum()
    return DatasetAccuracy(
        per_question=binomial_majority_accuracy(num_samples, p, tie) @ weights,
        plug_in=binomial_majority_accuracy(num_samples, p @ weights, tie),
    )


def mux_binary_approximation(p_per_model, k: int, tie: TieConvention = "counted"):
    """The paper's SLM-MUX approximation ``A(k, p_max)`` (METHODS §5.1 item 4, §5.2 item 4).

    This is the paper's claim, not SLM-MUX's accuracy: it ignores that the *empirically* most
    confident model wins (METHODS §5.2 item 5). Exact values live in ``exact.py``.

    Args:
      p_per_model: shape [..., models].
      k: ``k >= 1``.
      tie: tie convention.

    Returns:
      ``A(k, max_i p_i)``, shape [...].

    >>> round(float(mux_binary_approximation([0.6, 0.4], 3)), 12)
    0.648
    """
    _check_unit_interval(p_per_model, "p_per_model")
    p_max = jnp.max(jnp.asarray(p_per_model, dtype=jnp.float64), axis=-1)
    return binomial_majority_accuracy(k, p_max, tie)


def agent_forest_binary_approximation(
    p_per_model, k: int, tie: TieConvention = "counted"
):
    """The paper's Agent Forest approximation ``A(n k, p̄)`` (METHODS §5.1 item 5).

    The exact binary-model value is :func:`pooled_vote_binary_accuracy`.

    Args:
      p_per_model: shape [..., models].
      k: ``k >= 1``.
      tie: tie convention.

    Returns:
      ``A(n k, mean_i p_i)``, shape [...].

    >>> round(float(agent_forest_binary_approximation([0.9, 0.3], 3)), 6)  # A(6, 0.6)
    0.8208
    """
    k = _check_num_samples(k, "k")
    _check_unit_interval(p_per_model, "p_per_model")
    p = jnp.asarray(p_per_model, dtype=jnp.float64)
    return binomial_majority_accuracy(p.shape[-1] * k, p.mean(axis=-1), tie)
