"""Per-question upper and lower bounds on SLM-MUX accuracy from the models' answer distributions.

Built only from the single-model laws of :mod:`slmmux_theory.closed.closed_forms` (count vectors of one
model, enumerated exactly), these bounds need no enumeration of the joint count vectors of all
models, so they are cheap for many models. They sandwich the exact value of ``exact.py`` and are
useful as sanity limits and as oracle references ("upper bound" columns of the papers).

Model (METHODS §5.3): on a question, model ``i`` draws ``k`` samples i.i.d. from
``probs[i, q, :]``, independently of the other models; slot 0 is correct, the last slot is ⊥
(never votes). SLM-MUX returns the tie-broken mode ``y_i*`` of the model with the largest top count
``m_i = max_{y != ⊥} C_i(y)`` (confidence ``m_i / k``); an all-⊥ outcome is an abstention
(wrong).

The bounds and why each one is a bound (``P`` = probability over all samples and tie-breaks):

* ``any_sample_correct = 1 - prod_i (1 - pi_i(c))^k`` (upper). SLM-MUX returns the value of one of
  the samples, so a correct output needs at least one correct sample.
* ``any_mode_correct = 1 - prod_i (1 - P(y_i* = c))`` (upper). The output is ``y_{i*}*`` for some
  model ``i*``, so a correct output needs some ``y_i* = c``; models are independent. ``P(y_i* = c)``
  is the single-model plurality accuracy with uniform ties, which is also the law under
  ``first_seen`` (METHODS §1.3(c)). Holds for every confidence denominator and cross-model rule.
* ``all_modes_correct = prod_i P(y_i* = c)`` (lower). If every model's mode is ``c``, whichever
  model is selected returns ``c`` (``y_i* = c`` implies a valid vote, so no abstention). Holds for
  every denominator and every cross-model tie rule.
* ``correct_under_every_tie_resolution`` (lower) and ``correct_under_some_tie_resolution``
  (upper): let ``S = max_i m_i`` and ``I* = {i : m_i = S}``. Every rule that picks some model of
  ``I*`` and some top answer of that model (the paper's validation-accuracy rule, list order,
  random, ``first_seen``, uniform) is correct when ``S > 0`` and ``c`` is the *unique* top answer
  of *every* model in ``I*``, and is wrong unless ``c`` is *a* top answer of *some* model in
  ``I*``. Splitting on ``S = v`` and using independence,

      P(every) = sum_{v>=1} [prod_i (P(m_i < v) + P(m_i = v, c unique top)) - prod_i P(m_i < v)],
      P(some)  = sum_{v>=1} [prod_i P(m_i <= v) - prod_i (P(m_i < v) + P(m_i = v, c not top))],

  since ``{S = v and the condition holds for all (some) i in I*}`` is ``{all m_i <= v with the
  condition on those at v}`` minus ``{all m_i < v}`` (resp. minus ``{all m_i <= v, none at v with
  c on top}``). These two assume the paper's confidence ``m_i / k`` with one ``k`` for all models
  (METHODS §1.3(a)); under the ``valid`` denominator use the first three only.

``lower`` and ``upper`` are the best of each side. Validation happens on concrete inputs before
tracing (see :mod:`slmmux_theory.closed.closed_forms`); ``k`` is static under ``jax.jit``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.closed.closed_forms import (
    multinomial_count_vectors,
    multinomial_log_pmf,
    plurality_win_weights,
)
from slmmux_theory.distributions import validate_probabilities

__all__ = [
    "MuxAccuracyBounds",
    "TopCountLaw",
    "mode_correct_probability",
    "mux_accuracy_bounds",
    "top_count_law",
]


class TopCountLaw(NamedTuple):
    """Joint law of one model's top valid count ``m`` and where the correct answer stands.

    Index ``v`` of the last axis is the event ``m = v`` (``v = 0`` means every sample was ⊥).
    The three arrays sum to 1 over ``v`` and the three fields.

    Attributes:
      correct_unique: ``P(m = v, c is the only top answer)``, shape [models, questions, k + 1].
      correct_tied: ``P(m = v, c is one of >= 2 top answers)``, same shape.
      correct_absent: ``P(m = v, c is not a top answer)``, same shape.
    """

    correct_unique: jnp.ndarray
    correct_tied: jnp.ndarray
    correct_absent: jnp.ndarray


class MuxAccuracyBounds(NamedTuple):
    """Bounds on the per-question SLM-MUX accuracy; see the module docstring for the proofs.

    Attributes:
      any_sample_correct: upper bound (oracle over samples), shape [questions].
      any_mode_correct: upper bound (oracle over the models' modes), shape [questions].
      correct_under_some_tie_resolution: upper bound, shape [questions].
      all_modes_correct: lower bound, shape [questions].
      correct_under_every_tie_resolution: lower bound, shape [questions].
      upper: the smallest upper bound, shape [questions].
      lower: the largest lower bound, shape [questions].
      mode_correct: ``P(y_i* = c)`` per model, shape [models, questions].
    """

    any_sample_correct: jnp.ndarray
    any_mode_correct: jnp.ndarray
    correct_under_some_tie_resolution: jnp.ndarray
    all_modes_correct: jnp.ndarray
    correct_under_every_tie_resolution: jnp.ndarray
    upper: jnp.ndarray
    lower: jnp.ndarray
    mode_correct: jnp.ndarray


def _check(probs, k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        # ValueError rather than TypeError: every bad input gets the one documented error type.
        message = f"k must be a Python int, got {k!r}"
        raise ValueError(message)  # noqa: TRY004
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if not isinstance(probs, jax.core.Tracer):
        validate_probabilities(probs)
    return int(k)


@functools.partial(jax.jit, static_argnums=(1,))
def _top_count_law(probs, k: int) -> TopCountLaw:
    counts = multinomial_count_vectors(k, probs.shape[-1])
    voting = counts[:, :-1]  # the last slot is ⊥ and never votes
    top = voting.max(axis=1)
    number_top = (voting == top[:, None]).sum(axis=1)
    correct_top = (voting[:, 0] == top) & (top > 0)
    level = np.eye(k + 1)[top]  # [vectors, k + 1]: one-hot of the top count
    status = [correct_top & (number_top == 1), correct_top & (number_top > 1), ~correct_top]
    pmf = jnp.exp(multinomial_log_pmf(counts, probs))  # [models, questions, vectors]
    return TopCountLaw(*(pmf @ jnp.asarray(level * s[:, None]) for s in status))


def top_count_law(probs, k: int) -> TopCountLaw:
    """Exact law of each model's top valid count and the correct answer's standing.

    Args:
      probs: answer distributions, shape [models, questions, answers]; last slot ⊥.
      k: ``k >= 1`` (static).

    Returns:
      The law, arrays of shape [models, questions, k + 1].

    >>> law = top_count_law([[[0.5, 0.5, 0.0]]], 2)
    >>> [round(float(x), 6) for x in law.correct_unique[0, 0]]
    [0.0, 0.0, 0.25]
    """
    k = _check(probs, k)
    return _top_count_law(jnp.asarray(probs, dtype=jnp.float64), k)


@functools.partial(jax.jit, static_argnums=(1,))
def _mode_correct(probs, k: int):
    counts = multinomial_count_vectors(k, probs.shape[-1])
    weights = plurality_win_weights(counts, abstention_slot=True)
    return jnp.exp(multinomial_log_pmf(counts, probs)) @ jnp.asarray(weights)


def mode_correct_probability(probs, k: int):
    """``P(y_i* = c)``: each model's self-consistency (plurality) accuracy, uniform ties, ⊥ last.

    Args:
      probs: shape [models, questions, answers].
      k: ``k >= 1``.

    Returns:
      Shape [models, questions].

    >>> round(float(mode_correct_probability([[[0.6, 0.2, 0.2, 0.0]]], 3)[0, 0]), 6)
    0.696
    """
    k = _check(probs, k)
    return _mode_correct(jnp.asarray(probs, dtype=jnp.float64), k)


@functools.partial(jax.jit, static_argnums=(1,))
def _bounds(probs, k: int) -> MuxAccuracyBounds:
    mode_correct = _mode_correct(probs, k)
    law = _top_count_law(probs, k)
    at_level = law.correct_unique + law.correct_tied + law.correct_absent
    below = jnp.cumsum(at_level, axis=-1) - at_level  # P(m_i < v)
    at_most = below + at_level  # P(m_i <= v)
    levels = slice(1, None)  # S = 0 is an abstention, never correct
    every = (
        jnp.prod(below + law.correct_unique, axis=0)[..., levels]
        - jnp.prod(below, axis=0)[..., levels]
    ).sum(axis=-1)
    some = (
        jnp.prod(at_most, axis=0)[..., levels]
        - jnp.prod(below + law.correct_absent, axis=0)[..., levels]
    ).sum(axis=-1)
    any_sample = 1.0 - jnp.prod((1.0 - probs[..., 0]) ** k, axis=0)
    any_mode = 1.0 - jnp.prod(1.0 - mode_correct, axis=0)
    all_modes = jnp.prod(mode_correct, axis=0)
    return MuxAccuracyBounds(
        any_sample_correct=any_sample,
        any_mode_correct=any_mode,
        correct_under_some_tie_resolution=some,
        all_modes_correct=all_modes,
        correct_under_every_tie_resolution=every,
        upper=jnp.minimum(jnp.minimum(any_sample, any_mode), some),
        lower=jnp.maximum(all_modes, every),
        mode_correct=mode_correct,
    )


def mux_accuracy_bounds(probs, k: int) -> MuxAccuracyBounds:
    """Upper and lower bounds on the per-question SLM-MUX accuracy with ``k`` samples per model.

    Args:
      probs: answer distributions, shape [models, questions, answers]; slot 0 correct, last slot
        ⊥, wrong slots shared across models.
      k: ``k >= 1`` (static).

    Returns:
      The bounds, each of shape [questions] (``mode_correct``: [models, questions]).

    Raises:
      ValueError: for ``k < 1`` or a concrete ``probs`` of the wrong shape, outside [0, 1] or not
        summing to 1.

    Example (METHODS §5.5, exact SLM-MUX 0.337296 whatever the priority rule):

    >>> probs = [[[0.6, 0.2, 0.2, 0.0]], [[0.1, 0.9, 0.0, 0.0]]]
    >>> bounds = mux_accuracy_bounds(probs, 3)
    >>> bool(bounds.lower[0] <= 0.080056 and 0.337296 <= bounds.upper[0])
    True
    """
    k = _check(probs, k)
    return _bounds(jnp.asarray(probs, dtype=jnp.float64), k)
