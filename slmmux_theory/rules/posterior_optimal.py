"""Posterior-optimal selection: the answer most likely to be correct given every model's samples.

Answer model (one question; ``c_i(a)`` model i's count on answer a, ``n_i`` its samples, ``S_a``
the pooled valid count of a, ``N`` the pooled valid samples)::

    per-question accuracy   π_i ~ Beta(α_i, β_i)            model reliability AND difficulty:
                            c_i(truth) | π_i ~ Binomial(n_i, π_i) → Beta-binomial, so one
                            model's samples are correlated (a hard question keeps all of them off)
    wrong answers           pooled wrong samples ~ Dirichlet-multinomial over K wrong labels,
                            per-label concentration η, total γ = K η: shared by all models, so a
                            small η is the wrong-answer attraction (models pile onto one wrong answer)

With a uniform prior over the answers seen, the log posterior of "a is correct" is, up to a
constant (the likelihood of the observed samples, each one seen: the Beta-binomial and the
Dirichlet-multinomial without their multinomial coefficients, which would differ between
candidates and count orderings nobody observed),

    Σ_i log B(c_i(a) + α_i, n_i - c_i(a) + β_i) - log Γ(γ + N - S_a) - log Γ(η + S_a) + log Γ(η)

and the rule answers its argmax (ties uniformly at random). Special case: with ``α_i + β_i → ∞``
at mean ``p_i`` (no per-question difficulty: independent samples) and ``η → ∞`` at ``γ / η = K``
(wrong answers uniform over K labels), the score tends to ``Σ_i c_i(a) log(p_i K / (1 - p_i))``:
the one-coin Dawid–Skene / log-odds weighted vote (:mod:`~slmmux_theory.rules.weighted_vote_log_odds`).
Ours differs exactly by the correlation (finite ``α_i + β_i``) and the attraction (finite ``η``).

Parameters travel in ``RuleContext.answer_law`` (:func:`pack_answer_law`); ``learn`` fits them by
maximum likelihood on validation questions (:mod:`slmmux_theory.rules.posterior_fit`). The exact
law enumerates count-vector tuples (a few models); many models replay by subsampling.
Rules layer: pure.
"""

from __future__ import annotations

from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from scipy.special import gammaln as np_gammaln

from slmmux_theory.engines.counts import CountDistribution
from slmmux_theory.engines.product import product_accuracy
from slmmux_theory.rules.posterior_fit import AnswerLaw, fit_answer_law
from slmmux_theory.rules.rule import Rule, RuleContext, Selection, all_models_cost, fixed_cost_result

__all__ = [
    "POSTERIOR_OPTIMAL",
    "context_answer_law",
    "pack_answer_law",
    "posterior_scores",
]


DEFAULT_LAW = (2.0, 1.0, 0.5, 50.0)
"""(α, β, η, γ) used for every model when no law was learned: mean accuracy 2/3, attraction."""


def pack_answer_law(law: AnswerLaw) -> tuple[float, ...]:
    """The flat tuple ``(α_1, β_1, ..., α_M, β_M, η, γ)`` that ``RuleContext.answer_law`` holds.

    >>> pack_answer_law(AnswerLaw(np.array([1.0]), np.array([2.0]), 0.5, 9.0))
    (1.0, 2.0, 0.5, 9.0)
    """
    pairs = np.stack([np.asarray(law.alpha, float), np.asarray(law.beta, float)], 1).ravel()
    return tuple(float(v) for v in pairs) + (float(law.eta), float(law.gamma))


def context_answer_law(context: RuleContext, num_models: int, xp=np) -> AnswerLaw:
    """The :class:`AnswerLaw` in ``context`` (the defaults when none was learned); ``xp=jnp``
    when the law may be a traced jit argument."""
    if context.answer_law is None:
        alpha, beta, eta, gamma = DEFAULT_LAW
        return AnswerLaw(np.full(num_models, alpha), np.full(num_models, beta), eta, gamma)
    values = xp.asarray(context.answer_law, dtype=xp.float64)
    if values.size != 2 * num_models + 2:
        raise ValueError(f"answer_law has {values.size} values; {num_models} models need "
                         f"{2 * num_models + 2}")
    pairs = values[:-2].reshape(num_models, 2)
    return AnswerLaw(pairs[:, 0], pairs[:, 1], values[-2], values[-1])


def posterior_scores(counts, law: AnswerLaw, lgamma=gammaln, xp=jnp):
    """Log posterior (up to a constant) that each valid answer is correct, shape [..., answers-1].

    Answers nobody sampled get ``-inf`` (the rule never picks an unseen answer).

    Args:
      counts: shape [..., models, answers] (last slot ⊥: a sample, never a candidate).
      law: the answer model.
      lgamma, xp: JAX (default) or NumPy/SciPy versions, for the exact law's kernel.
    """
    counts = xp.asarray(counts).astype(xp.float64)
    alpha = xp.asarray(law.alpha)[:, None]
    beta = xp.asarray(law.beta)[:, None]
    n = counts.sum(axis=-1, keepdims=True)  # [..., M, 1]
    c = counts[..., :-1]  # [..., M, A-1]
    # log P(this sequence of correct/not) = log B(c + α, n - c + β) - log B(α, β): no binomial
    # coefficient, the samples are observed one by one. Every term is written as a difference
    # that is 0 at c = 0 (constants across candidates dropped), so scores stay O(counts) even
    # for huge α, β, η and a tie tolerance can be absolute.
    log_bb = lgamma(c + alpha) - lgamma(alpha) + lgamma(n - c + beta) - lgamma(n + beta)
    pooled = c.sum(axis=-2)  # [..., A-1]
    total = pooled.sum(axis=-1, keepdims=True)
    score = (log_bb.sum(axis=-2) + lgamma(law.gamma + total) - lgamma(law.gamma + total - pooled)
             - lgamma(law.eta + pooled) + lgamma(law.eta))
    return xp.where(pooled > 0, score, -xp.inf)


def _select(counts, first_seen, key, context: RuleContext) -> Selection:
    counts = jnp.asarray(counts)
    law = context_answer_law(context, counts.shape[0], jnp)
    score = posterior_scores(counts, law)
    top = score.max()
    seen = jnp.isfinite(top)
    tied = score >= top - 1e-9
    noise = jax.random.gumbel(key, score.shape)
    choice = jnp.argmax(jnp.where(tied & jnp.isfinite(score), noise, -jnp.inf))
    return Selection(jnp.where(seen, choice, counts.shape[1] - 1), counts.sum())


def _kernel(tuples, law):
    score = posterior_scores(tuples, law, lgamma=np_gammaln, xp=np)
    top = score.max(axis=1, keepdims=True)
    seen = np.isfinite(top[:, 0])
    with np.errstate(invalid="ignore"):
        tied = (score >= top - 1e-9) & np.isfinite(score)
    correct = np.where(seen, tied[:, 0] / np.maximum(tied.sum(axis=1), 1), 0.0)
    return correct.astype(np.float64), tuples.sum(axis=(1, 2)).astype(np.float64)


def _exact(counts: CountDistribution, context: RuleContext):
    law = context_answer_law(context, counts.probs.shape[0])
    per_question, _ = product_accuracy(counts, _kernel, law=law)
    return fixed_cost_result(per_question, counts, context, all_models_cost)


def _learn(context: RuleContext, samples, num_answers: int, k: int, key=None) -> RuleContext:

    return replace(context, answer_law=pack_answer_law(fit_answer_law(samples, num_answers)))


POSTERIOR_OPTIMAL = Rule("posterior-optimal", _select, _exact, all_models_cost,
                         enumerates_products=True, learn=_learn)
