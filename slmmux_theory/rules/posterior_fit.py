"""Maximum-likelihood fit of the posterior-optimal rule's answer model on validation questions.

The truth is known on validation questions, so the likelihood of
:mod:`slmmux_theory.rules.posterior_optimal`'s model separates: each model's correct counts
``c_iq`` out of its recorded samples ``n_iq`` are Beta-binomial (``α_i, β_i``, one 2-parameter
fit per model), and each question's pooled wrong counts (every model's non-⊥ wrong samples) are
Dirichlet-multinomial over ``K`` labels with per-label concentration ``η`` and total ``γ = K η``
(one 2-parameter fit; the wrong answers' labels are arbitrary, so the likelihood is that of the
partition: the labelled Dirichlet-multinomial times the ``K (K-1) ... (K-R+1)`` ways to give the
R distinct wrong answers of a question their labels, which keeps ``K`` above every ``R``). That
factor is the same for every candidate answer of a question (each leaves R - 1 wrong labels), so
the rule's scores do not carry it. Both are L-BFGS-B over log parameters (:func:`scipy.optimize.minimize`).
Rules layer: pure NumPy/SciPy, no I/O.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln


__all__ = ["AnswerLaw", "beta_binomial_fit", "fit_answer_law", "wrong_answer_fit"]


class AnswerLaw(NamedTuple):
    """The posterior-optimal rule's answer model.

    Attributes:
      alpha: Beta law of each model's per-question accuracy, first parameter, shape [models].
      beta: its second parameter, shape [models].
      eta: per-label concentration of the shared wrong-answer Dirichlet, shape [].
      gamma: its total concentration (``K η``, K wrong labels), shape [].
    """

    alpha: np.ndarray
    beta: np.ndarray
    eta: float
    gamma: float


_LOG_BOUNDS = (-6.0, 12.0)


def beta_binomial_fit(correct, total) -> tuple[float, float]:
    """Maximum-likelihood ``(α, β)`` of a Beta-binomial law of ``correct`` out of ``total``.

    Args:
      correct: correct counts per question, shape [questions].
      total: samples per question, shape [questions] (rows with 0 are ignored).

    >>> a, b = beta_binomial_fit(np.array([10, 0, 10, 0]), np.array([10, 10, 10, 10]))
    >>> a < 1 and b < 1   # all-or-nothing questions: a U-shaped law of accuracy
    True
    """
    correct = np.asarray(correct, dtype=np.float64)
    total = np.asarray(total, dtype=np.float64)
    keep = total > 0
    correct, total = correct[keep], total[keep]

    def loss(log_params):
        a, b = np.exp(log_params)
        return -(betaln(correct + a, total - correct + b) - betaln(a, b)).sum()

    mean = np.clip((correct.sum() + 0.5) / (total.sum() + 1.0), 1e-3, 1 - 1e-3)
    start = np.log([2.0 * mean, 2.0 * (1.0 - mean)])
    result = minimize(loss, start, method="L-BFGS-B", bounds=[_LOG_BOUNDS] * 2)
    a, b = np.exp(result.x)
    return float(a), float(b)


def wrong_answer_fit(wrong_counts) -> tuple[float, float]:
    """Maximum-likelihood ``(η, γ)`` of the partition of wrong answers under a symmetric
    Dirichlet-multinomial over ``K = γ/η`` labels.

    Args:
      wrong_counts: pooled counts of each wrong answer per question, shape [questions, labels]
        (labels never seen are 0 and contribute nothing).

    Returns:
      ``(η, γ)`` with ``γ >= η`` (at least one label).

    >>> clustered = wrong_answer_fit(np.array([[8, 1, 0, 0], [0, 7, 2, 0], [6, 0, 0, 3]] * 3))
    >>> spread = wrong_answer_fit(np.array([[2, 1, 1, 1], [1, 2, 1, 1], [1, 1, 1, 2]] * 3))
    >>> agree = lambda law: (1 + law[0]) / (1 + law[1])  # P(two wrong samples agree)
    >>> agree(clustered) > 0.5 > agree(spread)
    True
    """
    counts = np.asarray(wrong_counts, dtype=np.float64)
    totals = counts.sum(axis=1)
    seen = counts > 0
    distinct = seen.sum(axis=1)
    floor = max(1.0, float(distinct.max(initial=0)) - 1.0)

    def loss(log_params):
        eta = np.exp(log_params[0])
        labels = floor + np.exp(log_params[1])  # K > R - 1 on every question
        gamma = labels * eta
        per_label = np.where(seen, gammaln(eta + counts) - gammaln(eta), 0.0).sum(axis=1)
        ways = gammaln(labels + 1.0) - gammaln(labels - distinct + 1.0)
        return -(gammaln(gamma) - gammaln(gamma + totals) + per_label + ways).sum()

    result = minimize(loss, np.array([0.0, np.log(10.0)]), method="L-BFGS-B",
                      bounds=[_LOG_BOUNDS, (-6.0, 16.0)])
    eta = float(np.exp(result.x[0]))
    return eta, float(eta * (floor + np.exp(result.x[1])))


def fit_answer_law(samples, num_answers: int) -> AnswerLaw:
    """Fit the answer model on validation questions.

    Args:
      samples: slot indices, int [models, questions, n] (``-1`` missing; slot 0 correct, last ⊥).
      num_answers: A.

    Returns:
      the fitted :class:`AnswerLaw`.
    """
    samples = np.asarray(samples)
    recorded = (samples >= 0).sum(axis=2)
    correct = (samples == 0).sum(axis=2)
    pairs = [beta_binomial_fit(correct[m], recorded[m]) for m in range(samples.shape[0])]
    wrong = (samples > 0) & (samples < num_answers - 1)
    pooled = np.stack([np.bincount(samples[:, q][wrong[:, q]], minlength=num_answers)[1:-1]
                       for q in range(samples.shape[1])])
    eta, gamma = wrong_answer_fit(pooled)
    return AnswerLaw(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), eta, gamma)
