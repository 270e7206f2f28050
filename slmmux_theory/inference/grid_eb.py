"""Empirical-Bayes answer laws from a pilot: a nonparametric law of each model's per-question
(correct, wrong, ⊥) shares and a crowd-based split of the wrong mass.

Place in the layers: pure theory (NumPy/SciPy over arrays, an explicit ``jax.random`` key; no
I/O). An alternative to the hierarchical answer model of
:mod:`slmmux_theory.inference.answer_model` for pilots of many questions with few samples each.

Why (measured on the shared 80-sample files, ``experiments/pilot_eval`` step ``hard``): on
MATH-500 most (model, question) rows are answered correctly by every sample and a few are
missed by one model only, with nearly every sample (e.g. one model 1 of 80, the six others
75-80 of 80). The hierarchical model's per-(model, question) law is a Dirichlet around a
logistic mean with one concentration κ_m per model: a row the pilot saw 0 of 3 times right,
on a question the other models find easy, keeps a posterior correct share of about
κμ/(κ + 3), far above the ~0 of such rows, and SLM-MUX pair accuracy comes out too high
(+0.22 pt on MATH-500 all q × 3, k = 3, where the pilot's own frequencies miss by 0.14).
Here the law of each model's per-question shares is estimated without a parametric form:

* **Top level.** For model m, the per-question shares ``g = (c, w, ⊥)`` follow an unknown
  law G_m on a grid of the simplex (resolution ``1/resolution``), fitted by nonparametric
  maximum likelihood (the Kiefer–Wolfowitz NPMLE, EM over the grid's weights) to the rows'
  counts. Point masses at "always right" and "always wrong" come out of the data when the
  data has them. G_m is fitted within strata of the question's difficulty as the *other*
  models saw it (their pooled correct share below 1/4, 1/4-3/4, above 3/4; a stratum of fewer
  than :data:`MIN_STRATUM` rows is merged into the middle one), which carries the shared
  difficulty across models. Each row's posterior over the grid is ``G_m(g) Π g^n``.
* **Wrong split.** Given the wrong mass, the split over wrong answers is
  ``ρ_mq ~ Dirichlet(λ_mc ō_q + β_mc/F_q · [new slot] + own wrong counts)``: ``ō_q`` the other
  models' wrong answers on q (pilot shares; shared attractor answers), ``F_q`` the wrong slots
  none of them used (new answers share ``β_mc``), and ``c`` one of two components, a row being
  in component c with probability ``w_mc``. Two components because rows differ in kind: on
  AIME most wrong rows scatter over many distinct answers (large λ + β), but some models lock
  on one wrong answer of a question (small λ + β, the own counts dominate); one component fits
  the scattered majority and then predicts too few confident wrong pluralities (measured:
  P(3 of 3 on one wrong answer) 0.007-0.014 against 0.048-0.049 for Qwen3-4B and Qwen3-14B on
  AIME all q × 4), which is what makes SLM-MUX pairs fail. ``(λ, β, w)`` maximise the mixture
  likelihood of each row's own wrong counts given the crowd, with a N(0, 3²) prior on the
  logs and the weight's logit.

The draws of :func:`eb_question_probs` are independent across models given the pilot (the
pilot's own counts and the strata carry the dependence). :func:`eb_population_probs` adds the
unseen questions of a population by the Bayesian bootstrap of
:mod:`slmmux_theory.inference.unseen`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, logsumexp

from slmmux_theory.inference.unseen import (
    generic_failure_probs,
    shared_failure_questions,
    stratified_unseen_picks,
    unseen_question_picks,
)

__all__ = [
    "EB_LAWS",
    "EB_UNSEEN_LAWS",
    "LOCAL_BANDWIDTH",
    "MIN_STRATUM",
    "WrongSplit",
    "difficulty_strata",
    "eb_population_probs",
    "eb_question_probs",
    "fit_grid_law",
    "fit_wrong_split",
    "grid_posterior",
    "local_grid_laws",
    "others_share",
    "simplex_grid",
]

EB_UNSEEN_LAWS = ("bootstrap", "stratified")
# A difficulty stratum needs this many rows of a model to get its own law.
MIN_STRATUM = 30
_STRATUM_EDGES = (0.25, 0.75)
# Kernel bandwidth of the local law in the other models' correct share (fixed a priori).
LOCAL_BANDWIDTH = 0.15
EB_LAWS = ("strata", "local")


def simplex_grid(resolution: int) -> np.ndarray:
    """Every point (c, w, ⊥) of the simplex with coordinates in multiples of 1/resolution.

    Returns:
      shape [(resolution + 1)(resolution + 2)/2, 3].

    >>> simplex_grid(1).tolist()
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    points = [(c, w, resolution - c - w) for c in range(resolution + 1)
              for w in range(resolution + 1 - c)]
    return np.array(points, dtype=np.float64) / resolution


