"""The zero-inflated Beta tree: some questions are never solved, and their wrong answers say so.

Place in the layers: pure theory (NumPy/SciPy over arrays; no I/O), beside
:mod:`slmmux_theory.inference.forecast` (whose Beta-tree law it extends). Input: one model's
pilot counts ``[questions, answers]`` (slot 0 correct, wrong slots 1..A-2, last slot ⊥).

pass@k at large k is ``1 - E[(1 - p)^k]``: it is decided by the mass of the per-question law of
p_correct near 0. A Beta law spreads the questions a model never solves over small positive p
(and so forecasts that enough samples solve them); with 4 samples per question the pilot's
success counts alone barely tell a point mass at 0 from a Beta with a small α. The pilot's
*wrong* answers do: a question the model cannot solve often draws the same wrong answer every
time (on AIME 2024, 4-of-4 identical wrong answers in a pilot go with 0 of 80 correct three times
in four; one-off wrong answers half the time). The law, per question:

* with probability π: **unsolvable**, p_correct = 0; the samples are wrong with a share
  ``~ Beta(u₀, v₀)`` (else ⊥) and the wrong ones split by a Dirichlet process of concentration γ₀;
* else **solvable**: the Beta-tree law (``forecast.BetaTreeLaw``): ``p_correct = c q``,
  ``q ~ Beta(α, β)``, the other answers a mixture of G (u, v, γ) trees.

The two kinds are told apart by both the success count (any success: solvable) and the wrong
answers' clustering (γ₀ against γ); all parameters are fitted jointly by maximum likelihood
(L-BFGS-B from several starts). π = 0 is the Beta tree, so the candidates of
:func:`choose_forecast_law` (Beta tree with G = 1, 2, and this law with G = 1) are compared by the
cross-validated likelihood of the pilot's whole answer sequences.

Forecasts per question by the posterior: the unsolvable kind has pass@k = maj@k = 0, so both
are ``P(solvable | pilot) ×`` the Beta tree's posterior forecast.

Measured (``experiments/forecasts/README.md``): it lowers MATH-500's pass@64 over-forecast but
over-corrects on AIME 2024, where many questions 0 of 4 are solved a few times in 80; the pilot
fits both laws' success counts equally well, so the mass below p = 1/80 is not identified by it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logit, logsumexp

from slmmux_theory.inference.forecast import (
    BetaTreeLaw,
    ScaledBeta,
    _LOG_HIGH,
    _LOG_LOW,
    _log_moment,
    _other_log_likelihood,
    _other_parts,
    _unpack_other,
    beta_tree_forecast,
    fit_beta_tree,
    fit_scaled_beta_binomial,
)

__all__ = [
    "CANDIDATES",
    "ForecastChoice",
    "ZeroInflatedLaw",
    "choose_forecast_law",
    "cross_validated_scores",
    "fit_candidate",
    "fit_zero_inflated",
    "law_forecast",
    "law_log_likelihood",
    "zero_inflated_forecast",
    "zero_inflated_log_likelihood",
    "zero_inflated_question_log_likelihood",
]


class ZeroInflatedLaw(NamedTuple):
    """A Beta tree (the solvable questions) and a share π of unsolvable questions.

    Attributes:
      solvable: the law of the solvable questions (``forecast.BetaTreeLaw``; its
        ``log_likelihood`` is unused).
      unsolvable: π, the share of questions with p_correct = 0.
      wrong: u₀ of the unsolvable questions' wrong share ``~ Beta(u₀, v₀)``.
      abstain: v₀.
      split: γ₀, their wrong answers' Dirichlet-process concentration.
      log_likelihood: maximised log-likelihood of the pilot's answer sequences.
    """

    solvable: BetaTreeLaw
    unsolvable: float
    wrong: float
    abstain: float
    split: float
    log_likelihood: float = float("nan")


# The candidates of the cross-validated choice, in order of preference on a tie.
CANDIDATES = ("G=1", "G=2", "zero-inflated")


class ForecastChoice(NamedTuple):
    """The law chosen by cross-validated pilot likelihood (:func:`choose_forecast_law`).

    Attributes:
      law: the chosen law (``BetaTreeLaw`` or ``ZeroInflatedLaw``), fitted on every question.
      name: its candidate name (``"G=1"``, ``"G=2"``, ``"zero-inflated"``).
      scores: held-out log-likelihood of the pilot's answer sequences per candidate.
    """

    law: object
    name: str
    scores: dict


def _kinds(law: ZeroInflatedLaw, counts):
    """[Q, 2] log-likelihood of each question's sequence and kind (solvable, unsolvable),
    the prior weights included."""
    counts = np.asarray(counts, dtype=np.float64)
    s, n = counts[:, 0], counts.sum(1)
    tree = law.solvable
    parts = _other_parts(counts)
    correct = s * np.log(tree.correct.scale) + _log_moment(
        tree.correct.alpha, tree.correct.beta, tree.correct.scale, s, n - s)
    others = logsumexp(_other_log_likelihood(tree.wrong, tree.abstain, tree.split, parts)
                       + np.log(tree.weights), axis=1)
    never = _other_log_likelihood(np.array([law.wrong]), np.array([law.abstain]),
                                  np.array([law.split]), parts)[:, 0]
    pi = law.unsolvable
    solvable = (np.log1p(-pi) if pi < 1 else -np.inf) + correct + others
    unsolvable = np.where(s > 0, -np.inf, (np.log(pi) if pi > 0 else -np.inf) + never)
    return np.stack([solvable, unsolvable], axis=1)


def zero_inflated_question_log_likelihood(law: ZeroInflatedLaw, counts) -> np.ndarray:
    """Log-likelihood of each question's answer sequence, shape [Q].

    >>> tree = BetaTreeLaw(ScaledBeta(1.0, 1.0, 1.0), np.ones(1), np.ones(1), np.ones(1),
    ...                    np.ones(1))
    >>> law = ZeroInflatedLaw(tree, 0.5, 1.0, 1.0, 1.0)
    >>> round(float(np.exp(zero_inflated_question_log_likelihood(law, np.array([[1, 0, 0]]))[0])),
    ...       6)  # half solvable (1/2 correct) and never correct when unsolvable
    0.25
    """
    return logsumexp(_kinds(law, counts), axis=1)


def zero_inflated_log_likelihood(law: ZeroInflatedLaw, counts) -> float:
    """Log-likelihood of the pilot's answer sequences [Q, A] (the sum over questions)."""
    return float(zero_inflated_question_log_likelihood(law, counts).sum())


