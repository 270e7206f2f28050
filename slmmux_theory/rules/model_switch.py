"""ModelSwitch as a rule value: visit models in order, stop at the first consistent one.

Assembles :func:`slmmux_theory.rules.base.model_switch_select` and its exact law (a kernel over
every tuple of the models' count vectors, contracted by :mod:`slmmux_theory.engines.product`)
into :data:`MODEL_SWITCH` (METHODS.md §5.4, §7.1-7.3). Its samples spent depend on the answers:
models after the stopping one are never called. Rules layer: pure.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np

from slmmux_theory.distributions import validate_probabilities
from slmmux_theory.engines.counts import (
    CountDistribution,
    ExactResult,
    count_vectors,
    multinomial_counts,
)
from slmmux_theory.engines.product import contract, first_seen_share, product_counts
from slmmux_theory.rules.base import (
    SwitchConfig,
    SwitchOutcome,
    first_seen_positions,
    model_switch_select,
)
from slmmux_theory.rules.rule import Rule, RuleContext, Selection

__all__ = ["MODEL_SWITCH", "model_switch_exact", "model_switch_visited"]


def _entropy_weight_np(valid):
    n = valid.sum(axis=-1)
    p = valid / np.maximum(n, 1)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.sum(np.where(valid > 0, p * np.log2(np.where(valid > 0, p, 1.0)), 0.0), -1)
    distinct = (valid > 0).sum(axis=-1)
    base = 1.0 / np.maximum(n, 1)
    spread = base + (1.0 - base) * (1.0 - entropy / np.log2(np.maximum(distinct, 2)))
    return np.where(n == 0, 0.0, np.where(distinct == 1, 1.0, spread))


def _switch_kernel(tuples, config: SwitchConfig, prior_weights):
    valid = tuples[:, :, :-1]
    budgets = tuples.sum(axis=2)
    top = valid.max(axis=2)
    num_models = tuples.shape[1]
    if config.stop_rule == "unanimous":
        stops = (top == budgets) & (budgets > 0)
    else:
        stops = top > config.share_threshold * budgets
    stops[:, num_models - 1] = False
    any_stop = stops.any(axis=1)
    first_stop = np.argmax(stops, axis=1)
    rows = np.arange(tuples.shape[0])
    stop_correct = valid[rows, first_stop, 0] == top[rows, first_stop]
    spent_until = np.where(any_stop, first_stop, num_models - 1)
    spent = np.where(np.arange(num_models)[None] <= spent_until[:, None], budgets, 0).sum(axis=1)
    if config.weighting == "entropy":
        weights = np.asarray(prior_weights, dtype=np.float64)[None] * _entropy_weight_np(valid)
    else:
        weights = np.ones((tuples.shape[0], num_models))
    scores = (weights[:, :, None] * valid).sum(axis=1)
    top_score = scores.max(axis=1)
    is_top = (scores >= top_score[:, None] - 1e-9 * np.maximum(top_score, 1.0)[:, None]) & (
        top_score[:, None] > 0
    )
    if config.tie == "random":
        vote_correct = is_top[:, 0] / np.maximum(is_top.sum(axis=1), 1)
    else:
        vote_correct = first_seen_share(tuples, is_top)
    correct = np.where(any_stop, stop_correct, vote_correct)
    return correct.astype(np.float64), spent.astype(np.float64)


@functools.lru_cache(maxsize=32)
def _cached_switch_kernel(budgets, num_answers, config, prior_weights):
    """The ModelSwitch kernel depends on the budgets, slots and options only: compute it once."""
    tuples, _ = product_counts(budgets, num_answers)
    correct, spent = _switch_kernel(tuples, config, np.asarray(prior_weights))
    correct.setflags(write=False)
    spent.setflags(write=False)
    return correct, spent


def model_switch_exact(
    probs,
    k=None,
    *,
    config: SwitchConfig = SwitchConfig(),
    prior_weights=None,
) -> ExactResult:
    """Exact ModelSwitch accuracy and expected samples spent (METHODS.md §5.4).

    Args:
      probs: shape [models, questions, answers], models in visiting order; or a
        :class:`CountDistribution` (e.g. an exact replay of recorded samples).
      k: one budget for all models, or a tuple of per-model budgets ``n_j``.
      config: stop rule, weighting and tie rule.
      prior_weights: external weights ``W_i``, shape [models]; default 1.

    >>> import numpy as np
    >>> probs = np.array([[[0.8, 0.2, 0.0]], [[0.8, 0.2, 0.0]]])
    >>> round(float(model_switch_exact(probs, 4).expected_samples[0]), 4)
    6.3552
    """
    if isinstance(probs, CountDistribution):
        num_models = probs.probs.shape[0]
        num_answers = probs.num_answers
        if k is None:
            k = probs.k
        if k != probs.k:
            raise ValueError("k disagrees with the CountDistribution given")
        budgets = (probs.k,) * num_models
        weights = [probs.probs[m] for m in range(num_models)]
    else:
        probs = jnp.asarray(validate_probabilities(probs))
        num_models, _, num_answers = probs.shape
        if k is None:
            raise ValueError("k is required with a probability tensor")
        if isinstance(k, (int, np.integer)):
            budgets = (int(k),) * num_models
        else:
            budgets = tuple(int(b) for b in k)
            if len(budgets) != num_models:
                raise ValueError(f"{len(budgets)} budgets given for {num_models} models")
        weights = [multinomial_counts(probs[m : m + 1], budgets[m]).probs[0] for m in range(num_models)]
    if prior_weights is None:
        prior_weights = np.ones(num_models)
    shape = [count_vectors(b, num_answers).shape[0] for b in budgets]
    correct, spent = _cached_switch_kernel(
        budgets, num_answers, config, tuple(float(w) for w in np.asarray(prior_weights))
    )
    per_question = contract(weights, correct, shape)
    expected = contract(weights, spent, shape)
    return ExactResult(per_question.mean(), per_question, expected)


def model_switch_visited(samples, num_models: int, num_answers: int,
                         config: SwitchConfig = SwitchConfig()) -> SwitchOutcome:
    """ModelSwitch on the models visited so far, as a live run sees them.

    The models not yet sampled get zero samples: they never stop and carry zero weight, so the
    outcome says whether the rule stops at the last visited model (``stopped_at``) and, if it
    does or no model is left, which answer it picks.

    Args:
      samples: slot of each visited model's samples, int [visited, k].
      num_models: models in the visiting order (>= visited).
      num_answers: slots per question.
      config: the rule's settings.

    >>> out = model_switch_visited(np.array([[0, 0, 0]]), 2, 3)
    >>> int(out.stopped_at), int(out.answer)
    (0, 0)
    """
    samples = np.asarray(samples)
    visited, k = samples.shape
    counts = np.zeros((num_models, num_answers), dtype=np.int64)
    # A missing sample (-1) counts for no answer.
    counts[:visited] = np.stack([np.bincount(row[row >= 0], minlength=num_answers) for row in samples])
    first = np.full(counts.shape, k, dtype=np.int64)
    first[:visited] = np.asarray(first_seen_positions(jnp.asarray(samples), num_answers))
    return model_switch_select(jnp.asarray(counts), None, None, config, jnp.asarray(first))


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    outcome = model_switch_select(counts, context.prior_weights, key, context.switch_config,
                                  first_seen)
    return Selection(outcome.answer, outcome.samples_spent)


def _exact(counts: CountDistribution, context: RuleContext) -> ExactResult:
    return model_switch_exact(counts, counts.k, config=context.switch_config,
                              prior_weights=context.prior_weights)


def _known_counts(counts, context: RuleContext) -> ExactResult:
    """ModelSwitch on known count vectors [models, questions, answers]: the kernel on the one
    tuple of each question (the expectation over sample order and ties only)."""
    counts = np.asarray(counts)
    prior = np.ones(counts.shape[0]) if context.prior_weights is None else context.prior_weights
    correct, spent = _switch_kernel(counts.transpose(1, 0, 2), context.switch_config,
                                    np.asarray(prior, dtype=np.float64))
    return ExactResult(jnp.asarray(correct.mean()), jnp.asarray(correct), jnp.asarray(spent))


def _cost(counts: CountDistribution, context: RuleContext) -> jnp.ndarray:
    return _exact(counts, context).expected_samples


MODEL_SWITCH = Rule("model-switch", _select, _exact, _cost, enumerates_products=True, live=True,
                    adaptive_cost=True, pair_engine=True, budget=True, replay_report=True,
                    known_counts=_known_counts)
