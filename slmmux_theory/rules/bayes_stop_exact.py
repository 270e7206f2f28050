"""Exact law of Bayes-factor adaptive stopping (:mod:`slmmux_theory.rules.bayes_stop`).

Given each model's count vector, its samples arrive in a uniformly random order, so the prefix
of the first ``t`` samples is a multivariate-hypergeometric draw from the vector. Per tuple of
count vectors (:func:`slmmux_theory.engines.product.product_counts`) the rule is a walk over
models in rule order; within one model a dynamic programme over sub-multisets gives the chance to
stop (and be right) at each prefix, and across models the phases multiply because the orders of
different models are independent. The tuple values are contracted against the models' count laws
(multinomial or hypergeometric, :mod:`slmmux_theory.engines.counts`). Cost grows like the product
of the models' count-vector numbers: tiny cases and a few models only; on real files the replay is
by Monte Carlo subsampling (:mod:`slmmux_theory.engines.subsample`). Rules layer: pure NumPy/SciPy.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import betainc

from slmmux_theory.engines.counts import CountDistribution, ExactResult
from slmmux_theory.engines.product import contract, product_counts
from slmmux_theory.rules.rule import RuleContext

__all__ = ["bayes_factor_reference", "bayes_stop_exact"]


def bayes_factor_reference(valid_counts, unknown_weight: float) -> float:
    """The stopping Bayes factor of one count vector, by SciPy (see :func:`bayes_factor`).

    >>> round(bayes_factor_reference((2, 1), 0.0), 6)
    2.2
    """
    top = sorted(valid_counts, reverse=True) + [0, 0]
    below = float(betainc(top[0] + 1.0, max(top[1] + 1.0, unknown_weight + 1.0), 0.5))
    return (1.0 - below) / max(below, 1e-300)


def _plurality_correct(pooled) -> float:
    top = max(pooled)
    if top == 0:
        return 0.0
    tied = [a for a, c in enumerate(pooled) if c == top]
    return (0 in tied) / len(tied)


@functools.lru_cache(maxsize=None)
def _phase(base: tuple, vector: tuple, threshold: float, unknown_weight: float):
    """One model's phase: (P(stop and correct), E[samples spent; stop], P(no stop))."""
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
                    pooled = tuple(b + c for b, c in zip(base, nxt[:-1]))
                    if bayes_factor_reference(pooled, unknown_weight) >= threshold:
                        stop_correct += p * _plurality_correct(pooled)
                        stop_spent += p * (t + 1)
                        continue
                following[nxt] = following.get(nxt, 0.0) + p
        states = following
    return stop_correct, stop_spent, sum(states.values())


def _tuple_values(vectors, order, threshold, unknown_weight):
    reach, correct, spent, offset = 1.0, 0.0, 0.0, 0
    base = (0,) * (len(vectors[0]) - 1)
    for m in order:
        vector = tuple(int(c) for c in vectors[m])
        stop_correct, stop_spent, go_on = _phase(base, vector, threshold, unknown_weight)
        correct += reach * stop_correct
        spent += reach * (stop_spent + offset * (1.0 - go_on))
        reach *= go_on
        base = tuple(b + c for b, c in zip(base, vector[:-1]))
        offset += sum(vector)
    return correct + reach * _plurality_correct(base), spent + reach * offset


def bayes_stop_exact(counts: CountDistribution, context: RuleContext,
                     first_only: bool) -> ExactResult:
    """Exact accuracy and expected samples of the stopping rule, per question.

    Args:
      counts: count laws [models, questions, vectors].
      context: ``stop_threshold``, ``stop_unknown_weight``, tie ranks (the model order).
      first_only: the one-model rule (the first model only).
    """
    num_models = 1 if first_only else counts.probs.shape[0]
    ranks = np.asarray(context.tie_ranks(counts.probs.shape[0]))[:num_models]
    order = [int(m) for m in np.argsort(ranks, kind="stable")]
    tuples, shape = product_counts((counts.k,) * num_models, counts.num_answers)
    values = np.array([_tuple_values(t, order, context.stop_threshold,
                                     context.stop_unknown_weight) for t in tuples])
    weights = [counts.probs[m] for m in range(num_models)]
    per_question = contract(weights, values[:, 0], shape)
    return ExactResult(per_question.mean(), per_question, contract(weights, values[:, 1], shape))
