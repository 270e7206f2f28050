"""Single-model forecasts of pass@k and maj@k from a pilot of a few samples per question.

Place in the layers: pure theory (NumPy/SciPy over arrays; no I/O). Input: one model's pilot
counts ``[questions, answers]`` (slot 0 correct, wrong slots 1..A-2 — distinct wrong answers —
and the last slot ⊥). Output: the forecast mean of pass@k / maj@k over the pilot's questions.

* **Scaled Beta-binomial** (Schaeffer et al., ICML 2025; METHODS.md §12.2), the baseline:
  per-question pass@1 ``p = c q`` with ``q ~ Beta(α, β)``, ``0 < c <= 1``, fitted by maximum
  likelihood on the pilot's (successes, trials); the forecast is
  ``pass@k = 1 - E[(1 - c q)^k]`` under the fitted law (the paper's aggregate forecast, the
  same number for every question). :func:`scaled_beta_pass_at_k`. Also given per question,
  conditioned on its own pilot successes (:func:`scaled_beta_conditional_pass_at_k`), which
  the paper does not do. Moments use the positive expansion
  ``(1 - c q)^m = Σ_j C(m, j) (1 - c)^(m - j) c^j (1 - q)^j``, so every term is a Beta
  function and nothing cancels (k up to hundreds).
* **Categorical empirical Bayes** (ours): per question the answer distribution is a
  Dirichlet tree: ``(π_c, π_w, π_⊥) ~ Dirichlet(a_c, a_w, a_b)`` and the wrong mass split over
  ever-new wrong answers by a Dirichlet process of concentration ``γ`` (small γ: the wrong
  answers cluster on an attractor the vote must beat; large γ: they scatter and a weak correct
  answer still wins the plurality), optionally a mixture of G such laws (easy and hard
  questions). The parameters are fitted by maximum likelihood (Dirichlet-multinomial times
  Chinese-restaurant likelihood of the pilot's answers); each question's posterior is again
  such a law with its pilot counts added. It forecasts pass@k (a Beta-binomial expectation)
  **and** maj@k (:func:`slmmux_theory.inference.majority.dirichlet_tree_majority`, exact: the
  process's unseen wrong answers enter through their Chinese-restaurant generating function).
* **Beta tree** (ours, the one the forecasts study reports): the scaled Beta-binomial's law of
  p_correct, fitted on correctness alone (so pass@k is the baseline's law, and the lower tail
  of p_correct that decides pass@k at large k is as flexible as the baseline's), with the other
  answers a tree: wrong vs ⊥ by a Beta(u, v), the wrong ones split by a Dirichlet process of
  concentration γ, (u, v, γ) a mixture of G components chosen by cross-validation on the pilot
  (:func:`choose_beta_tree`). Forecasts per question by the posterior
  (:func:`beta_tree_forecast`; maj@k exact by
  :func:`slmmux_theory.inference.majority.tree_majority`). The categorical law above ties
  p_correct's Beta to the wrong/⊥ split (its β is a_w + a_b) and has no scale: its pass@k at
  large k is too high (``experiments/forecasts/README.md``, "Diagnosis").
* **Plug-in**: the pilot's frequencies as the answer distribution (:func:`plug_in_forecast`).

Truth for an evaluation: :func:`unbiased_pass_at_k` and
:func:`slmmux_theory.inference.majority.hypergeometric_majority` on the full recorded samples.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, logsumexp

from slmmux_theory.inference.majority import (
    dirichlet_tree_majority,
    multinomial_majority,
    tree_majority,
)

__all__ = [
    "BetaTreeLaw",
    "CategoricalLaw",
    "ScaledBeta",
    "BetaTreeChoice",
    "beta_tree_forecast",
    "beta_tree_log_likelihood",
    "categorical_forecast",
    "categorical_log_likelihood",
    "choose_beta_tree",
    "fit_beta_tree",
    "fit_categorical",
    "fit_scaled_beta_binomial",
    "plug_in_forecast",
    "scaled_beta_conditional_pass_at_k",
    "scaled_beta_correct_law",
    "scaled_beta_log_likelihood",
    "scaled_beta_pass_at_k",
    "unbiased_pass_at_k",
]

# Parameter box of the fits (log scale): wide enough for any benchmark, finite for L-BFGS-B.
_LOG_LOW, _LOG_HIGH = np.log(1e-3), np.log(1e3)


class ScaledBeta(NamedTuple):
    """The law ``p = scale · q``, ``q ~ Beta(alpha, beta)`` of per-question pass@1.

    Attributes:
      alpha, beta: Beta parameters (> 0).
      scale: c in (0, 1] (1: the plain Beta-binomial).
      log_likelihood: maximised log-likelihood of the pilot (NaN when not fitted).
    """

    alpha: float
    beta: float
    scale: float
    log_likelihood: float = float("nan")


def _log_moment(alpha, beta, scale, s, m):
    """log E[q^s (1 - c q)^m] under q ~ Beta(α, β), elementwise over s and m (whole numbers)."""
    s = np.asarray(s, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    j = np.arange(int(np.max(m, initial=0)) + 1, dtype=np.float64)
    shape = np.broadcast_shapes(s.shape, m.shape)
    s, m = np.broadcast_to(s, shape)[..., None], np.broadcast_to(m, shape)[..., None]
    valid = j <= m
    rest = np.where(valid, m - j, 0.0)
    log_one_minus = np.log1p(-scale) if scale < 1 else -np.inf
    # (1 - c)^(m - j): exactly 1 when m = j even at c = 1.
    power = np.where(rest > 0, np.where(rest > 0, rest, 1.0) * log_one_minus, 0.0)
    terms = (gammaln(m + 1) - gammaln(j + 1) - gammaln(rest + 1) + power
             + j * np.log(scale) + betaln(alpha + s, beta + j) - betaln(alpha, beta))
    return logsumexp(np.where(valid, terms, -np.inf), axis=-1)


def scaled_beta_log_likelihood(law: ScaledBeta, successes, trials) -> float:
    """Log-likelihood of per-question (successes, trials) under the scaled Beta-binomial.

    ``P(s | n) = C(n, s) c^s E[q^s (1 - c q)^(n - s)]``.

    >>> law = ScaledBeta(1.0, 1.0, 1.0)
    >>> round(float(np.exp(scaled_beta_log_likelihood(law, [1], [2]))), 6)  # uniform over 0..2
    0.333333
    """
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    log_binomial = gammaln(n + 1) - gammaln(s + 1) - gammaln(n - s + 1)
    return float((log_binomial + s * np.log(law.scale)
                  + _log_moment(law.alpha, law.beta, law.scale, s, n - s)).sum())


def fit_scaled_beta_binomial(successes, trials, *, scaled: bool = True) -> ScaledBeta:
    """Maximum-likelihood scaled Beta-binomial (``scaled=False``: c = 1, the Beta-binomial).

    L-BFGS-B on (log α, log β, logit c) from several starts (method of moments and a small
    grid); the best optimum is returned.

    Args:
      successes: correct samples per question, shape [questions].
      trials: samples per question, shape [questions].
      scaled: fit c (else c = 1).

    >>> law = fit_scaled_beta_binomial([0, 4, 4, 2, 0, 4], [4] * 6, scaled=False)
    >>> law.alpha > 0 and law.scale == 1.0
    True
    """
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if s.shape != n.shape or s.ndim != 1 or np.any(s < 0) or np.any(s > n) or np.any(n < 1):
        raise ValueError("successes and trials must be 1-d, with 0 <= successes <= trials, "
                         "trials >= 1")
    # Questions with the same (s, n) share one term: the fit is over distinct pairs.
    pairs, weight = np.unique(np.stack([s, n], 1), axis=0, return_counts=True)

    def law_of(x):
        scale = float(expit(x[2])) if scaled else 1.0
        return ScaledBeta(float(np.exp(x[0])), float(np.exp(x[1])), scale)

    def negative(x):
        law = law_of(x)
        ps, pn = pairs[:, 0], pairs[:, 1]
        per_pair = (gammaln(pn + 1) - gammaln(ps + 1) - gammaln(pn - ps + 1)
                    + ps * np.log(law.scale)
                    + _log_moment(law.alpha, law.beta, law.scale, ps, pn - ps))
        value = -float((weight * per_pair).sum())
        return value if np.isfinite(value) else 1e300

    mean = np.clip((s / n).mean(), 0.02, 0.98)
    spread = max(float((s / n).var()), 1e-3)
    total = np.clip(mean * (1 - mean) / spread - 1, 0.05, 100.0)
    starts = [(np.log(mean * total), np.log((1 - mean) * total))]
    starts += [(np.log(0.3), np.log(0.3)), (np.log(1.0), np.log(1.0))]
    scales = (4.0, 1.0) if scaled else (0.0,)
    bounds = [(_LOG_LOW, _LOG_HIGH)] * 2 + ([(-8.0, 25.0)] if scaled else [(0.0, 0.0)])
    best = None
    for a, b in starts:
        for c in scales:
            result = minimize(negative, np.array([a, b, c]), method="L-BFGS-B", bounds=bounds)
            if best is None or result.fun < best.fun:
                best = result
    law = law_of(best.x)
    return law._replace(log_likelihood=-float(best.fun))


def scaled_beta_pass_at_k(law: ScaledBeta, ks) -> np.ndarray:
    """The paper's forecast ``pass@k = 1 - E[(1 - c q)^k]`` for each k.

    >>> [round(float(v), 6) for v in scaled_beta_pass_at_k(ScaledBeta(1.0, 1.0, 1.0), [1, 3])]
    [0.5, 0.75]
    """
    ks = np.asarray(ks, dtype=np.float64)
    return -np.expm1(_log_moment(law.alpha, law.beta, law.scale, np.zeros_like(ks), ks))


def scaled_beta_conditional_pass_at_k(law: ScaledBeta, successes, trials, ks) -> np.ndarray:
    """Per-question posterior pass@k given its pilot (s of n): ``1 - E[(1 - cq)^k | s, n]``.

    Returns:
      shape [len(ks), questions].

    >>> v = scaled_beta_conditional_pass_at_k(ScaledBeta(1.0, 1.0, 1.0), [0], [1], [1])
    >>> round(float(v[0, 0]), 6)  # posterior Beta(1, 2): mean 1/3
    0.333333
    """
    s = np.asarray(successes, dtype=np.float64)[None]
    fails = (np.asarray(trials, dtype=np.float64) - s[0])[None]
    ks = np.asarray(ks, dtype=np.float64)[:, None]
    top = _log_moment(law.alpha, law.beta, law.scale, s, fails + ks)
    bottom = _log_moment(law.alpha, law.beta, law.scale, s, fails)
    return -np.expm1(top - bottom)


def scaled_beta_correct_law(law: ScaledBeta, successes, trials, k: int) -> np.ndarray:
    """Per-question posterior law of the correct count among k new samples.

    ``P(C = j | s of n) = C(k, j) c^j E[q^(s+j) (1 - cq)^(n-s+k-j)] / E[q^s (1 - cq)^(n-s)]``
    under the prior q ~ Beta(α, β) (the c^s of the pilot cancels).

    Returns:
      shape [questions, k + 1], rows summing to 1; ``1 - law[:, 0]`` is
      :func:`scaled_beta_conditional_pass_at_k` at k.

    >>> law = scaled_beta_correct_law(ScaledBeta(1.0, 1.0, 1.0), [0], [1], 1)
    >>> [round(float(v), 6) for v in law[0]]  # posterior Beta(1, 2)
    [0.666667, 0.333333]
    """
    s = np.asarray(successes, dtype=np.float64)[:, None]
    fails = np.asarray(trials, dtype=np.float64)[:, None] - s
    j = np.arange(k + 1, dtype=np.float64)
    log_choose = gammaln(k + 1.0) - gammaln(j + 1.0) - gammaln(k - j + 1.0)
    top = _log_moment(law.alpha, law.beta, law.scale, s + j, fails + k - j)
    bottom = _log_moment(law.alpha, law.beta, law.scale, s, fails)
    return np.exp(log_choose + j * np.log(law.scale) + top - bottom)


def unbiased_pass_at_k(correct, total, k: int) -> np.ndarray:
    """The unbiased estimator ``1 - C(n - c, k) / C(n, k)`` per question.

    >>> [round(float(v), 12) for v in unbiased_pass_at_k(np.array([1, 0]), np.array([4, 4]), 2)]
    [0.5, 0.0]
    """
    c = np.asarray(correct, dtype=np.float64)
    n = np.asarray(total, dtype=np.float64)
    if np.any(n < k):
        raise ValueError(f"every question needs at least k = {k} samples")
    fail = n - c
    log_ratio = (gammaln(fail + 1) - gammaln(np.maximum(fail - k, 0) + 1)
                 - gammaln(n + 1) + gammaln(n - k + 1))
    return np.where(fail < k, 1.0, -np.expm1(log_ratio))


class CategoricalLaw(NamedTuple):
    """A mixture of G Dirichlet-tree answer laws (the categorical empirical-Bayes prior).

    Attributes:
      weights: mixture weights, shape [G].
      correct: a_c of the top Dirichlet (correct, wrong, ⊥), shape [G].
      wrong: a_w, shape [G].
      abstain: a_b, shape [G].
      split: γ, concentration of the Dirichlet process splitting the wrong mass, shape [G].
      log_likelihood: maximised log-likelihood (up to parameter-free constants).
    """

    weights: np.ndarray
    correct: np.ndarray
    wrong: np.ndarray
    abstain: np.ndarray
    split: np.ndarray
    log_likelihood: float = float("nan")


def _partition(counts):
    """(s, wrong total, distinct wrong K, ⊥ b, Σ log Γ(n_j)) per question of counts [Q, A]."""
    counts = np.asarray(counts, dtype=np.float64)
    wrong = counts[:, 1:-1]
    return (counts[:, 0], wrong.sum(1), (wrong > 0).sum(1), counts[:, -1],
            np.where(wrong > 0, gammaln(np.maximum(wrong, 1)), 0.0).sum(1))


def _component_log_likelihood(a_c, a_w, a_b, gamma, parts):
    """[Q, G] log-likelihood of each question's answer sequence under each component."""
    s, m, distinct, b, constant = (p[:, None] for p in parts)
    total = a_c + a_w + a_b
    n = s + m + b
    # a_c = 0 is the "unsolvable" component: never correct (any success rules it out).
    solvable = a_c > 0
    safe = np.where(solvable, a_c, 1.0)
    correct = np.where(solvable, gammaln(safe + s) - gammaln(safe), np.where(s > 0, -np.inf, 0.0))
    return (gammaln(total) - gammaln(total + n) + correct
            + gammaln(a_w + m) - gammaln(a_w) + gammaln(a_b + b) - gammaln(a_b)
            + distinct * np.log(gamma) + gammaln(gamma) - gammaln(gamma + m) + constant)