def _log_likelihood(top, grid):
    """log Π_l g_l^{n_l} of rows [R, 3] at grid points [J, 3] -> [R, J] (0 · log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(top[:, None, :] > 0, top[:, None, :] * np.log(grid[None]), 0.0)
    return terms.sum(-1)


def fit_grid_law(top, grid, iterations: int = 300, row_weights=None) -> np.ndarray:
    """NPMLE of the law of per-row shares on a grid, by EM over the grid weights.

    Args:
      top: counts (correct, wrong, ⊥) of each row, shape [R, 3].
      grid: support points, shape [J, 3] (:func:`simplex_grid`).
      iterations: EM steps (each raises the likelihood; started from uniform weights).
      row_weights: weight of each row in the likelihood, shape [R] (None: all 1); a kernel in
        a covariate gives a local law.

    Returns:
      weights, shape [J], summing to 1.

    >>> w = fit_grid_law(np.array([[3, 0, 0]] * 9 + [[0, 3, 0]]), simplex_grid(2), 200)
    >>> round(float(w[-1]), 2), round(float(w[2]), 2)  # (1, 0, 0) and (0, 1, 0)
    (0.9, 0.1)
    """
    loglik = _log_likelihood(np.asarray(top, dtype=np.float64), grid)
    rows = np.ones(loglik.shape[0]) if row_weights is None else np.asarray(row_weights, float)
    rows = rows / rows.sum()
    log_w = np.full(grid.shape[0], -np.log(grid.shape[0]))
    for _ in range(iterations):
        joint = loglik + log_w
        post = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
        log_w = np.log(np.maximum(rows @ post, 1e-300))
    return np.exp(log_w - logsumexp(log_w))


def grid_posterior(top, grid, weights) -> np.ndarray:
    """Posterior of each row's shares over the grid, shape [R, J]."""
    joint = _log_likelihood(np.asarray(top, dtype=np.float64), grid) + np.log(
        np.maximum(weights, 1e-300))
    return np.exp(joint - logsumexp(joint, axis=1, keepdims=True))


def others_share(counts) -> np.ndarray:
    """The other models' pooled correct share on each question, per row, shape [M, Q]
    (0.5 where the others have no samples).

    >>> others_share(np.array([[[1, 0, 0]], [[0, 1, 0]], [[1, 1, 0]]])).tolist()
    [[0.3333333333333333], [0.6666666666666666], [0.5]]
    """
    counts = np.asarray(counts, dtype=np.float64)
    correct, total = counts[..., 0], counts.sum(-1)
    others_correct = correct.sum(0, keepdims=True) - correct
    others_total = total.sum(0, keepdims=True) - total
    return np.where(others_total > 0, others_correct / np.maximum(others_total, 1), 0.5)