def _unpack(x, g):
    """The law from the fit's vector: log α, log β, logit c, logit π, log γ₀, then the solvable
    questions' tree (log u, log v, log γ [G each], logits [G - 1]); the unsolvable kind's wrong
    share law (u₀, v₀) is the first component's (u, v)."""
    correct = ScaledBeta(float(np.exp(x[0])), float(np.exp(x[1])), float(expit(x[2])))
    weights, u, v, gamma = _unpack_other(x[5:], g)
    tree = BetaTreeLaw(correct, weights, u, v, gamma)
    return ZeroInflatedLaw(tree, float(expit(x[3])), float(u[0]), float(v[0]),
                           float(np.exp(x[4])))


def _pack(law: ZeroInflatedLaw):
    tree = law.solvable
    logits = np.log(tree.weights[1:]) - np.log(tree.weights[0])
    return np.concatenate([
        [np.log(tree.correct.alpha), np.log(tree.correct.beta),
         logit(np.clip(tree.correct.scale, expit(-8.0), expit(25.0))),
         logit(law.unsolvable), np.log(law.split)],
        np.log(tree.wrong), np.log(tree.abstain), np.log(tree.split), logits])


def fit_zero_inflated(counts, components: int = 1) -> ZeroInflatedLaw:
    """Maximum-likelihood zero-inflated Beta tree from one model's pilot counts [Q, A].

    L-BFGS-B over all parameters jointly (the kinds couple the correctness and the wrong
    answers, so the likelihood no longer factorises), from starts at the Beta tree's fit with
    π → 0 and with π in {0.05, 0.3} × the unsolvable kind's γ₀ in {0.1, 1}; the best optimum
    is returned. The unsolvable kind's wrong share law (u₀, v₀) is the solvable questions' first
    component's (u, v): what tells the kinds apart is the success count and the clustering of
    the wrong answers (γ₀ against γ); two more free parameters overfit a 30-question pilot.
    π is kept in [1.2e-6, 0.9975] (logit in [-12, 6]): at π → 0 the law is the Beta tree.

    Args:
      counts: pilot counts, shape [questions, answers].
      components: G of the solvable questions' wrong-answer mixture.

    >>> pilot = np.array([[3, 1, 0, 0], [0, 4, 0, 0], [4, 0, 0, 0], [0, 1, 1, 2]] * 5)
    >>> law = fit_zero_inflated(pilot)
    >>> 0 < law.unsolvable < 1 and law.log_likelihood <= 0
    True
    """
    counts = np.asarray(counts, dtype=np.float64)
    g = int(components)
    # Questions with equal counts up to the order of the wrong slots share one term.
    keyed = np.concatenate([counts[:, :1], -np.sort(-counts[:, 1:-1], axis=1), counts[:, -1:]],
                           axis=1)
    rows, repeats = np.unique(keyed, axis=0, return_counts=True)

    def negative(x):
        value = -float(repeats @ zero_inflated_question_log_likelihood(_unpack(x, g), rows))
        return value if np.isfinite(value) else 1e300

    tree = fit_beta_tree(counts, g)
    bounds = ([(_LOG_LOW, _LOG_HIGH)] * 2 + [(-8.0, 25.0), (-12.0, 6.0)]
              + [(_LOG_LOW, _LOG_HIGH)] * (1 + 3 * g)
              + [(-10.0, 10.0)] * (g - 1))
    best = None
    # The first start is the Beta tree itself (π at its lower bound), so the fit's likelihood
    # is never below the Beta tree's (up to π = 1.2e-6).
    for pi, gamma in ((expit(-12.0), 1.0), (0.05, 0.1), (0.05, 1.0), (0.3, 0.1), (0.3, 1.0)):
        start = ZeroInflatedLaw(tree, pi, float(tree.wrong[0]), float(tree.abstain[0]), gamma)
        x0 = np.clip(_pack(start), [b[0] for b in bounds], [b[1] for b in bounds])
        result = minimize(negative, x0, method="L-BFGS-B", bounds=bounds)
        if best is None or result.fun < best.fun:
            best = result
    return _unpack(best.x, g)._replace(log_likelihood=-float(best.fun))


