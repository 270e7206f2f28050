"""Count-vector laws: the input every exact kernel reads (engines layer, pure, no I/O).

Given the question, each model's ``k`` samples produce a count vector over the A answer slots.
Its law is multinomial (sampling from ``probs``) or multivariate hypergeometric (drawing ``k`` of
a model's recorded samples without replacement, which makes a replay of stored samples exact).
Both are a :class:`CountDistribution`; :class:`ExactResult` is what an exact rule returns.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from scipy.special import gammaln as scipy_gammaln

from slmmux_theory.closed.closed_forms import multinomial_count_vectors
from slmmux_theory.distributions import validate_counts, validate_probabilities
from slmmux_theory.precision import require_x64

__all__ = [
    "CountDistribution",
    "ExactResult",
    "as_count_distribution",
    "count_vectors",
    "hypergeometric_counts",
    "multinomial_counts",
    "plurality_kernel",
]


class CountDistribution(NamedTuple):
    """Law of each model's count vector on each question.

    Attributes:
      probs: probability of each count vector, shape [models, questions, vectors].
      k: k, the number of samples behind every count vector.
      num_answers: A, the number of answer slots (last one ⊥).
    """

    probs: jnp.ndarray
    k: int
    num_answers: int

    @property
    def vectors(self) -> np.ndarray:
        return count_vectors(self.k, self.num_answers)

    def subset(self, models) -> "CountDistribution":
        return self._replace(probs=self.probs[jnp.asarray(models)])


class ExactResult(NamedTuple):
    """Exact accuracy of a rule.

    Attributes:
      accuracy: mean over questions, shape [].
      per_question: probability of a correct answer per question, shape [questions].
      expected_samples: expected samples spent per question, shape [questions].
    """

    accuracy: jnp.ndarray
    per_question: jnp.ndarray
    expected_samples: jnp.ndarray


def count_vectors(k: int, num_answers: int) -> np.ndarray:
    """All count vectors of ``k`` samples over ``A`` slots, shape [C(k+A-1, A-1), A].

    The engine's validated entry to :func:`slmmux_theory.closed.closed_forms.multinomial_count_vectors`
    (one stars-and-bars enumeration for the package, cached and read-only).

    >>> count_vectors(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if num_answers < 2:
        raise ValueError(f"num_answers must be >= 2, got {num_answers}")
    return multinomial_count_vectors(int(k), int(num_answers))


def multinomial_counts(probs, k: int) -> CountDistribution:
    """Count-vector law of ``k`` independent samples from each distribution.

    Args:
      probs: shape [models, questions, answers] (validated: rows sum to 1).
      k: k >= 1.

    >>> d = multinomial_counts([[[0.5, 0.5]]], 2)
    >>> [round(float(x), 3) for x in d.probs[0, 0]]
    [0.25, 0.5, 0.25]
    """
    require_x64("the exact engine (multinomial_counts)")
    probs = jnp.asarray(validate_probabilities(probs))
    vectors = count_vectors(k, probs.shape[-1])
    return CountDistribution(
        _multinomial_pmf(probs, jnp.asarray(vectors), k),
        k,
        int(probs.shape[-1]),
    )


@functools.partial(jax.jit, static_argnums=2)
def _multinomial_pmf(probs, vectors, k):
    log_coefficient = gammaln(k + 1.0) - gammaln(vectors + 1.0).sum(-1)
    # A zero-probability slot gets log p = -1e4: any positive count then underflows to exactly
    # 0, and a zero count contributes 0 (not 0 * -inf). One matmul instead of a broadcast.
    log_probs = jnp.where(probs > 0, jnp.log(jnp.where(probs > 0, probs, 1.0)), -1e4)
    return jnp.exp(log_coefficient + log_probs @ vectors.T.astype(probs.dtype))


def hypergeometric_counts(pool_counts, k: int) -> CountDistribution:
    """Count-vector law of drawing ``k`` of each model's recorded samples without replacement.

    This is what a replay of stored samples averages over: every k-subset of the recorded
    samples equally likely (METHODS.md §4.2, "Simulating from stored samples").

    Args:
      pool_counts: recorded counts, shape [models, questions, answers]; each row needs at least
        ``k`` samples.
      k: k.

    Raises:
      ValueError: when a (model, question) has fewer than k recorded samples.
    """
    require_x64("the exact engine (hypergeometric_counts)")
    pool = validate_counts(pool_counts, name="pool_counts")
    totals = pool.sum(-1)
    if np.any(totals < k):
        m, q = np.argwhere(totals < k)[0]
        raise ValueError(
            f"pool_counts[model {m}, question {q}] holds {totals[m, q]} samples, "
            f"fewer than k={k}"
        )
    k, num_answers = k, pool.shape[-1]
    vectors = count_vectors(k, num_answers)
    # log P(c) = Σ_a [lf(n_a) - lf(c_a) - lf(n_a - c_a)] - log C(n, k). The only term coupling
    # pool and vector is lf(n_a - c_a); tabulate it for c = 0..k and contract it against the
    # vectors' one-hot encoding: one matmul over (slot, count) instead of a broadcast.
    log_factorial = scipy_gammaln(np.arange(totals.max(initial=0) + k + 2) + 1.0)
    remaining = pool[..., None] - np.arange(k + 1)  # [M, Q, A, k+1]
    table = np.where(remaining >= 0, -log_factorial[np.maximum(remaining, 0)], -1e4)
    onehot = (vectors[:, :, None] == np.arange(k + 1)).astype(np.float64)  # [V, A, k+1]
    coupled = table.reshape(*pool.shape[:2], -1) @ onehot.reshape(len(vectors), -1).T
    per_pool = log_factorial[pool].sum(-1) - (
        log_factorial[totals] - log_factorial[k] - log_factorial[totals - k]
    )
    per_vector = -log_factorial[vectors].sum(-1)
    probs = np.exp(coupled + per_pool[..., None] + per_vector)
    return CountDistribution(jnp.asarray(probs), k, int(pool.shape[-1]))


def as_count_distribution(distribution_or_probs, k=None) -> CountDistribution:
    """A :class:`CountDistribution` as given, or the multinomial law of ``k`` samples from probs.

    Args:
      distribution_or_probs: a :class:`CountDistribution`, or probabilities
        [models, questions, answers].
      k: k; required with probabilities, checked against a given distribution.
    """
    if isinstance(distribution_or_probs, CountDistribution):
        if k is not None and k != distribution_or_probs.k:
            raise ValueError("k disagrees with the CountDistribution given")
        return distribution_or_probs
    if k is None:
        raise ValueError("k is required with a probability tensor")
    return multinomial_counts(distribution_or_probs, k)


def plurality_kernel(vectors: np.ndarray) -> np.ndarray:
    """P(correct | count vector) of plurality with uniform ties; ⊥ never votes.

    Args:
      vectors: count vectors, shape [vectors, answers] (slot 0 correct, last slot ⊥).

    Returns:
      shape [vectors].

    >>> plurality_kernel(np.array([[2, 1, 0], [1, 1, 1], [0, 0, 3]])).tolist()
    [1.0, 0.5, 0.0]
    """
    valid = vectors[:, :-1]
    top = valid.max(axis=1)
    is_top = (valid == top[:, None]) & (top[:, None] > 0)
    ties = np.maximum(is_top.sum(axis=1), 1)
    return is_top[:, 0] / ties
