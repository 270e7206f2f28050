"""Weighted-vote adaptive stopping across models: a sequential test on the log-odds vote.

Samples are drawn one at a time, models in rule order (the tie ranks: validation accuracy), each
model's samples before the next model's, up to the cap (``k`` per model), and every valid sample
of model i adds its weight ``w_i`` to its answer's score (``RuleContext.model_weights``; equal
weights by default). After each valid sample the rule stops when the leader's score exceeds the
runner-up's (0 when only one answer was seen) by ``log(stop_threshold)``; at the cap it answers
the weighted plurality (ties uniformly at random).

Why this test: with the log-odds weights ``w_i = log(p_i K / (1 - p_i))`` of
:mod:`~slmmux_theory.rules.weighted_vote_log_odds` the score difference of two answers is the log
likelihood ratio "a is true" against "b is true" under the one-coin Dawid–Skene model, so the
rule is a sequential probability ratio test of leader against runner-up at posterior odds
``stop_threshold`` (uniform prior). Unlike :data:`~slmmux_theory.rules.bayes_stop.BAYES_STOP_MODELS`
(equal votes, Best-of-∞'s Beta tail), a reliable model's agreeing samples settle a question
sooner and a weak model's samples count less. The one-coin model ignores that one model's
samples on one question are correlated (a hard question keeps all of them off), so its odds are
overconfident; ``learn`` therefore picks the threshold on validation questions (replayed by
subsampling at the cap it will run with), after the weights.

``select_sequence`` reads the drawn order (what the subsample replay charges tokens for);
``select`` applies the rule to a uniformly random order of the counts; the exact law averages
over every order, per tuple of the models' count vectors (a few models only).
Rules layer: pure.

>>> import jax, jax.numpy as jnp
>>> context = RuleContext(model_weights=[2.0, 1.0], stop_threshold=float(np.exp(3.5)))
>>> out = VOTE_STOP.select_sequence(jnp.array([[1, 1, 0], [0, 0, 0]]), jax.random.PRNGKey(0),
...                                 context, 3)
>>> int(out.answer), out.samples_spent.tolist()   # 2, then 4 > 3.5 after two samples of model 0
(1, [2, 0])
"""

from __future__ import annotations

import functools
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.counts import CountDistribution, ExactResult
from slmmux_theory.engines.product import contract, product_counts
from slmmux_theory.rules.base import _vote, draw_from_row
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, SequenceSelection
from slmmux_theory.rules.weighted_vote import context_weights
from slmmux_theory.rules.weighted_vote_log_odds import effective_wrong_answers, log_odds_weights

__all__ = ["VOTE_STOP", "VOTE_STOP_THRESHOLDS", "vote_stop_exact", "weighted_stop_on_sequence"]

VOTE_STOP_THRESHOLDS = (3.0, 10.0, 30.0, 100.0, 300.0, 1e3, 1e4, 1e5, 1e6)
"""Posterior odds scanned by ``learn``, cheapest (lowest) first."""

LEARN_TOLERANCE = 0.001
"""``learn`` takes the cheapest threshold within this much of the best validation accuracy. Not
Bayes-stop's half point: on a small validation fold with no hard question every threshold is
within half a point, and the cheapest one then stops after one or two samples on the hard
questions of the test fold (measured on AIME 2024, experiments/hard_regime/README.md)."""

LEARN_DRAWS = 32
"""Subsampling draws per validation question when ``learn`` scores a threshold."""

# Margins are sums of float weights: a margin equal to log(threshold) up to rounding stops.
_TOLERANCE = 1e-9


def _weights(context: RuleContext, num_models: int):
    if context.model_weights is None:
        return jnp.ones(num_models)
    return jnp.asarray(context.model_weights, dtype=jnp.float64)


def _margin(scores):
    """Leader's score minus the runner-up's (0 for a single answer), shape [...]."""
    if scores.shape[-1] == 1:
        return scores[..., 0]
    top2 = jax.lax.top_k(scores, 2)[0]
    return top2[..., 0] - jnp.maximum(top2[..., 1], 0.0)


