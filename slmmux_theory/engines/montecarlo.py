"""Monte Carlo accuracy of any rule, for any k, with standard errors.

Samples are drawn from the per-question answer distributions with an explicit key; each rule's
``select`` (:class:`slmmux_theory.rules.rule.Rule`, from the registry) is applied to the resulting
counts (and first-seen positions) exactly as the runner applies it to real samples. This is the
estimator for settings beyond the exact engine's reach (large k, many models, many slots) and
the exact engine's independent check. Engines layer: pure, explicit keys.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from slmmux_theory.distributions import validate_probabilities
from slmmux_theory.rules.registry import get_rule
from slmmux_theory.rules.rule import Rule, RuleContext

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


def rule_function(rule: str | Rule, context: RuleContext | None = None, **options) -> RuleFunction:
    """A function ``(counts [M, A], first_seen [M, A], key) -> (correct [], samples_spent [])``.

    Args:
      rule: a registered name or a :class:`~slmmux_theory.rules.rule.Rule` value.
      context: the rule's options; or give them as keywords (the fields of
        :class:`~slmmux_theory.rules.rule.RuleContext`).
    """
    rule = get_rule(rule)
    if context is None:
        context = RuleContext(**options)
    elif options:
        raise ValueError("give the rule's options either as a context or as keywords, not both")

    def fn(counts, first_seen, key):
        selection = rule.select(counts, first_seen, key, context)
        return selection.answer == 0, selection.samples_spent

    return fn


def monte_carlo_accuracy(
    key,
    rule: str | Rule,
    probs,
    k: int,
    num_draws: int = 2000,
    **rule_options,
) -> MonteCarloResult:
    """Estimate a rule's accuracy by simulation.

    Args:
      key: jax.random key; the same key reproduces the same estimate.
      rule: a name in :data:`slmmux_theory.rules.RULES`, or a Rule value.
      probs: shape [models, questions, answers].
      k: k >= 1.
      num_draws: independent simulated runs over all questions.
      **rule_options: the fields of :class:`~slmmux_theory.rules.rule.RuleContext`.

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
    mapped = _compiled_rule(get_rule(rule), RuleContext(**rule_options))
    return _simulate(key, probs, k, num_draws, mapped)


@functools.lru_cache(maxsize=64)
def _compiled_rule(rule: Rule, context: RuleContext):
    """One jitted, doubly vmapped rule per (rule, options): repeated estimates compile once."""
    return jax.jit(jax.vmap(jax.vmap(rule_function(rule, context))))


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
