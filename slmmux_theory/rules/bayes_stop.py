"""Bayes-factor adaptive stopping, alone and across models, as rule values (METHODS.md §12.1).

Samples are drawn one at a time; after each, the rule asks whether the leading answer is
settled and stops when its Bayes factor reaches ``context.stop_threshold`` or at the cap (``k``
samples per model). Best-of-∞ draws ``θ ~ Dirichlet(c + 1)`` over the answer counts ``c`` plus
an "unseen answer" bucket of pseudo-count ``u = 0.3`` and estimates by Monte Carlo the chance
that the leader has the largest ``θ``. We use the deterministic pairwise version of that
posterior: the probability that the leader beats the runner-up (the unseen bucket when only one
answer was seen), which under ``Dirichlet(c + 1)`` is exactly a Beta tail::

    P = P(X > 1/2),  X ~ Beta(c_lead + 1, max(c_second + 1, u + 1)),   BF = P / (1 - P)

(the posterior odds of leader over runner-up under equal prior odds). It is jit-able, needs no
inner Monte Carlo, and can be checked by hand: ``c = (1, 0)``, ``u = 0`` gives ``Beta(2, 1)``,
``P = 3/4``, ``BF = 3``.

* :data:`BAYES_STOP`: one model (the first; the runner puts the validation-best model first).
* :data:`BAYES_STOP_MODELS`: models in a fixed order (the tie ranks, i.e. validation accuracy):
  the first model's samples one by one, then the second's, ... with the counts pooled; the
  answer is the leader when the factor passes, else the pooled plurality at the cap.

Both depend on the order of the samples: ``select_sequence`` reads it; ``select`` applies it to a
uniformly random order of the counts (the same law for exchangeable samples). The exact law
(:mod:`slmmux_theory.rules.bayes_stop_exact`) averages over every order. ``learn`` picks the
threshold on validation questions. Rules layer: pure.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc

from slmmux_theory.rules.base import _vote, draw_from_row
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, SequenceSelection

__all__ = [
    "BAYES_STOP",
    "BAYES_STOP_MODELS",
    "STOP_THRESHOLDS",
    "bayes_factor",
    "bayes_factor_table",
    "stop_on_sequence",
]

STOP_THRESHOLDS = (2.0, 5.0, 7.0, 10.0, 30.0, 100.0, 300.0)
"""Best-of-∞'s threshold grid, scanned by ``learn``."""


def bayes_factor(valid_counts, unknown_weight: float = 0.3) -> jnp.ndarray:
    """Posterior odds that the leading answer beats the runner-up, shape [...].

    Args:
      valid_counts: counts of the valid answers (no ⊥), shape [..., answers].
      unknown_weight: pseudo-count of the unseen-answer bucket.

    >>> [round(float(bayes_factor(jnp.array(c), 0.0)), 6) for c in ([1, 0], [2, 0], [2, 1])]
    [3.0, 7.0, 2.2]
    """
    counts = jnp.asarray(valid_counts, dtype=jnp.float64)
    top2 = jax.lax.top_k(counts, 2)[0] if counts.shape[-1] > 1 else jnp.concatenate(
        [counts, jnp.zeros_like(counts)], axis=-1)
    lead = top2[..., 0] + 1.0
    runner = jnp.maximum(top2[..., 1] + 1.0, unknown_weight + 1.0)
    below = betainc(lead, runner, 0.5)  # P(X <= 1/2)
    return (1.0 - below) / jnp.maximum(below, 1e-300)


def bayes_factor_table(max_count: int, unknown_weight: float = 0.3) -> jnp.ndarray:
    """:func:`bayes_factor` of every (leader, runner-up) count pair up to ``max_count``,
    shape [max_count + 1, max_count + 1]: along a sequence the factor is a table look-up.

    >>> round(float(bayes_factor_table(2, 0.0)[2, 1]), 6)
    2.2
    """
    lead = jnp.arange(max_count + 1, dtype=jnp.float64)
    pairs = jnp.stack(jnp.broadcast_arrays(lead[:, None], lead[None, :]), axis=-1)
    return bayes_factor(pairs, unknown_weight)


def stop_on_sequence(sequence, num_answers: int, threshold: float, unknown_weight: float, key):
    """Run the stopping rule along one pooled sequence of samples.

    Args:
      sequence: slot indices in drawing order, int [T]; ``-1`` is a missing sample (skipped).
      num_answers: A (last slot ⊥: spent, but no vote).
      threshold: stop when the Bayes factor reaches it.
      unknown_weight: pseudo-count of the unseen-answer bucket.
      key: jax.random key for a tied plurality at the cap.

    Returns:
      (answer [], positions consumed [] (the stop position + 1, or T)).

    >>> answer, used = stop_on_sequence(jnp.array([1, 1, 0, 0]), 3, 5.0, 0.0, jax.random.PRNGKey(0))
    >>> int(answer), int(used)
    (1, 2)
    """
    sequence = jnp.asarray(sequence)
    onehot = (sequence[:, None] == jnp.arange(num_answers - 1)).astype(jnp.float64)
    prefix = jnp.cumsum(onehot, axis=0)  # [T, A-1]
    length = sequence.shape[0]
    top2 = jax.lax.top_k(prefix, 2)[0].astype(jnp.int32) if num_answers > 2 else jnp.concatenate(
        [prefix, jnp.zeros_like(prefix)], axis=1).astype(jnp.int32)
    factor = bayes_factor_table(length, unknown_weight)[top2[:, 0], top2[:, 1]]
    passes = (factor >= threshold) & (sequence < num_answers - 1) & (sequence >= 0)
    stop = jnp.where(passes.any(), jnp.argmax(passes), length - 1)
    counts = prefix[stop]
    choice, _, valid, _ = _vote(counts, key, "random", None)
    return jnp.where(valid, choice, num_answers - 1), stop + 1


