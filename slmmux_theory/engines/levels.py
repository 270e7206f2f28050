"""SLM-MUX's per-model confidence-level laws and their product over models (engines layer).

SLM-MUX factorises: per model, the joint law of (confidence level, "my mode is correct"); the
winner's law is then a product over models (METHODS.md §5.3), linear in the number of models.
:func:`mux_subset_accuracy` shares one set of level laws across many model subsets (the search).
The rule value that uses these laws is :mod:`slmmux_theory.rules.slm_mux`.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import CountDistribution, count_vectors, plurality_kernel

__all__ = ["MuxLevels", "mux_accuracy_from_levels", "mux_levels", "mux_subset_accuracy"]


class MuxLevels(NamedTuple):
    """Per-model law of SLM-MUX's confidence level and of the mode being correct.

    Attributes:
      level: probability of each confidence level, shape [models, questions, levels]; level 0 is
        confidence 0 (no valid answer), higher levels are higher confidences.
      level_correct: probability of (level, mode correct), shape [models, questions, levels].
    """

    level: jnp.ndarray
    level_correct: jnp.ndarray


@functools.lru_cache(maxsize=None)
def _level_table(k: int, num_answers: int, denominator: str):
    vectors = count_vectors(k, num_answers)
    valid = vectors[:, :-1]
    top = valid.max(axis=1)
    if denominator == "k":
        level = top.copy()
        num_levels = k + 1
    else:
        totals = valid.sum(axis=1)
        values = [Fraction(int(t), int(n)) if n > 0 else Fraction(0) for t, n in zip(top, totals)]
        distinct = sorted(set(values) | {Fraction(0)})
        rank = {value: i for i, value in enumerate(distinct)}
        level = np.array([rank[v] for v in values], dtype=np.int64)
        num_levels = len(distinct)
    onehot = np.eye(num_levels)[level]
    # Uniform and first-seen intra-model ties give the same law under i.i.d. sampling (§1.3c).
    correct = plurality_kernel(vectors)
    return onehot, onehot * correct[:, None]


def mux_levels(counts: CountDistribution, denominator: str = "k") -> MuxLevels:
    """Per-model confidence-level laws for SLM-MUX under either confidence denominator."""
    onehot, onehot_correct = _level_table(counts.k, counts.num_answers, denominator)
    return _project_levels(counts.probs, jnp.asarray(onehot), jnp.asarray(onehot_correct))


@jax.jit
def _project_levels(probs, onehot, onehot_correct):
    return MuxLevels(probs @ onehot, probs @ onehot_correct)


def _gauss_legendre_01(num_models: int):
    nodes, weights = np.polynomial.legendre.leggauss(max(1, (num_models + 1) // 2 + 1))
    return jnp.asarray((nodes + 1.0) / 2.0), jnp.asarray(weights / 2.0)


def mux_accuracy_from_levels(levels: MuxLevels, priority, cross_model_tie: str) -> jnp.ndarray:
    """Combine per-model level laws into SLM-MUX's per-question accuracy (METHODS.md §5.3).

    Args:
      levels: from :func:`mux_levels`, arrays [models, questions, levels].
      priority: tie ranks (lower wins), shape [models]; unused for ``"random"``.
      cross_model_tie: ``"validation_accuracy"``/``"model_order"`` (use ``priority``) or
        ``"random"``.

    Returns:
      shape [questions].
    """
    p_level, p_correct = levels
    p_le = jnp.cumsum(p_level, axis=-1)
    p_lt = p_le - p_level
    num_models = p_level.shape[0]
    same = jnp.eye(num_models, dtype=bool)[:, :, None, None]
    if cross_model_tie == "random":
        nodes, weights = _gauss_legendre_01(num_models)
        # E[1/(1+T)] for T tied rivals = ∫_0^1 E[z^T] dz: a polynomial in z, integrated exactly.
        factor = p_lt[None, :, :, :, None] + nodes * p_level[None, :, :, :, None]
        factor = jnp.where(same[..., None], 1.0, factor)
        integral = jnp.prod(factor, axis=1) @ weights
        return jnp.einsum("iql,iql->q", p_correct, integral)
    priority = jnp.asarray(priority)
    before = (priority[None, :] < priority[:, None])[:, :, None, None]
    factor = jnp.where(same, 1.0, jnp.where(before, p_lt[None], p_le[None]))
    return jnp.einsum("iql,iql->q", p_correct, jnp.prod(factor, axis=1))


def mux_subset_accuracy(
    levels: MuxLevels,
    subsets,
    priority,
    cross_model_tie: str = "validation_accuracy",
    batch_size: int = 64,
):
    """SLM-MUX accuracy of many model subsets at once, sharing the per-model level laws.

    Args:
      levels: per-model laws of all candidate models, arrays [models, questions, levels].
      subsets: model indices, shape [subsets, size]; ``-1`` pads smaller subsets.
      priority: tie ranks of the candidate models, shape [models].
      cross_model_tie: as in :func:`mux_accuracy_from_levels`.
      batch_size: subsets evaluated together (vectorised); batches run in sequence to bound
        memory at ``batch_size * size**2 * questions * levels`` floats.

    Returns:
      per-question accuracy, shape [subsets, questions].
    """
    return _mux_subset_accuracy(levels, jnp.asarray(subsets), jnp.asarray(priority),
                                cross_model_tie, batch_size)


@functools.partial(jax.jit, static_argnums=(3, 4))
def _mux_subset_accuracy(levels, subsets, priority, cross_model_tie, batch_size):
    p_level, p_correct = levels
    # A padding model always has confidence 0: it never wins and never blocks a winner.
    dummy = jnp.zeros_like(p_level[:1]).at[..., 0].set(1.0)
    p_level = jnp.concatenate([p_level, dummy])
    p_correct = jnp.concatenate([p_correct, jnp.zeros_like(dummy)])
    priority = jnp.concatenate([priority, jnp.array([1 << 30])])
    subsets = jnp.where(subsets < 0, p_level.shape[0] - 1, subsets)

    def one(subset):
        return mux_accuracy_from_levels(
            MuxLevels(p_level[subset], p_correct[subset]), priority[subset], cross_model_tie
        )

    num_subsets = subsets.shape[0]
    batch = min(batch_size, num_subsets)
    padded = jnp.concatenate(
        [subsets, jnp.full(((-num_subsets) % batch, subsets.shape[1]), p_level.shape[0] - 1)]
    )
    batches = padded.reshape(-1, batch, subsets.shape[1])
    values = jax.lax.map(jax.vmap(one), batches)
    return values.reshape(-1, values.shape[-1])[:num_subsets]
