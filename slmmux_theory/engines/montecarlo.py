"""Monte Carlo accuracy of any rule, for any k, with standard errors.

Samples are drawn from the per-question answer distributions with an explicit key; the rules of
:mod:`slmmux_theory.rules.base` are applied to the resulting counts (and first-seen positions) exactly
as the runner applies them to real samples. This is the estimator for settings beyond the exact
engine's reach (large k, many models, many slots) and the exact engine's independent check.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.distributions import validate_probabilities
from slmmux_theory.rules.base import (
    MuxConfig,
    SwitchConfig,
    confidence_weighted_vote,
    model_switch_select,
    mux_select,
    oracle_any_mode,
    oracle_any_sample,
    plurality_vote,
    pooled_vote,
    tie_priority,
)

__all__ = ["MonteCarloResult", "draw_samples", "monte_carlo_accuracy", "rule_function"]


class MonteCarloResult(NamedTuple):
    """Monte Carlo estimate of a rule's accuracy.

    Attributes:
      accuracy: mean over questions and draws, shape [].
      standard_error: standard error of ``accuracy`` over the independent draws, shape [].
      per_question: estimated probability of a correct answer, shape [questions].
      per_question_standard_error: its binomial standard error, shape [questions].
      expected_samples: mean samples spent per question, shape [questions].
    """

    accuracy: jnp.ndarray
    standard_error: jnp.ndarray
    per_question: jnp.ndarray
    per_question_standard_error: jnp.ndarray
    expected_samples: jnp.ndarray


def draw_samples(key, probs, k: int, num_draws: int):
    """Draw sample sequences: slot indices, shape [draws, questions, models, samples]."""
    logits = jnp.log(jnp.asarray(probs))  # [models, questions, answers]
    shape = (num_draws, logits.shape[1], logits.shape[0], k)
    return jax.random.categorical(key, jnp.swapaxes(logits, 0, 1)[None, :, :, None, :], shape=shape)


RuleFunction = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray], tuple]


def rule_function(
    rule: str,
    *,
    mux_config: MuxConfig = MuxConfig(),
    switch_config: SwitchConfig = SwitchConfig(),
    validation_accuracy=None,
    prior_weights=None,
    pooled_tie: str = "random",
    num_models: int,
) -> RuleFunction:
    """A function ``(counts [M, A], first_seen [M, A], key) -> (correct, samples_spent)``."""
    priority = jnp.asarray(tie_priority(validation_accuracy, num_models))
    if mux_config.cross_model_tie == "model_order":
        priority = jnp.arange(num_models)

    def spent_all(counts):
        return counts.sum()

    if rule == "slm-mux":
        def fn(counts, first_seen, key):
            out = mux_select(counts, priority, key, mux_config, first_seen)
            return out.answer == 0, spent_all(counts)
    elif rule == "agent-forest":
        def fn(counts, first_seen, key):
            return pooled_vote(counts, key, pooled_tie, first_seen).answer == 0, spent_all(counts)
    elif rule == "self-consistency":
        def fn(counts, first_seen, key):
            out = plurality_vote(counts[0], key, "random", first_seen[0])
            return out.answer == 0, counts[0].sum()
    elif rule == "oracle":
        def fn(counts, first_seen, key):
            return oracle_any_mode(counts, key, "random"), spent_all(counts)
    elif rule == "oracle-any-sample":
        def fn(counts, first_seen, key):
            return oracle_any_sample(counts), spent_all(counts)
    elif rule == "confidence-weighted":
        def fn(counts, first_seen, key):
            out = confidence_weighted_vote(counts, key, mux_config, first_seen, priority)
            return out.answer == 0, spent_all(counts)
    elif rule == "model-switch":
        def fn(counts, first_seen, key):
            out = model_switch_select(counts, prior_weights, key, switch_config, first_seen)
            return out.answer == 0, out.samples_spent
    else:
        raise ValueError(f"unknown rule {rule!r}")
    return fn


def monte_carlo_accuracy(
    key,
    rule: str,
    probs,
    k: int,
    num_draws: int = 2000,
    **rule_options,
) -> MonteCarloResult:
    """Estimate a rule's accuracy by simulation.

    Args:
      key: jax.random key; the same key reproduces the same estimate.
      rule: one of :data:`slmmux_theory.engines.exact.RULES`.
      probs: shape [models, questions, answers].
      k: k >= 1.
      num_draws: independent simulated runs over all questions.
      **rule_options: forwarded to :func:`rule_function`.

    >>> import jax, numpy as np
    >>> probs = np.array([[[0.6, 0.2, 0.2, 0.0]], [[0.1, 0.9, 0.0, 0.0]]])
    >>> result = monte_carlo_accuracy(jax.random.PRNGKey(0), "slm-mux", probs, 3, 4000)
    >>> abs(float(result.accuracy) - 0.337296) < 4 * float(result.standard_error)
    True
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if num_draws < 2:
        raise ValueError(f"num_draws must be >= 2, got {num_draws}")
    probs = jnp.asarray(validate_probabilities(probs))
    num_models = probs.shape[0]
    options = tuple(sorted((name, _hashable(value)) for name, value in rule_options.items()))
    mapped = _compiled_rule(rule, num_models, options)
    return _simulate(key, probs, k, num_draws, mapped)


def _hashable(value):
    if isinstance(value, (list, tuple, np.ndarray, jnp.ndarray)):
        return tuple(float(v) for v in np.asarray(value).ravel())
    return value


@functools.lru_cache(maxsize=64)
def _compiled_rule(rule, num_models, options):
    """One jitted, doubly vmapped rule per (rule, options): repeated estimates compile once."""
    fn = rule_function(rule, num_models=num_models, **dict(options))
    return jax.jit(jax.vmap(jax.vmap(fn)))


def _simulate(key, probs, k, num_draws, fn):
    sample_key, rule_key = jax.random.split(key)
    samples = draw_samples(sample_key, probs, k, num_draws)
    num_answers = probs.shape[-1]
    onehot = jax.nn.one_hot(samples, num_answers, dtype=jnp.int32)  # [D, Q, M, k, A]
    counts = onehot.sum(axis=-2)
    positions = jnp.where(onehot > 0, jnp.arange(k)[:, None], k)
    first_seen = positions.min(axis=-2)
    keys = jax.random.split(rule_key, samples.shape[0] * samples.shape[1]).reshape(
        samples.shape[0], samples.shape[1], -1
    )
    correct, spent = fn(counts, first_seen, keys)
    correct = correct.astype(jnp.float64)
    per_draw = correct.mean(axis=1)
    per_question = correct.mean(axis=0)
    num_draws = correct.shape[0]
    return MonteCarloResult(
        accuracy=per_draw.mean(),
        standard_error=per_draw.std(ddof=1) / jnp.sqrt(num_draws),
        per_question=per_question,
        per_question_standard_error=jnp.sqrt(per_question * (1 - per_question) / num_draws),
        expected_samples=spent.astype(jnp.float64).mean(axis=0),
    )