def _law_terms(law):
    return law.correct, law.wrong, law.abstain, law.split


def categorical_log_likelihood(law: CategoricalLaw, counts) -> float:
    """Log-likelihood of a pilot's counts [Q, A] under the mixture (sequence level)."""
    per = _component_log_likelihood(*_law_terms(law), _partition(counts))
    return float(logsumexp(per + np.log(law.weights), axis=1).sum())


def fit_categorical(counts, components: int = 1, unsolvable: bool = False) -> CategoricalLaw:
    """Maximum-likelihood categorical law (a mixture of ``components`` Dirichlet trees).

    Args:
      counts: one model's pilot counts, shape [questions, answers] (slot 0 correct, last ⊥).
      components: G.
      unsolvable: add a component with a_c = 0 (questions the model never answers
        correctly: on AIME some questions are 0 of 80 for a model, a point mass at p = 0 that a
        Beta law of p spreads over small positive p, over-forecasting pass@k for large k).

    >>> law = fit_categorical(np.array([[3, 1, 0, 0], [0, 2, 2, 0], [4, 0, 0, 0]]))
    >>> law.weights.tolist(), bool(law.correct[0] > 0)
    ([1.0], True)
    """
    counts = np.asarray(counts)
    parts = _partition(counts)
    g = int(components) + int(unsolvable)

    def unpack(x):
        a_c, a_w, a_b, gamma = (np.exp(x[i * g:(i + 1) * g]) for i in range(4))
        if unsolvable:
            a_c = np.concatenate([a_c[:-1], [0.0]])
        logits = np.concatenate([[0.0], x[4 * g:]])
        return np.exp(logits - logsumexp(logits)), a_c, a_w, a_b, gamma

    def negative(x):
        weights, *terms = unpack(x)
        per = _component_log_likelihood(*terms, parts) + np.log(weights)
        value = -float(logsumexp(per, axis=1).sum())
        return value if np.isfinite(value) else 1e300

    accuracy = np.clip(parts[0].sum() / max(counts.sum(), 1), 0.05, 0.95)
    abstain = np.clip(parts[3].sum() / max(counts.sum(), 1), 0.01, 0.5)
    bounds = [(_LOG_LOW, _LOG_HIGH)] * (4 * g) + [(-10.0, 10.0)] * (g - 1)
    best = None
    for total in (0.3, 1.0, 5.0):
        # Components start from an easy-to-hard ladder of correct shares.
        shares = np.clip(accuracy + np.linspace(0.3, -0.3, g) if g > 1 else [accuracy],
                         0.05, 0.95)
        x0 = np.concatenate([np.log(shares * total), np.log((1 - shares) * total * (1 - abstain)),
                             np.log(np.full(g, total * abstain)), np.zeros(g), np.zeros(g - 1)])
        result = minimize(negative, x0, method="L-BFGS-B", bounds=bounds)
        if best is None or result.fun < best.fun:
            best = result
    weights, a_c, a_w, a_b, gamma = unpack(best.x)
    return CategoricalLaw(weights, a_c, a_w, a_b, gamma, -float(best.fun))