def weighted_stop_on_sequence(sequence, sample_weights, num_answers: int, log_threshold, key):
    """Run the weighted stopping test along one pooled sequence of samples.

    Args:
      sequence: slot indices in drawing order, int [T]; ``-1`` missing (skipped).
      sample_weights: each sample's vote weight (its model's), float [T].
      num_answers: A (last slot ⊥: spent, no vote).
      log_threshold: stop when the leader's margin reaches it.
      key: jax.random key for a tied plurality at the cap.

    Returns:
      (answer [], positions consumed [] (the stop position + 1, or T)).

    >>> answer, used = weighted_stop_on_sequence(jnp.array([0, 1, 1, 1]), jnp.ones(4), 3, 1.5,
    ...                                          jax.random.PRNGKey(0))
    >>> int(answer), int(used)   # margins 1, 0, 1, 2: stops at the fourth sample
    (1, 4)
    """
    sequence = jnp.asarray(sequence)
    valid = (sequence >= 0) & (sequence < num_answers - 1)
    onehot = (sequence[:, None] == jnp.arange(num_answers - 1)) & valid[:, None]
    prefix = jnp.cumsum(onehot * jnp.asarray(sample_weights, jnp.float64)[:, None], axis=0)
    passes = valid & (_margin(prefix) >= log_threshold - _TOLERANCE)
    length = sequence.shape[0]
    stop = jnp.where(passes.any(), jnp.argmax(passes), length - 1)
    choice, _, has_vote, _ = _vote(prefix[stop], key, "random", None)
    return jnp.where(has_vote, choice, num_answers - 1), stop + 1


def _order(context: RuleContext, num_models: int):
    return jnp.argsort(context.tie_ranks(num_models), stable=True)


def _select_sequence(samples, key, context: RuleContext, num_answers: int) -> SequenceSelection:
    samples = jnp.asarray(samples)
    num_models, k = samples.shape
    order = _order(context, num_models)
    ordered = samples[order]
    weights = jnp.repeat(_weights(context, num_models)[order], k)
    answer, used = weighted_stop_on_sequence(ordered.reshape(-1), weights, num_answers,
                                             jnp.log(context.stop_threshold), key)
    position = jnp.arange(ordered.size).reshape(ordered.shape)
    spent_ordered = ((position < used) & (ordered >= 0)).sum(axis=1)
    spent = jnp.zeros(num_models, dtype=spent_ordered.dtype).at[order].set(spent_ordered)
    return SequenceSelection(answer, spent)


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    """The rule on a uniformly random order of each model's counted samples (drawn one by one
    without replacement, models in rule order)."""
    counts = jnp.asarray(counts)
    num_models, num_answers = counts.shape
    order = _order(context, num_models)
    remaining = counts[order].astype(jnp.float64)  # [M, A]
    weights = _weights(context, num_models)[order]
    log_threshold = jnp.log(context.stop_threshold)
    draw_key, tie_key = jax.random.split(key)

    def not_done(state):
        _, position, _, _, done, _ = state
        return (~done) & (position < num_models)

    def step(state):
        left, position, scores, spent, done, step_key = state
        step_key, sub = jax.random.split(step_key)
        left, take, empty, answer = draw_from_row(left, position, sub, num_answers)
        is_valid = (~empty) & (answer < num_answers - 1)
        scores = scores + take[:-1] * weights[position] * is_valid
        passes = is_valid & (_margin(scores) >= log_threshold - _TOLERANCE)
        return left, position + empty, scores, spent + (~empty), passes, step_key

    state = (remaining, jnp.asarray(0), jnp.zeros(num_answers - 1), jnp.asarray(0.0),
             jnp.asarray(False), draw_key)
    _, _, scores, spent, _, _ = jax.lax.while_loop(not_done, step, state)
    choice, _, has_vote, _ = _vote(scores, tie_key, "random", None)
    return Selection(jnp.where(has_vote, choice, num_answers - 1), spent)


def _plurality_correct(scores) -> float:
    top = max(scores)
    if top <= 0:
        return 0.0
    tied = [a for a, s in enumerate(scores) if s >= top - _TOLERANCE]
    return (0 in tied) / len(tied)


def _margin_reference(scores) -> float:
    top = sorted(scores, reverse=True) + [0.0]
    return top[0] - max(top[1], 0.0)