def _model_order(context: RuleContext, num_models: int) -> jnp.ndarray:
    return jnp.argsort(context.tie_ranks(num_models), stable=True)


def _sequence_select(samples, key, context: RuleContext, num_answers: int, first_only: bool):
    samples = jnp.asarray(samples)
    num_models, k = samples.shape
    order = jnp.arange(1) if first_only else _model_order(context, num_models)
    ordered = samples[order]
    answer, used = stop_on_sequence(ordered.reshape(-1), num_answers, context.stop_threshold,
                                    context.stop_unknown_weight, key)
    position = jnp.arange(ordered.size).reshape(ordered.shape)
    spent_ordered = ((position < used) & (ordered >= 0)).sum(axis=1)
    spent = jnp.zeros(num_models, dtype=spent_ordered.dtype).at[order].set(spent_ordered)
    return SequenceSelection(answer, spent)


def _random_order_select(counts, key, context: RuleContext, first_only: bool) -> Selection:
    """The rule on a uniformly random order of each model's counted samples (drawn one by one
    without replacement, models in rule order)."""
    counts = jnp.asarray(counts)
    num_models, num_answers = counts.shape
    order = jnp.arange(1) if first_only else _model_order(context, num_models)
    remaining = counts[order].astype(jnp.float64)  # [M', A]
    draw_key, tie_key = jax.random.split(key)

    def not_done(state):
        _, position, _, _, done, _ = state
        return (~done) & (position < remaining.shape[0])

    def step(state):
        left, position, pooled, spent, done, step_key = state
        step_key, sub = jax.random.split(step_key)
        left, take, empty, answer = draw_from_row(left, position, sub, num_answers)
        pooled = pooled + take
        spent = spent + (~empty)
        is_valid = answer < num_answers - 1
        passes = (~empty) & is_valid & (
            bayes_factor(pooled[:-1], context.stop_unknown_weight) >= context.stop_threshold)
        return left, position + empty, pooled, spent, passes, step_key

    state = (remaining, jnp.asarray(0), jnp.zeros(num_answers), jnp.asarray(0.0),
             jnp.asarray(False), draw_key)
    _, _, pooled, spent, _, _ = jax.lax.while_loop(not_done, step, state)
    choice, _, valid, _ = _vote(pooled[:-1], tie_key, "random", None)
    return Selection(jnp.where(valid, choice, num_answers - 1), spent)


def _select_one(counts, first_seen, key, context):
    return _random_order_select(counts, key, context, True)


def _select_models(counts, first_seen, key, context):
    return _random_order_select(counts, key, context, False)


def _sequence_one(samples, key, context, num_answers):
    return _sequence_select(samples, key, context, num_answers, True)


def _sequence_models(samples, key, context, num_answers):
    return _sequence_select(samples, key, context, num_answers, False)


def _exact_one(counts, context):
    from slmmux_theory.rules.bayes_stop_exact import bayes_stop_exact

    return bayes_stop_exact(counts, context, first_only=True)


def _exact_models(counts, context):
    from slmmux_theory.rules.bayes_stop_exact import bayes_stop_exact

    return bayes_stop_exact(counts, context, first_only=False)


def _cost_one(counts, context):
    return _exact_one(counts, context).expected_samples


def _cost_models(counts, context):
    return _exact_models(counts, context).expected_samples


def _learn(context: RuleContext, samples, num_answers: int, k: int, key=None, *, rule=None):
    """The cheapest threshold of :data:`STOP_THRESHOLDS` whose validation accuracy is within
    half a point of the best one's (replayed by subsampling k of the samples, 16 draws; the
    draws are padded to a multiple of 4 samples so several k share a compilation)."""
    from dataclasses import replace

    from slmmux_theory.engines.subsample import subsample_replay

    if key is None:
        key = jax.random.PRNGKey(0)
    scores = []
    for threshold in STOP_THRESHOLDS:
        trial = replace(context, stop_threshold=threshold)
        result = subsample_replay(key, rule, samples, num_answers, k, 16, trial,
                                  pad_to=-(-k // 4) * 4)
        scores.append(float(result.correct.mean()))
    best = max(scores)
    chosen = next(t for t, s in zip(STOP_THRESHOLDS, scores) if s >= best - 0.005)
    return replace(context, stop_threshold=chosen)


BAYES_STOP = Rule("bayes-stop", _select_one, _exact_one, _cost_one, first_model_only=True,
                  adaptive_cost=True)
BAYES_STOP_MODELS = Rule("bayes-stop-models", _select_models, _exact_models, _cost_models,
                         enumerates_products=True, adaptive_cost=True)
BAYES_STOP = BAYES_STOP._replace(
    select_sequence=_sequence_one,
    learn=lambda context, samples, num_answers, k, key=None: _learn(
        context, samples, num_answers, k, key, rule=BAYES_STOP))
BAYES_STOP_MODELS = BAYES_STOP_MODELS._replace(
    select_sequence=_sequence_models,
    learn=lambda context, samples, num_answers, k, key=None: _learn(
        context, samples, num_answers, k, key, rule=BAYES_STOP_MODELS))