def categorical_forecast(law: CategoricalLaw, counts, pass_ks=(), majority_ks=()):
    """Per-question posterior forecasts of pass@k and maj@k under a fitted categorical law.

    Args:
      law: the fitted law.
      counts: the pilot counts of the forecast questions, shape [Q, A].
      pass_ks: k values of pass@k.
      majority_ks: k values of maj@k.

    Returns:
      (pass [len(pass_ks), Q], majority [len(majority_ks), Q]).

    >>> law = CategoricalLaw(np.ones(1), np.ones(1), np.ones(1), np.full(1, 1e-3), np.ones(1))
    >>> p, m = categorical_forecast(law, np.array([[2, 0, 0]]), [1], [1])
    >>> round(float(p[0, 0]), 3), round(float(m[0, 0]), 3)
    (0.75, 0.75)
    """
    counts = np.asarray(counts, dtype=np.float64)
    parts = _partition(counts)
    per = _component_log_likelihood(*_law_terms(law), parts)
    log_post = per + np.log(law.weights)
    resp = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))  # [Q, G]
    s, m, b = parts[0][:, None], parts[1][:, None], parts[3][:, None]
    good = law.correct + s
    bad = law.wrong + law.abstain + m + b
    # An unsolvable component (a_c = 0) has responsibility 0 unless s = 0, and then pass@k 0.
    positive = np.where(good > 0, good, 1.0)
    pass_out = np.stack([
        (resp * np.where(good > 0, -np.expm1(betaln(positive, bad + k) - betaln(positive, bad)),
                         0.0)).sum(1) for k in pass_ks
    ]) if len(pass_ks) else np.zeros((0, counts.shape[0]))
    majority_out = np.zeros((len(majority_ks), counts.shape[0]))
    if len(majority_ks):
        num_groups = law.weights.shape[0]
        wrong = counts[:, 1:-1]
        # Posterior Dirichlet tree per (question, component): top (correct, wrong, ⊥) with the
        # pilot's totals added; the wrong split a Dirichlet process with the seen wrong answers'
        # counts as atoms and γ on new ones.
        top = np.stack([law.correct + s, law.wrong + m, law.abstain + b], axis=-1)  # [Q, G, 3]
        split = np.broadcast_to(wrong[:, None, :], (counts.shape[0], num_groups, wrong.shape[1]))
        diffuse = np.broadcast_to(law.split[None, :], resp.shape)
        for i, k in enumerate(majority_ks):
            majority_out[i] = (resp * dirichlet_tree_majority(top, split, int(k), diffuse)).sum(1)
    return pass_out, majority_out