def zero_inflated_forecast(law: ZeroInflatedLaw, counts, pass_ks=(), majority_ks=()):
    """Per-question posterior pass@k and maj@k: P(solvable | pilot) × the Beta tree's.

    Returns:
      (pass [len(pass_ks), Q], majority [len(majority_ks), Q]).

    >>> tree = BetaTreeLaw(ScaledBeta(1.0, 1.0, 1.0), np.ones(1), np.ones(1), np.ones(1),
    ...                    np.ones(1))
    >>> p, _ = zero_inflated_forecast(ZeroInflatedLaw(tree, 0.5, 1.0, 1.0, 1.0),
    ...                               np.array([[0, 1, 0]]), [1])
    >>> round(float(p[0, 0]), 6)  # P(solvable | 1 wrong) = 1/3 (1/8 vs 1/4), then 1/3
    0.111111
    """
    counts = np.asarray(counts, dtype=np.float64)
    kinds = _kinds(law, counts)
    solvable = np.exp(kinds[:, 0] - logsumexp(kinds, axis=1))
    passes, majorities = beta_tree_forecast(law.solvable, counts, pass_ks, majority_ks)
    return solvable * passes, solvable * majorities


def law_log_likelihood(law, counts) -> np.ndarray:
    """Per-question log-likelihood [Q] of the answer sequences under either kind of law."""
    counts = np.asarray(counts, dtype=np.float64)
    if isinstance(law, ZeroInflatedLaw):
        return zero_inflated_question_log_likelihood(law, counts)
    return zero_inflated_question_log_likelihood(ZeroInflatedLaw(law, 0.0, 1.0, 1.0, 1.0),
                                                 counts)


def law_forecast(law, counts, pass_ks=(), majority_ks=()):
    """Per-question forecasts under either kind of law (Beta tree or zero-inflated)."""
    if isinstance(law, ZeroInflatedLaw):
        return zero_inflated_forecast(law, counts, pass_ks, majority_ks)
    return beta_tree_forecast(law, counts, pass_ks, majority_ks)


def fit_candidate(name: str, counts):
    """Fit one candidate law by name: ``"G=<n>"`` (Beta tree, n components) or
    ``"zero-inflated"`` (G = 1)."""
    if name == "zero-inflated":
        return fit_zero_inflated(counts, 1)
    return fit_beta_tree(counts, int(name.split("=")[1]))


def cross_validated_scores(counts, candidates=CANDIDATES, folds: int = 5, seed: int = 0) -> dict:
    """Held-out log-likelihood of the pilot's whole answer sequences per candidate law.

    The pilot's questions are split into ``folds`` folds (a permutation seeded by ``seed``, the
    same folds as ``forecast.choose_beta_tree``); each candidate is fitted on the other folds
    and scored by the log-likelihood of the held-out questions' answer sequences (correctness
    and other answers: the zero-inflated law changes both). Between the Beta trees the
    correctness term is common, so they rank as in ``forecast.choose_beta_tree``.

    Returns:
      {candidate name: summed held-out log-likelihood}.
    """
    counts = np.asarray(counts, dtype=np.float64)
    fold_of = np.random.default_rng(seed).permutation(len(counts)) % folds
    scores = {}
    for name in candidates:
        scores[name] = 0.0
        for f in range(folds):
            held = fold_of == f
            if np.any(held):
                law = fit_candidate(name, counts[~held])
                scores[name] += float(law_log_likelihood(law, counts[held]).sum())
    return scores


def choose_forecast_law(counts, candidates=CANDIDATES, folds: int = 5,
                        seed: int = 0) -> ForecastChoice:
    """The candidate law with the best cross-validated log-likelihood of the pilot's answers.

    Scores by :func:`cross_validated_scores`; the best total wins (ties: the earlier candidate)
    and is refitted on every question. Only the pilot is used.

    >>> pilot = np.array([[3, 1, 0, 0], [0, 2, 2, 0], [4, 0, 0, 0], [1, 3, 0, 0]] * 5)
    >>> choose_forecast_law(pilot, ("G=1",), folds=2).name
    'G=1'
    """
    scores = cross_validated_scores(counts, candidates, folds, seed)
    chosen = max(candidates, key=lambda c: (scores[c], -candidates.index(c)))
    return ForecastChoice(fit_candidate(chosen, counts), chosen, scores)