def local_grid_laws(top, share, grid, iterations: int = 300, bandwidth: float = LOCAL_BANDWIDTH,
                    anchors: int = 11) -> np.ndarray:
    """Each row's prior law: the NPMLE of the rows weighted by a Gaussian kernel in the other
    models' correct share, fitted at ``anchors`` evenly spaced shares and interpolated
    linearly between the two nearest (a mixture of two laws is a law).

    Args:
      top: counts (correct, wrong, ⊥), shape [R, 3].
      share: the covariate of each row in [0, 1], shape [R] (:func:`others_share`).
      grid: support points [J, 3].

    Returns:
      prior weights per row, shape [R, J].
    """
    points = np.linspace(0.0, 1.0, anchors)
    laws = np.stack([fit_grid_law(top, grid, iterations,
                                  np.exp(-0.5 * ((share - a) / bandwidth) ** 2) + 1e-12)
                     for a in points])
    position = np.clip(share, 0.0, 1.0) * (anchors - 1)
    low = np.minimum(np.floor(position).astype(int), anchors - 2)
    upper = (position - low)[:, None]
    return (1.0 - upper) * laws[low] + upper * laws[low + 1]


def difficulty_strata(counts) -> np.ndarray:
    """Stratum (0 hard, 1 middle, 2 easy) of every (model, question) row by the other models'
    pooled correct share on the question; a stratum of fewer than :data:`MIN_STRATUM` rows of
    a model is merged into the middle one (with one model: all middle).

    >>> difficulty_strata(np.array([[[1, 0, 0]], [[0, 1, 0]]])).tolist()
    [[1], [1]]
    """
    counts = np.asarray(counts, dtype=np.float64)
    strata = np.digitize(others_share(counts), _STRATUM_EDGES)
    for m in range(counts.shape[0]):
        for s in (0, 2):
            if (strata[m] == s).sum() < MIN_STRATUM:
                strata[m, strata[m] == s] = 1
    return strata


class WrongSplit(NamedTuple):
    """Fitted split of the wrong mass: a two-component mixture (module docstring).

    Attributes:
      follow: λ_mc, weight of the other models' wrong answers, shape [models, 2].
      novelty: β_mc, weight of answers none of them gave, shape [models, 2].
      weight: share of rows in each component, shape [models, 2] (component 0 the one with
        the smaller total λ + β: rows locked on few wrong answers).
    """

    follow: np.ndarray
    novelty: np.ndarray
    weight: np.ndarray


def _crowd(counts):
    """Other models' wrong shares [M, Q, W] and the new-slot indicator / F_q [M, Q, W]."""
    wrong = np.asarray(counts, dtype=np.float64)[..., 1:-1]
    others = wrong.sum(0, keepdims=True) - wrong
    total = others.sum(-1, keepdims=True)
    shares = np.where(total > 0, others / np.maximum(total, 1), 0.0)
    free = others == 0
    new = free / np.maximum(free.sum(-1, keepdims=True), 1)
    return shares, new, (total[..., 0] > 0)


def _split_alpha(follow, novelty, shares, new, has_crowd):
    return np.where(has_crowd[..., None], follow * shares, 0.0) + novelty * new


def _split_loglik(follow, novelty, own, shares, new, crowd):
    """Dirichlet-multinomial log-likelihood of each row's own wrong counts (labelled, without
    the multinomial coefficient, which no parameter changes), shape [rows]."""
    alpha = np.maximum(_split_alpha(follow, novelty, shares, new, crowd), 1e-300)
    used = own > 0
    return (gammaln(alpha.sum(-1)) - gammaln(alpha.sum(-1) + own.sum(-1))
            + np.where(used, gammaln(alpha + own) - gammaln(alpha), 0.0).sum(-1))


def _component_posterior(split, m, own, shares, new, crowd):
    """P(component | own wrong counts) of rows of model m, shape [rows, 2]."""
    log = np.stack([np.log(split.weight[m, c]) + _split_loglik(
        split.follow[m, c], split.novelty[m, c], own, shares, new, crowd) for c in (0, 1)], -1)
    return np.exp(log - logsumexp(log, axis=-1, keepdims=True))