def plug_in_forecast(counts, pass_ks=(), majority_ks=()):
    """The pilot's frequencies as each question's answer distribution.

    Returns:
      (pass [len(pass_ks), Q], majority [len(majority_ks), Q]).

    >>> p, m = plug_in_forecast(np.array([[1, 1, 0]]), [2], [2])
    >>> p.tolist(), m.tolist()
    ([[0.75]], [[0.5]])
    """
    counts = np.asarray(counts, dtype=np.float64)
    probs = counts / counts.sum(-1, keepdims=True)
    pass_out = np.stack([1 - (1 - probs[:, 0]) ** k for k in pass_ks]) if len(pass_ks) \
        else np.zeros((0, counts.shape[0]))
    majority_out = np.stack([multinomial_majority(probs, int(k)) for k in majority_ks]) \
        if len(majority_ks) else np.zeros((0, counts.shape[0]))
    return pass_out, majority_out


class BetaTreeLaw(NamedTuple):
    """The Beta-tree answer law: a scaled Beta for correctness, a tree for the other answers.

    Per question: ``p_correct = c q``, ``q ~ Beta(α, β)`` (``correct``, the baseline's law);
    the other samples are wrong with a share ``~ Beta(u, v)`` (else ⊥), and the wrong ones split
    by a Dirichlet process of concentration γ; (u, v, γ) is a mixture of G components (how the
    wrong answers cluster differs between questions), independent of q.

    Attributes:
      correct: the scaled Beta law of p_correct.
      weights: mixture weights, shape [G].
      wrong: u, shape [G].
      abstain: v, shape [G].
      split: γ, shape [G].
      log_likelihood: maximised log-likelihood of the pilot's answer sequences.
    """

    correct: ScaledBeta
    weights: np.ndarray
    wrong: np.ndarray
    abstain: np.ndarray
    split: np.ndarray
    log_likelihood: float = float("nan")