@functools.lru_cache(maxsize=None)
def _phase(base: tuple, weight: float, vector: tuple, log_threshold: float):
    """One model's phase, its samples in a uniformly random order: (P(stop and correct),
    E[samples spent; stop], P(no stop)); ``base`` the scores of the models before it."""
    abstain = len(vector) - 1
    states = {tuple([0] * len(vector)): 1.0}
    stop_correct = stop_spent = 0.0
    for t in range(sum(vector)):
        following: dict[tuple, float] = {}
        left_total = sum(vector) - t
        for prefix, chance in states.items():
            for answer in range(len(vector)):
                left = vector[answer] - prefix[answer]
                if left == 0:
                    continue
                p = chance * left / left_total
                nxt = prefix[:answer] + (prefix[answer] + 1,) + prefix[answer + 1:]
                if answer != abstain:
                    scores = [b + weight * c for b, c in zip(base, nxt[:-1])]
                    if _margin_reference(scores) >= log_threshold - _TOLERANCE:
                        stop_correct += p * _plurality_correct(scores)
                        stop_spent += p * (t + 1)
                        continue
                following[nxt] = following.get(nxt, 0.0) + p
        states = following
    return stop_correct, stop_spent, sum(states.values())


def _tuple_values(vectors, order, weights, log_threshold):
    reach, correct, spent, offset = 1.0, 0.0, 0.0, 0
    base = (0.0,) * (len(vectors[0]) - 1)
    for m in order:
        vector = tuple(int(c) for c in vectors[m])
        stop_correct, stop_spent, go_on = _phase(base, float(weights[m]), vector, log_threshold)
        correct += reach * stop_correct
        spent += reach * (stop_spent + offset * (1.0 - go_on))
        reach *= go_on
        base = tuple(b + float(weights[m]) * c for b, c in zip(base, vector[:-1]))
        offset += sum(vector)
    return correct + reach * _plurality_correct(base), spent + reach * offset


def vote_stop_exact(counts: CountDistribution, context: RuleContext) -> ExactResult:
    """Exact accuracy and expected samples of the rule, per question, averaging over every order
    of each model's samples and every tuple of count vectors (a few models only).

    Args:
      counts: count laws [models, questions, vectors].
      context: ``model_weights``, ``stop_threshold``, tie ranks (the model order).
    """
    num_models = counts.probs.shape[0]
    order = [int(m) for m in np.argsort(np.asarray(context.tie_ranks(num_models)),
                                        kind="stable")]
    weights = context_weights(context, num_models)
    log_threshold = float(np.log(context.stop_threshold))
    tuples, shape = product_counts((counts.k,) * num_models, counts.num_answers)
    values = np.array([_tuple_values(t, order, weights, log_threshold) for t in tuples])
    probs = [counts.probs[m] for m in range(num_models)]
    per_question = contract(probs, values[:, 0], shape)
    return ExactResult(per_question.mean(), per_question, contract(probs, values[:, 1], shape))


def _cost(counts, context):
    return vote_stop_exact(counts, context).expected_samples


def _learn(context: RuleContext, samples, num_answers: int, k: int, key=None) -> RuleContext:
    """Log-odds weights from validation per-sample accuracy (as the log-odds vote learns them),
    then the cheapest threshold of :data:`VOTE_STOP_THRESHOLDS` whose validation accuracy is
    within :data:`LEARN_TOLERANCE` of the best one's (replayed by subsampling k of the samples,
    :data:`LEARN_DRAWS` draws; draws padded to a multiple of 4 samples so several k share a
    compilation)."""
    from slmmux_theory.engines.subsample import subsample_replay

    samples = np.asarray(samples)
    recorded = (samples >= 0).sum(axis=(1, 2))
    accuracy = (samples == 0).sum(axis=(1, 2)) / np.maximum(recorded, 1)
    weights = log_odds_weights(accuracy, recorded, effective_wrong_answers(samples, num_answers))
    if not weights.any():  # nobody beats chance: equal votes
        weights = np.ones_like(weights)
    context = replace(context, model_weights=weights)
    if key is None:
        key = jax.random.PRNGKey(0)
    scores = []
    for threshold in VOTE_STOP_THRESHOLDS:
        trial = replace(context, stop_threshold=threshold)
        result = subsample_replay(key, VOTE_STOP, samples, num_answers, k, LEARN_DRAWS, trial,
                                  pad_to=-(-k // 4) * 4)
        scores.append(float(result.correct.mean()))
    best = max(scores)
    chosen = next(t for t, s in zip(VOTE_STOP_THRESHOLDS, scores)
                  if s >= best - LEARN_TOLERANCE)
    return replace(context, stop_threshold=chosen)


VOTE_STOP = Rule("vote-stop", _select, vote_stop_exact, _cost, enumerates_products=True, adaptive_cost=True,
                 select_sequence=_select_sequence)
VOTE_STOP = VOTE_STOP._replace(learn=_learn)
