"""Posterior predictive checks: summary statistics of sampled answers, observed vs. replicated.

Place in the layers: pure theory over count arrays ``counts[..., models, questions, answers]``
in the package's slot convention (slot 0 correct, slots ``1 .. A-2`` shared wrong answers, last
slot ⊥; see :mod:`slmmux_theory.distributions`). The statistics are the ones that decide how
orchestration rules behave: how often a model repeats itself (all-agree rate, mode frequency,
distinct answers), how often it is right, and how often two models agree on the *same wrong*
answer. :func:`predictive_check` compares the observed values with the same statistics on
replicated count arrays (e.g. from :func:`slmmux_theory.inference.predict.replicate_counts`).

Every statistic of one model averages over the questions on which that model has at least one
recorded sample; pair statistics over the questions on which both have one.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "PredictiveCheck",
    "SampleStatistics",
    "counts_from_samples",
    "predictive_check",
    "sample_statistics",
]


class SampleStatistics(NamedTuple):
    """Per-model and per-pair summaries of sampled answers.

    Attributes:
      all_agree_rate: fraction of questions on which all of the model's samples are the same
        valid (non-⊥) answer, shape [..., models].
      mean_mode_frequency: mean over questions of (count of the most frequent valid answer) /
        (samples including ⊥), shape [..., models].
      mean_distinct_answers: mean number of distinct valid answers per question,
        shape [..., models].
      sample_accuracy: correct samples / all samples, shape [..., models].
      same_wrong_mode_rate: fraction of questions on which the modes of models i and j are the
        same wrong slot, ties inside a model broken uniformly (so a question counts
        Σ_w 1[w top for i] 1[w top for j] / (#top_i · #top_j)), shape [..., models, models].
    """

    all_agree_rate: jnp.ndarray
    mean_mode_frequency: jnp.ndarray
    mean_distinct_answers: jnp.ndarray
    sample_accuracy: jnp.ndarray
    same_wrong_mode_rate: jnp.ndarray


def counts_from_samples(samples, num_answers: int) -> jnp.ndarray:
    """Turn slot indices into counts.

    Args:
      samples: slot index of every sample, shape [..., samples]; -1 marks a missing sample.
      num_answers: number of slots A.

    Returns:
      Counts, shape [..., num_answers].

    >>> counts_from_samples(jnp.array([[0, 0, 2, -1]]), 3).tolist()
    [[2, 0, 1]]
    """
    samples = jnp.asarray(samples)
    one_hot = jax.nn.one_hot(samples, num_answers, dtype=jnp.int32)  # -1 gives a zero row
    return one_hot.sum(-2)


def sample_statistics(counts) -> SampleStatistics:
    """Compute :class:`SampleStatistics` of counts.

    Args:
      counts: shape [..., models, questions, answers], last slot ⊥.

    Returns:
      The statistics; a model without any sample gets NaN.

    >>> stats = sample_statistics(jnp.array([[[3, 0, 0], [1, 2, 0]], [[0, 3, 0], [0, 2, 1]]]))
    >>> stats.all_agree_rate.tolist(), stats.same_wrong_mode_rate[0, 1].tolist()
    ([0.5, 0.5], 0.5)
    """
    counts = jnp.asarray(counts, dtype=jnp.float64)
    valid = counts[..., :-1]
    total = counts.sum(-1)
    has = total > 0
    questions = has.sum(-1)
    top = valid.max(-1)
    safe_total = jnp.where(has, total, 1.0)

    def per_question_mean(value):
        return jnp.where(has, value, 0.0).sum(-1) / questions

    all_agree = (top == total) & has
    mode_frequency = top / safe_total
    distinct = (valid > 0).sum(-1)
    accuracy = counts[..., 0].sum(-1) / total.sum(-1)

    is_top = (valid == top[..., None]) & (top[..., None] > 0)
    tie_share = is_top / jnp.maximum(is_top.sum(-1, keepdims=True), 1)
    wrong_share = tie_share[..., 1:]  # [..., models, questions, wrong]
    both = jnp.einsum("...iqw,...jqw->...ijq", wrong_share, wrong_share)
    both_have = has[..., :, None, :] & has[..., None, :, :]
    same_wrong = jnp.where(both_have, both, 0.0).sum(-1) / both_have.sum(-1)
    return SampleStatistics(
        all_agree_rate=per_question_mean(all_agree.astype(jnp.float64)),
        mean_mode_frequency=per_question_mean(mode_frequency),
        mean_distinct_answers=per_question_mean(distinct.astype(jnp.float64)),
        sample_accuracy=accuracy,
        same_wrong_mode_rate=same_wrong,
    )


class PredictiveCheck(NamedTuple):
    """Observed statistics against their predictive interval.

    Attributes:
      observed: statistics of the observed counts.
      lower: lower end of the central predictive interval, same shapes as ``observed``.
      upper: upper end.
      inside: whether ``lower <= observed <= upper``, boolean, same shapes.
      level: the interval's probability, e.g. 0.9.
    """

    observed: SampleStatistics
    lower: SampleStatistics
    upper: SampleStatistics
    inside: SampleStatistics
    level: float

    def inside_fraction(self) -> SampleStatistics:
        """Per statistic, the fraction of models (pairs i < j for the pair statistic) inside."""
        fractions = [float(np.mean(np.asarray(value))) for value in self.inside[:-1]]
        pairs = np.asarray(self.inside.same_wrong_mode_rate)
        upper = np.triu_indices(pairs.shape[-1], k=1)
        fractions.append(float(np.mean(pairs[upper])) if upper[0].size else float("nan"))
        return SampleStatistics(*fractions)

    def coverage(self) -> float:
        """Fraction of all (model, statistic) and (pair, statistic) entries inside."""
        inside = [np.asarray(value).ravel() for value in self.inside[:-1]]
        pairs = np.asarray(self.inside.same_wrong_mode_rate)
        inside.append(pairs[np.triu_indices(pairs.shape[-1], k=1)])
        return float(np.mean(np.concatenate(inside)))


def predictive_check(observed_counts, replicated_counts, level: float = 0.9) -> PredictiveCheck:
    """Compare observed statistics with central intervals of replicated ones.

    Args:
      observed_counts: shape [models, questions, answers].
      replicated_counts: shape [replicates, models, questions, answers], drawn from a
        predictive distribution with the same samples per (model, question).
      level: probability of the central interval.

    Returns:
      The :class:`PredictiveCheck`.

    >>> obs = jnp.array([[[2, 0, 0]]])
    >>> rep = jnp.array([[[[2, 0, 0]]], [[[2, 0, 0]]], [[[1, 1, 0]]]])
    >>> check = predictive_check(obs, rep)
    >>> bool(check.inside.all_agree_rate[0]), round(float(check.lower.all_agree_rate[0]), 12)
    (True, 0.1)
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    observed = sample_statistics(observed_counts)
    replicated = sample_statistics(replicated_counts)
    tail = (1.0 - level) / 2.0
    lower = SampleStatistics(*[jnp.nanquantile(r, tail, axis=0) for r in replicated])
    upper = SampleStatistics(*[jnp.nanquantile(r, 1.0 - tail, axis=0) for r in replicated])
    # A tolerance, because averages of the same counts can differ in the last bit.
    inside = SampleStatistics(
        *[(lo - 1e-12 <= o) & (o <= hi + 1e-12) for o, lo, hi in zip(observed, lower, upper)]
    )
    return PredictiveCheck(observed, lower, upper, inside, float(level))