class BetaTreeChoice(NamedTuple):
    """The number of mixture components chosen by cross-validation on the pilot.

    Attributes:
      law: the chosen law, fitted on every pilot question.
      components: its G.
      scores: held-out log-likelihood of the pilot's answer sequences per candidate G, {G: float}.
    """

    law: BetaTreeLaw
    components: int
    scores: dict


def _other_parts(counts):
    """(wrong m, ⊥ b, distinct wrong K, Σ log Γ(n_j)) per question, each [Q, 1]."""
    _, m, distinct, b, constant = _partition(counts)
    return m[:, None], b[:, None], distinct[:, None], constant[:, None]


def _other_log_likelihood(u, v, gamma, parts):
    """[Q, G] log-likelihood of each question's non-correct answers (sequence level)."""
    m, b, distinct, constant = parts
    return (betaln(u + m, v + b) - betaln(u, v) + distinct * np.log(gamma) + gammaln(gamma)
            - gammaln(gamma + m) + constant)


def _log_choose(s, n):
    return gammaln(n + 1) - gammaln(s + 1) - gammaln(n - s + 1)


def beta_tree_log_likelihood(law: BetaTreeLaw, counts) -> float:
    """Log-likelihood of the pilot's answer sequences [Q, A] under a Beta-tree law.

    >>> law = BetaTreeLaw(ScaledBeta(1.0, 1.0, 1.0), np.ones(1), np.ones(1), np.ones(1),
    ...                   np.ones(1))
    >>> round(float(np.exp(beta_tree_log_likelihood(law, np.array([[1, 0, 0]])))), 6)
    0.5
    """
    counts = np.asarray(counts, dtype=np.float64)
    s, n = counts[:, 0], counts.sum(1)
    correct = scaled_beta_log_likelihood(law.correct, s, n) - float(_log_choose(s, n).sum())
    per = _other_log_likelihood(law.wrong, law.abstain, law.split, _other_parts(counts))
    return correct + float(logsumexp(per + np.log(law.weights), axis=1).sum())