def fit_wrong_split(counts, prior_scale: float = 3.0) -> WrongSplit:
    """The two-component split of every model by maximum a posteriori (module docstring):
    N(0, prior_scale²) on log λ, log β and the logit of the weight.

    >>> split = fit_wrong_split(np.array([[[0, 2, 0, 0]], [[0, 2, 0, 0]]]))
    >>> bool(split.follow[0].max() > split.novelty[0].min())
    True
    """
    counts = np.asarray(counts, dtype=np.float64)
    shares, new, has_crowd = _crowd(counts)
    wrong = counts[..., 1:-1]
    models = counts.shape[0]
    follow, novelty = np.ones((models, 2)), np.ones((models, 2))
    weight = np.full((models, 2), 0.5)
    for m in range(models):
        rows = wrong[m].sum(-1) > 0
        if not rows.any():
            continue
        data = (wrong[m, rows], shares[m, rows], new[m, rows], has_crowd[m, rows])

        def loss(theta):
            share = 1.0 / (1.0 + np.exp(-theta[4]))
            log = np.logaddexp(
                np.log(share) + _split_loglik(np.exp(theta[0]), np.exp(theta[1]), *data),
                np.log1p(-share) + _split_loglik(np.exp(theta[2]), np.exp(theta[3]), *data))
            return -log.sum() + 0.5 * float(theta @ theta) / prior_scale**2

        # Started apart (a locked and a dispersed component) so that the two can separate.
        theta = minimize(loss, np.array([-1.0, -1.0, 1.0, 1.0, 0.0]), method="L-BFGS-B",
                         bounds=[(-10.0, 10.0)] * 5).x
        pairs = [(np.exp(theta[0]), np.exp(theta[1])), (np.exp(theta[2]), np.exp(theta[3]))]
        share = 1.0 / (1.0 + np.exp(-theta[4]))
        shares_of = [share, 1.0 - share]
        order = np.argsort([a + b for a, b in pairs])
        for c, o in enumerate(order):
            follow[m, c], novelty[m, c] = pairs[o]
            weight[m, c] = shares_of[o]
    return WrongSplit(follow, novelty, weight)


def _dirichlet(rng, alpha):
    """Dirichlet draws along the last axis, exact for tiny α (log-space gamma draws:
    G(α) = G(α + 1) U^(1/α)); zero α gives zero mass."""
    alpha = np.asarray(alpha, dtype=np.float64)
    positive = alpha > 0
    safe = np.where(positive, alpha, 1.0)
    log_gamma = (np.log(rng.standard_gamma(safe + 1.0))
                 + np.log(rng.uniform(size=alpha.shape)) / safe)
    log_gamma = np.where(positive, log_gamma, -np.inf)
    top = log_gamma.max(-1, keepdims=True)
    weights = np.exp(log_gamma - np.where(np.isfinite(top), top, 0.0))
    return weights / np.maximum(weights.sum(-1, keepdims=True), 1e-300)


