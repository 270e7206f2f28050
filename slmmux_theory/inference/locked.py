"""Locked rows: the two-component mixtures of the answer model's per-(model, question) law.

Place in the layers: pure theory (JAX only), below :mod:`answer_model` and :mod:`predict`,
which use it when ``AnswerModelConfig(locked_rows=True)`` or ``locked_split=True``. A level of
the Dirichlet tree (the (correct, wrong, ⊥) shares, or the split of the wrong mass over the
wrong answers) is drawn from

    (1 - w) Dirichlet(α_free) + w Dirichlet(α_locked),

the first component the model's usual law, the second a "locked" one: a row that is nearly
always right or always wrong whatever the question's shared easiness (top level), or nearly
always on one wrong answer (wrong split). The indicator is marginalised in the likelihood
(:func:`mixture_log_likelihood`) and drawn from its posterior in the predictive
(:func:`locked_posterior_logit`, Bayes' rule with the two Dirichlet-multinomial probabilities).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

__all__ = ["locked_posterior_logit", "mixture_log_likelihood", "row_log_probs"]

# Dirichlet parameters below this are raised to it (an underflowed stick product).
_TINY = 1e-30


def row_log_probs(counts, alpha):
    """Dirichlet-multinomial log-probability of each row without its multinomial coefficient,
    log[B(n + α) / B(α)]: what a mixture of Dirichlet laws over the same counts compares.

    Args:
      counts: whole-number counts, shape [..., categories]; an all-zero row gives 0.
      alpha: positive Dirichlet parameters, broadcastable with ``counts``.

    Returns:
      shape [...] (the broadcast shape without the last axis).

    >>> round(float(jnp.exp(row_log_probs(jnp.array([1.0, 0.0]), jnp.array([1.0, 1.0])))), 12)
    0.5
    """
    counts, alpha = jnp.broadcast_arrays(jnp.asarray(counts, dtype=jnp.result_type(float)),
                                         jnp.maximum(jnp.asarray(alpha), _TINY))
    # Zero-count slots cancel exactly; masking avoids rounding of lgamma(α) - lgamma(α).
    per_slot = jnp.where(counts > 0, gammaln(counts + alpha) - gammaln(alpha), 0.0)
    total_alpha = alpha.sum(-1)
    return per_slot.sum(-1) - (gammaln(counts.sum(-1) + total_alpha) - gammaln(total_alpha))


def locked_posterior_logit(counts, free_alpha, locked_logit, locked_alpha):
    """Log-odds that a row is locked given its counts: prior log-odds plus the log-ratio of the
    two components' Dirichlet-multinomial probabilities (Bayes' rule).

    Args:
      counts: the level's counts, shape [..., categories] (zeros: the prior log-odds).
      free_alpha: the first component's parameters, broadcastable with ``counts``.
      locked_logit: logit w, broadcastable to [...].
      locked_alpha: the locked component's parameters, broadcastable with ``counts``.

    Returns:
      shape [...].

    >>> float(locked_posterior_logit(jnp.zeros(3), jnp.ones(3), -2.0, jnp.ones(3)))
    -2.0
    """
    return (jnp.asarray(locked_logit) + row_log_probs(counts, locked_alpha)
            - row_log_probs(counts, free_alpha))


def mixture_log_likelihood(counts, free_alpha, locked_alpha, locked_logit):
    """Σ over rows of log[(1 - w) B(n + α_free)/B(α_free) + w B(n + α_locked)/B(α_locked)]
    (multinomial coefficients left out: both components share them).

    Args:
      counts: shape [..., categories]; all-zero rows add 0.
      free_alpha, locked_alpha: broadcastable with ``counts``.
      locked_logit: logit w, broadcastable to [...].

    Returns:
      shape [].

    >>> round(float(mixture_log_likelihood(jnp.array([1.0, 0.0]), jnp.ones(2), jnp.ones(2), 0.0)), 6)
    -0.693147
    """
    logit = jnp.asarray(locked_logit)
    return jnp.logaddexp(jax.nn.log_sigmoid(-logit) + row_log_probs(counts, free_alpha),
                         jax.nn.log_sigmoid(logit) + row_log_probs(counts, locked_alpha)).sum()
