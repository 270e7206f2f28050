"""Monte Carlo accuracy of any rule, for any k, with standard errors.

Samples are drawn from the per-question answer distributions with an explicit key; each rule's
``select`` (:class:`slmmux_theory.rules.rule.Rule`, from the registry) is applied to the resulting
counts (and first-seen positions) exactly as the runner applies it to real samples. This is the
estimator for settings beyond the exact engine's reach (large k, many models, many slots) and
the exact engine's independent check. Engines layer: pure, explicit keys.

Memory is bounded whatever ``num_draws`` is: the draws are simulated in chunks of at most
``max_elements`` entries of the one-hot sample array ``[draws, questions, models, k, answers]``
(:data:`MAX_ELEMENTS` by default: about 1 GB at the peak, measured for 3 models x 30 questions
x 8 answers at k = 8, the Gumbel noise of the draw, the one-hot array and its positions), each
chunk with its own key from ``jax.random.split``, and only running sums are kept. One chunk (the default for every size that fits) gives exactly the unchunked result;
several give an estimate equal in law.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from slmmux_theory.distributions import validate_probabilities
from slmmux_theory.rules.registry import get_rule
from slmmux_theory.rules.rule import Rule, RuleContext

__all__ = ["MAX_ELEMENTS", "MonteCarloResult", "chunk_draws", "draw_samples",
           "monte_carlo_accuracy", "rule_function"]

MAX_ELEMENTS = 2**25
"""Default bound on the entries of one chunk's one-hot array ``[draws, questions, models, k,
answers]`` (about 1 GB of working memory at the peak)."""


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
    *,
    max_elements: int = MAX_ELEMENTS,
    **rule_options,
) -> MonteCarloResult:
    """Estimate a rule's accuracy by simulation.

    Args:
      key: jax.random key; the same key reproduces the same estimate.
      rule: a name in :data:`slmmux_theory.rules.RULES`, or a Rule value.
      probs: shape [models, questions, answers].
      k: k >= 1.
      num_draws: independent simulated runs over all questions.
      max_elements: memory bound: at most this many entries of the one-hot sample array per
        chunk of draws (see :func:`chunk_draws`; a chunk holds at least one draw).
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
    models, questions, answers = probs.shape
    if models * questions * answers * k > max_elements:
        raise ValueError(f"one draw needs {models * questions * answers * k} entries "
                         f"(models x questions x answers x k), above max_elements={max_elements}")
    chunk = chunk_draws(probs.shape, k, num_draws, max_elements)
    if chunk == num_draws:
        return _result(*_simulate(key, probs, k, num_draws, mapped))
    sizes = [chunk] * (num_draws // chunk) + ([num_draws % chunk] if num_draws % chunk else [])
    totals = None
    for chunk_key, size in zip(jax.random.split(key, len(sizes)), sizes):
        sums = _simulate(chunk_key, probs, k, size, mapped)
        totals = sums if totals is None else _merge(totals, sums)
    return _result(*totals)


def chunk_draws(shape, k: int, num_draws: int, max_elements: int = MAX_ELEMENTS) -> int:
    """Draws per chunk: as many as keep ``[draws, questions, models, k, answers]`` within
    ``max_elements`` entries (at least 1, at most ``num_draws``).

    Args:
      shape: the shape [models, questions, answers] of the answer distributions.
      k: samples per model.
      num_draws: draws wanted in all.
      max_elements: the bound on one chunk's entries.

    >>> chunk_draws((2, 10, 4), 5, 10**9, max_elements=4000)
    10
    """
    models, questions, answers = shape
    per_draw = max(1, models * questions * answers * k)
    return int(max(1, min(num_draws, max_elements // per_draw)))


@functools.lru_cache(maxsize=64)
def _compiled_rule(rule: Rule, context: RuleContext):
    """One jitted, doubly vmapped rule per (rule, options): repeated estimates compile once."""
    return jax.jit(jax.vmap(jax.vmap(rule_function(rule, context))))


def _simulate(key, probs, k, num_draws, fn) -> _Sums:
    """One chunk of ``num_draws`` draws, as the sums :func:`_merge` pools."""
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
    mean = per_draw.mean()
    return _Sums(num_draws, correct.sum(axis=0), spent.astype(jnp.float64).sum(axis=0), mean,
                 jnp.square(per_draw - mean).sum())


class _Sums(NamedTuple):
    """What a chunk of draws contributes: its size, the correct answers and samples spent per
    question summed over its draws [Q], and its per-draw accuracies' mean and sum of squared
    deviations []."""

    draws: int
    correct: jnp.ndarray
    spent: jnp.ndarray
    mean: jnp.ndarray
    squares: jnp.ndarray


def _merge(a: _Sums, b: _Sums) -> _Sums:
    """Pool two chunks (Chan et al.'s pairwise update of the mean and squared deviations)."""
    draws = a.draws + b.draws
    delta = b.mean - a.mean
    return _Sums(draws, a.correct + b.correct, a.spent + b.spent,
                 a.mean + delta * b.draws / draws,
                 a.squares + b.squares + delta**2 * a.draws * b.draws / draws)


def _result(draws, correct, spent, mean, squares) -> MonteCarloResult:
    per_question = correct / draws
    return MonteCarloResult(
        accuracy=mean,
        standard_error=jnp.sqrt(squares / (draws - 1) / draws),
        per_question=per_question,
        per_question_standard_error=jnp.sqrt(per_question * (1 - per_question) / draws),
        expected_samples=spent / draws,
    )
