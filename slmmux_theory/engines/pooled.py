"""Pooled count laws: the law of the sum of the models' count vectors (engines layer).

Agent Forest's uniform-tie plurality depends on the pooled count vector only, so its exact law is
a convolution of the models' count laws (:func:`pooled_uniform_accuracy`); with two models a
V x V kernel of summed vectors is cheaper (:func:`pooled_vote_accuracy_batched`). The rule value
is :mod:`slmmux_theory.rules.agent_forest`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import CountDistribution, count_vectors, plurality_kernel

__all__ = ["pooled_uniform_accuracy", "pooled_vote_accuracy_batched"]


@functools.lru_cache(maxsize=None)
def _sum_tables(k: int, num_answers: int, num_models: int):
    """Index tables adding one model's count vector to the pooled vector of the previous ones."""
    step = count_vectors(k, num_answers)
    base = num_models * k + 1
    radix = base ** np.arange(num_answers)
    tables = []
    for total_models in range(2, num_models + 1):
        before = count_vectors((total_models - 1) * k, num_answers)
        after = count_vectors(total_models * k, num_answers)
        after_codes = after @ radix
        order = np.argsort(after_codes)
        sums = (before[:, None, :] + step[None, :, :]) @ radix
        index = order[np.searchsorted(after_codes[order], sums)]
        tables.append(index)
    return tables


def pooled_vote_accuracy_batched(count_probs, k: int, num_answers: int) -> jnp.ndarray:
    """Agent Forest (uniform ties) for many model groups of equal size at once.

    Args:
      count_probs: count-vector laws, shape [groups, models, questions, vectors].
      k: k.
      num_answers: A.

    Returns:
      shape [groups, questions].
    """
    count_probs = jnp.asarray(count_probs)
    if count_probs.shape[1] == 2:
        # Two models: contracting against the V x V kernel of summed vectors is far cheaper
        # than convolving into the pooled-vector space.
        return _pair_contract(count_probs, jnp.asarray(_pair_kernel(k, num_answers)))
    return jnp.stack([pooled_uniform_accuracy(CountDistribution(p, k, num_answers))
                      for p in count_probs])


@functools.lru_cache(maxsize=16)
def _pair_kernel(k: int, num_answers: int) -> np.ndarray:
    vectors = count_vectors(k, num_answers)
    kernel = np.empty((len(vectors), len(vectors)))
    block = max(1, 2_000_000 // (len(vectors) * num_answers))  # bounds the summed block's memory
    for start in range(0, len(vectors), block):
        summed = vectors[start : start + block, None, :] + vectors[None, :, :]
        kernel[start : start + block] = plurality_kernel(summed.reshape(-1, num_answers)).reshape(
            -1, len(vectors))
    return kernel


@jax.jit
def _pair_contract(count_probs, kernel):
    return jnp.einsum("gqa,gqb,ab->gq", count_probs[:, 0], count_probs[:, 1], kernel)


def pooled_uniform_accuracy(counts: CountDistribution) -> jnp.ndarray:
    """Convolve the models' count laws into the pooled count law; apply uniform-tie plurality.

    Args:
      counts: per-model count laws, probs shape [models, questions, vectors].

    Returns:
      P(the pooled plurality picks the correct slot), shape [questions].

    Index tables and the kernel are passed as arguments, not baked into the compiled program:
    XLA would otherwise spend seconds constant-folding them.
    """
    k, num_answers = counts.k, counts.num_answers
    num_models = counts.probs.shape[0]
    tables = [jnp.asarray(t) for t in _sum_tables(k, num_answers, num_models)]
    sizes = tuple(count_vectors((m + 1) * k, num_answers).shape[0] for m in range(1, num_models))
    kernel = jnp.asarray(plurality_kernel(count_vectors(num_models * k, num_answers)))
    return _pooled_uniform(counts.probs, tables, kernel, sizes)


@functools.partial(jax.jit, static_argnums=3)
def _pooled_uniform(probs, tables, kernel, sizes):
    pooled = probs[0]
    for model, (table, size) in enumerate(zip(tables, sizes), start=1):

        def add(pair, table=table, size=size):
            before, step = pair
            return jnp.zeros(size).at[table].add(before[:, None] * step[None, :])

        pooled = jax.lax.map(add, (pooled, probs[model]))
    return pooled @ kernel