def fit_beta_tree(counts, components: int = 1) -> BetaTreeLaw:
    """Maximum-likelihood Beta-tree law from one model's pilot counts [Q, A].

    The likelihood factorises: the correctness law is the scaled Beta-binomial fitted on the
    (successes, trials) alone (:func:`fit_scaled_beta_binomial`, so pass@k is the baseline's
    law), and the mixture of G (u, v, γ) is fitted by L-BFGS-B on the other answers.

    >>> law = fit_beta_tree(np.array([[3, 1, 0, 0], [0, 2, 2, 0], [4, 0, 0, 0]] * 4))
    >>> law.weights.tolist(), bool(law.split[0] > 0)
    ([1.0], True)
    """
    counts = np.asarray(counts, dtype=np.float64)
    weights, u, v, gamma = _fit_other(_other_parts(counts), int(components))
    law = BetaTreeLaw(fit_scaled_beta_binomial(counts[:, 0], counts.sum(1)), weights, u, v, gamma)
    return law._replace(log_likelihood=beta_tree_log_likelihood(law, counts))


def _unpack_other(x, g):
    """(weights, u, v, γ) from the fit's vector (log u, log v, log γ [G each], logits [G - 1])."""
    u, v, gamma = (np.exp(x[i * g:(i + 1) * g]) for i in range(3))
    logits = np.concatenate([[0.0], x[3 * g:]])
    return np.exp(logits - logsumexp(logits)), u, v, gamma


