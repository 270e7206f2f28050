"""Enumeration of tuples of per-model count vectors and their contraction (engines layer).

Rules whose decision couples the models' full count vectors (ModelSwitch, Agent Forest with
first-seen ties, the confidence-weighted vote) are computed by a kernel over every tuple of count
vectors, contracted against the models' count laws: ``Σ_tuples Π_m P_m(v_m) · kernel(v_1..v_M)``.
The cost is the product of the models' count-vector numbers, so this serves a few models only.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import CountDistribution, count_vectors

__all__ = ["contract", "first_seen_share", "product_accuracy", "product_counts"]

_MAX_PRODUCT = 20_000_000


def product_counts(k_per_model, num_answers):
    """All tuples of per-model count vectors.

    Args:
      k_per_model: each model's number of samples, length [models].
      num_answers: A.

    Returns:
      (tuples [tuples, models, answers], per-model vector numbers [models]); the tuples run
      over the models' vector indices in C order, so a kernel over them reshapes to that grid.

    Raises:
      ValueError: when the product exceeds the enumeration limit.
    """
    tables = [count_vectors(k, num_answers) for k in k_per_model]
    size = math.prod(t.shape[0] for t in tables)
    if size > _MAX_PRODUCT:
        raise ValueError(
            f"exact enumeration needs {size:,} count-vector tuples (limit {_MAX_PRODUCT:,}); "
            "use fewer models, fewer samples or answer slots, or the Monte Carlo estimator"
        )
    grids = np.meshgrid(*[np.arange(t.shape[0]) for t in tables], indexing="ij")
    stacked = [tables[m][grids[m].ravel()] for m in range(len(tables))]
    return np.stack(stacked, axis=1), [t.shape[0] for t in tables]


def contract(weights_per_model, kernel, shape):
    """Σ over tuples of Π_m w_m[q, v_m] · kernel[v_1..v_M] for every question.

    Args:
      weights_per_model: per model, count-vector probabilities [questions, vectors_m].
      kernel: one value per tuple, shape [tuples] (the order of :func:`product_counts`).
      shape: the per-model vector numbers [models].

    Returns:
      shape [questions].
    """
    letters = "abcdefghijklmnop"[: len(shape)]
    spec = ",".join(f"q{c}" for c in letters) + f",{letters}->q"
    return jnp.einsum(spec, *weights_per_model, jnp.asarray(kernel).reshape(shape), optimize="optimal")


def product_accuracy(counts: CountDistribution, kernel_fn, **kernel_options):
    """Contract a tuple kernel against the models' count laws (all models at ``counts.k``).

    Args:
      counts: per-model count laws, probs shape [models, questions, vectors].
      kernel_fn: ``(tuples [tuples, models, answers], **kernel_options) -> (P(correct) [tuples],
        samples spent [tuples])``.
      **kernel_options: forwarded to ``kernel_fn``.

    Returns:
      (P(correct) [questions], expected samples spent [questions]).
    """
    num_models = counts.probs.shape[0]
    tuples, shape = product_counts((counts.k,) * num_models, counts.num_answers)
    correct, spent = kernel_fn(tuples, **kernel_options)
    weights = [counts.probs[m] for m in range(num_models)]
    return contract(weights, correct, shape), contract(weights, spent, shape)


def first_seen_share(tuples, is_top):
    """P(correct) under first-seen ties: the first model holding a tied answer decides.

    Args:
      tuples: shape [tuples, models, answers].
      is_top: which valid answers are tied for the top score, shape [tuples, answers - 1].

    Returns:
      shape [tuples].

    Within that model, samples are exchangeable, so its first tied sample is answer ``a`` with
    probability ``c_m(a) / Σ_{b tied} c_m(b)``.
    """
    valid = tuples[:, :, :-1]
    tied_counts = (valid * is_top[:, None, :]).sum(axis=2)  # [T, M]
    has = tied_counts > 0
    first = np.argmax(has, axis=1)
    rows = np.arange(tuples.shape[0])
    decider = valid[rows, first]  # [T, A-1]
    share = decider[:, 0] * is_top[:, 0] / np.maximum(tied_counts[rows, first], 1)
    return np.where(has.any(axis=1), share, 0.0)