def eb_question_probs(key, counts, num_draws: int, *, resolution: int = 40,
                      iterations: int = 300, law: str = "strata") -> np.ndarray:
    """Posterior draws of every pilot (model, question)'s answer law.

    Args:
      key: jax.random key (all randomness; a NumPy generator is seeded from it).
      counts: pilot counts, shape [models, Q, answers] (slot 0 correct, last ⊥).
      num_draws: draws.
      resolution: grid steps per unit of the (correct, wrong, ⊥) simplex.
      iterations: EM steps of each grid law.
      law: ``"strata"`` (one NPMLE per model and difficulty stratum,
        :func:`difficulty_strata`) or ``"local"`` (a kernel-weighted NPMLE in the other
        models' correct share, :func:`local_grid_laws`: no stratum is too small to fit, so
        the shared difficulty also reaches pilots of 30 questions).

    Returns:
      probs, shape [draws, models, Q, answers]; rows sum to 1.

    >>> counts = np.array([[[3, 0, 0, 0], [0, 3, 0, 0]], [[3, 0, 0, 0], [2, 1, 0, 0]]])
    >>> eb_question_probs(jax.random.PRNGKey(0), counts, 4, resolution=4).shape
    (4, 2, 2, 4)
    """
    counts = np.asarray(counts, dtype=np.int64)
    models, questions, answers = counts.shape
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())
    grid = simplex_grid(resolution)
    top = np.stack([counts[..., 0], counts[..., 1:-1].sum(-1), counts[..., -1]], -1)
    if law not in EB_LAWS:
        raise ValueError(f"law must be one of {EB_LAWS}, got {law!r}")
    post = np.zeros((models, questions, grid.shape[0]))
    if law == "local":
        share = others_share(counts)
        for m in range(models):
            prior = local_grid_laws(top[m], share[m], grid, iterations)
            joint = _log_likelihood(top[m].astype(np.float64), grid) + np.log(
                np.maximum(prior, 1e-300))
            post[m] = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    else:
        strata = difficulty_strata(counts)
        for m in range(models):
            for s in np.unique(strata[m]):
                rows = strata[m] == s
                weights = fit_grid_law(top[m, rows], grid, iterations)
                post[m, rows] = grid_posterior(top[m, rows], grid, weights)
    cumulative = np.cumsum(post, -1)
    uniform = rng.uniform(size=(num_draws, models, questions, 1))
    index = np.minimum((cumulative[None] < uniform * cumulative[None, ..., -1:]).sum(-1),
                       grid.shape[0] - 1)
    shares = grid[index]  # [draws, models, questions, 3]
    split = fit_wrong_split(counts)
    sh, new, crowd = _crowd(counts)
    own = counts[..., 1:-1].astype(np.float64)
    # Per row and draw, the component (locked or dispersed) from its posterior given the row's
    # own wrong counts, then the split from that component's Dirichlet posterior.
    component = np.zeros((num_draws, models, questions), dtype=np.int64)
    for m in range(models):
        post_c = _component_posterior(split, m, own[m], sh[m], new[m], crowd[m])
        component[:, m] = rng.uniform(size=(num_draws, questions)) < post_c[None, :, 1]
    follow = np.take_along_axis(split.follow[None, :, None, :], component[..., None], -1)
    novelty = np.take_along_axis(split.novelty[None, :, None, :], component[..., None], -1)
    alpha = _split_alpha(follow, novelty, sh[None], new[None], crowd[None]) + own[None]
    rho = _dirichlet(rng, alpha)
    return np.concatenate([shares[..., :1], shares[..., 1:2] * rho, shares[..., 2:]], -1)


def eb_population_probs(key, counts, num_questions: int, num_draws: int, *,
                        unseen: str = "bootstrap", resolution: int = 40,
                        law: str = "strata") -> np.ndarray:
    """Answer laws of a population of N questions: the pilot's Q first
    (:func:`eb_question_probs`), then N - Q unseen questions standing in as pilot questions
    picked by the Bayesian bootstrap (``"bootstrap"``) or its two-strata version
    (``"stratified"``, :func:`slmmux_theory.inference.unseen.stratified_unseen_picks`).

    Returns:
      probs, shape [draws, models, N, answers].

    >>> counts = np.array([[[3, 0, 0, 0], [0, 3, 0, 0]], [[3, 0, 0, 0], [2, 1, 0, 0]]])
    >>> eb_population_probs(jax.random.PRNGKey(0), counts, 5, 3, resolution=4).shape
    (3, 2, 5, 4)
    """
    if unseen not in EB_UNSEEN_LAWS:
        raise ValueError(f"unseen must be one of {EB_UNSEEN_LAWS}, got {unseen!r}")
    counts = np.asarray(counts)
    models, pilot_size, answers = counts.shape
    if num_questions < pilot_size:
        raise ValueError(f"population {num_questions} smaller than the pilot {pilot_size}")
    law_key, pick_key = jax.random.split(key)
    probs = eb_question_probs(law_key, counts, num_draws, resolution=resolution, law=law)
    if num_questions == pilot_size:
        return probs
    missing = num_questions - pilot_size
    if unseen == "stratified":
        picks = stratified_unseen_picks(pick_key, shared_failure_questions(counts), missing,
                                        num_draws)
    else:
        picks = unseen_question_picks(pick_key, pilot_size, missing, num_draws)
    new = np.take_along_axis(probs, np.minimum(picks, pilot_size - 1)[:, None, :, None], axis=2)
    new = np.where((picks == pilot_size)[:, None, :, None],
                   generic_failure_probs(new.shape[:-1], answers), new)
    return np.concatenate([probs, new], axis=2)