def _other_objective(x, parts, repeats, g):
    """Minus the non-correct answers' log-likelihood and its gradient in x.

    Gradient: digamma terms per component, weighted by the posterior responsibilities, and the
    chain rule to the log parameters; the logits' is Σ (responsibility - weight).
    """
    weights, u, v, gamma = _unpack_other(x, g)
    m, b, distinct, _ = parts
    per = _other_log_likelihood(u, v, gamma, parts) + np.log(weights)
    total = logsumexp(per, axis=1, keepdims=True)
    value = -float((repeats * total[:, 0]).sum())
    if not np.isfinite(value):
        return 1e300, np.zeros_like(x)
    resp = repeats[:, None] * np.exp(per - total)  # [rows, G]
    both = digamma(u + m + v + b) - digamma(u + v)
    grad = [u * (digamma(u + m) - digamma(u) - both),
            v * (digamma(v + b) - digamma(v) - both),
            distinct + gamma * (digamma(gamma) - digamma(gamma + m))]
    grad = [(resp * part).sum(0) for part in grad]
    grad.append(resp.sum(0)[1:] - repeats.sum() * weights[1:])
    return value, -np.concatenate(grad)


def _fit_other(parts, g, question_weights=None):
    """Maximum-likelihood mixture (weights, u, v, γ) of the non-correct answers' laws.

    ``question_weights`` (float per question, default 1 each) weight the questions' terms
    (the bootstrap refits of :mod:`slmmux_theory.inference.tree_posterior`).
    """
    # Questions with the same (m, b, K, Σ log Γ) share one term: the fit is over distinct rows.
    stacked = np.concatenate(parts, axis=1)
    if question_weights is None:
        rows, repeats = np.unique(stacked, axis=0, return_counts=True)
    else:
        rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
        repeats = np.bincount(inverse.ravel(), weights=question_weights, minlength=len(rows))
    parts = tuple(rows[:, i : i + 1] for i in range(4))
    wrong, abstain = (repeats @ parts[0])[0], (repeats @ parts[1])[0]
    share = np.clip(wrong / max(wrong + abstain, 1.0), 0.05, 0.99)
    bounds = [(_LOG_LOW, _LOG_HIGH)] * (3 * g) + [(-10.0, 10.0)] * (g - 1)
    best = None
    for total in (0.3, 1.0, 5.0):
        # Components start from a ladder of split concentrations (clustered to scattered).
        gammas = np.geomspace(0.3, 3.0, g) if g > 1 else np.ones(1)
        x0 = np.concatenate([np.full(g, np.log(share * total)),
                             np.full(g, np.log((1 - share) * total)), np.log(gammas),
                             np.zeros(g - 1)])
        result = minimize(_other_objective, x0, args=(parts, repeats, g), method="L-BFGS-B",
                          jac=True, bounds=bounds)
        if best is None or result.fun < best.fun:
            best = result
    return _unpack_other(best.x, g)


def choose_beta_tree(counts, candidates=(1, 2), folds: int = 5, seed: int = 0) -> BetaTreeChoice:
    """The G of :func:`fit_beta_tree` with the best cross-validated pilot likelihood.

    The pilot's questions are split into ``folds`` folds (a permutation seeded by ``seed``);
    each candidate is fitted on the other folds and scored by the log-likelihood of the held-out
    questions' answer sequences; the best total wins (ties: the smaller G) and is refitted on
    every question. Only the pilot is used: the choice is made before any truth is seen. The
    correctness law is the same for every candidate (the scaled Beta-binomial fitted on the
    same folds), so its held-out term is common to all and is left out of the scores: they are
    the held-out log-likelihoods of the non-correct answers.

    >>> pilot = np.array([[3, 1, 0, 0], [0, 2, 2, 0], [4, 0, 0, 0], [1, 3, 0, 0]] * 5)
    >>> choose_beta_tree(pilot, (1,), folds=2).components
    1
    """
    counts = np.asarray(counts, dtype=np.float64)
    rng = np.random.default_rng(seed)
    fold_of = rng.permutation(len(counts)) % folds
    parts = _other_parts(counts)
    scores = {}
    for g in candidates:
        scores[g] = 0.0
        for f in range(folds):
            held = fold_of == f
            if not np.any(held):
                continue
            weights, u, v, gamma = _fit_other(tuple(p[~held] for p in parts), int(g))
            per = _other_log_likelihood(u, v, gamma, tuple(p[held] for p in parts))
            scores[g] += float(logsumexp(per + np.log(weights), axis=1).sum())
    chosen = max(candidates, key=lambda g: (scores[g], -g))
    return BetaTreeChoice(fit_beta_tree(counts, chosen), int(chosen), scores)


def beta_tree_forecast(law: BetaTreeLaw, counts, pass_ks=(), majority_ks=()):
    """Per-question posterior forecasts of pass@k and maj@k under a Beta-tree law.

    pass@k is the scaled Beta-binomial's posterior (:func:`scaled_beta_conditional_pass_at_k`);
    maj@k is exact (:func:`slmmux_theory.inference.majority.tree_majority`) under each
    question's posterior: the correct count's law :func:`scaled_beta_correct_law`, the wrong
    share Beta(u + m, v + b), the wrong split a Dirichlet process with the pilot's wrong answers
    as atoms and γ on new ones, averaged over the components' posterior responsibilities.

    Args:
      law: the fitted law.
      counts: pilot counts of the forecast questions, shape [Q, A].
      pass_ks: k values of pass@k.
      majority_ks: k values of maj@k.

    Returns:
      (pass [len(pass_ks), Q], majority [len(majority_ks), Q]).

    >>> law = BetaTreeLaw(ScaledBeta(1.0, 1.0, 1.0), np.ones(1), np.ones(1), np.full(1, 1e-3),
    ...                   np.ones(1))
    >>> p, m = beta_tree_forecast(law, np.array([[2, 0, 0]]), [1], [1])
    >>> round(float(p[0, 0]), 3), round(float(m[0, 0]), 3)
    (0.75, 0.75)
    """
    counts = np.asarray(counts, dtype=np.float64)
    s, n = counts[:, 0], counts.sum(1)
    pass_out = (scaled_beta_conditional_pass_at_k(law.correct, s, n, pass_ks) if len(pass_ks)
                else np.zeros((0, len(counts))))
    majority_out = np.zeros((len(majority_ks), len(counts)))
    if not len(majority_ks):
        return pass_out, majority_out
    parts = _other_parts(counts)
    log_post = _other_log_likelihood(law.wrong, law.abstain, law.split, parts) + np.log(law.weights)
    resp = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))  # [Q, G]
    m, b = parts[0], parts[1]
    not_correct = np.stack([law.wrong + m, law.abstain + b], axis=-1)  # [Q, G, 2]
    # The pilot's wrong answers are the process's atoms; only the used columns matter.
    atoms = -np.sort(-counts[:, 1:-1], axis=1)
    atoms = atoms[:, : max(int((atoms > 0).sum(1).max(initial=0)), 1)][:, None, :]
    diffuse = np.broadcast_to(law.split[None, :], resp.shape)
    for i, k in enumerate(majority_ks):
        correct = scaled_beta_correct_law(law.correct, s, n, int(k))[:, None, :]
        majority_out[i] = (resp * tree_majority(correct, not_correct, atoms, int(k),
                                                diffuse)).sum(1)
    return pass_out, majority_out
