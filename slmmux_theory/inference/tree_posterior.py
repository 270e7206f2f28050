"""Posterior draws of every (model, question)'s answers under a per-model Beta-tree law.

Place in the layers: pure theory (NumPy/SciPy over arrays; no I/O), above
:mod:`slmmux_theory.inference.forecast` (whose Beta-tree law, fit and cross-validated choice it
uses unchanged). Input: a pilot's counts ``[models, Q, answers]`` (slot 0 correct, wrong slots
1..A-2, last slot ⊥). Output: replay pools of new samples per (draw, model, question).

Why per model. SLM-MUX's correctness on a question depends only on each model's own law of
(plurality count, plurality correct): the selected model's plurality answer is right or wrong
by itself, and which wrong answer another model favours does not matter. So each model's
answers can be drawn from its own posterior, in its own slot layout (the ``compact`` layout:
slot 0 correct, the row's pilot wrong answers by decreasing count, then never-seen wrong
answers, last slot ⊥), and the models' draws are independent given the pilot and the fitted
laws (an assumption: a question's shared difficulty is not carried from one model's pilot to
another's posterior).

The posterior of one row given its pilot counts (s correct, wrong atoms n_1..n_K with total m,
b ⊥; n = s + m + b) under a Beta-tree law (:class:`forecast.BetaTreeLaw`):

* the mixture component g of (u, v, γ): P(g | row) ∝ w_g · L_g(non-correct answers);
* p_correct = c q with ``q | s, n ∝ Beta(α, β)(q) q^s (1 - c q)^(n - s)``, drawn exactly as a
  mixture of Beta(α + s, β + j) over j = 0..n - s, weights
  ``C(n - s, j) (1 - c)^(n - s - j) c^j B(α + s, β + j)`` (all positive: nothing cancels);
* the wrong share of the rest ~ Beta(u_g + m, v_g + b);
* the wrong split ~ Dirichlet(n_1, ..., n_K, γ_g) over (the pilot's wrong answers, never-seen
  answers), and the never-seen mass a Dirichlet process of concentration γ_g: the new samples
  that fall in it are partitioned by a Chinese restaurant process (exact; nothing truncated).

Hyperparameter uncertainty (``hyper="bootstrap"``): each draw refits the law (the G chosen
once by ``forecast.choose_beta_tree`` on the whole pilot) on an ordinary bootstrap resample of
the pilot's questions (the same resample for every model, a question being the unit);
``hyper="fixed"``: every draw uses the maximum-likelihood law of the whole pilot.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, expit, gammaln, logsumexp

from slmmux_theory.inference.forecast import (
    _LOG_HIGH,
    _LOG_LOW,
    BetaTreeLaw,
    ScaledBeta,
    _fit_other,
    _log_moment,
    _other_log_likelihood,
    _other_parts,
    choose_beta_tree,
    fit_beta_tree,
)
from slmmux_theory.inference.grid_eb import LOCAL_BANDWIDTH, others_share

__all__ = [
    "HYPER",
    "compact_counts",
    "correct_share_draws",
    "fit_weighted_beta_tree",
    "fit_weighted_scaled_beta",
    "new_sample_counts",
    "posterior_pools",
]

HYPER = ("bootstrap", "fixed")


def _rng(key) -> np.random.Generator:
    """A NumPy generator seeded from a jax.random key (all randomness comes from the key)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel())


def _log_gamma(rng, a):
    """log of Gamma(a) draws, elementwise; exact for tiny a (``G(a) = G(a + 1) U^(1/a)``);
    a = 0 gives -inf (no mass)."""
    a = np.asarray(a, dtype=np.float64)
    positive = a > 0
    safe = np.where(positive, a, 1.0)
    out = np.log(rng.standard_gamma(safe + 1.0)) + np.log(rng.uniform(size=a.shape)) / safe
    return np.where(positive, out, -np.inf)


def _beta(rng, a, b):
    """Beta(a, b) draws, a > 0, b >= 0 (b = 0: the point mass at 1)."""
    return expit(_log_gamma(rng, a) - _log_gamma(rng, b))


def _dirichlet(rng, alpha):
    """Dirichlet draws along the last axis (zero α: zero mass), from log-gamma draws."""
    logs = _log_gamma(rng, alpha)
    top = logs.max(-1, keepdims=True)
    weights = np.exp(logs - np.where(np.isfinite(top), top, 0.0))
    return weights / np.maximum(weights.sum(-1, keepdims=True), 1e-300)


def compact_counts(counts, num_atoms: int | None = None) -> np.ndarray:
    """Each row in the compact layout: correct, wrong counts by decreasing size, ⊥.

    Args:
      counts: shape [..., A] (slot 0 correct, last ⊥).
      num_atoms: wrong slots kept (default: the most distinct wrong answers of any row).

    Returns:
      shape [..., 1 + num_atoms + 1].

    >>> compact_counts(np.array([[1, 0, 2, 1, 0], [0, 3, 0, 0, 1]])).tolist()
    [[1, 2, 1, 0], [0, 3, 0, 1]]
    """
    counts = np.asarray(counts)
    wrong = -np.sort(-counts[..., 1:-1], axis=-1)
    used = int((wrong > 0).sum(-1).max(initial=0))
    width = used if num_atoms is None else int(num_atoms)
    if width < used:
        raise ValueError(f"num_atoms = {width} is below the {used} distinct wrong answers of a row")
    pad = np.zeros((*wrong.shape[:-1], max(width - wrong.shape[-1], 0)), dtype=counts.dtype)
    wrong = np.concatenate([wrong, pad], axis=-1)[..., :width]
    return np.concatenate([counts[..., :1], wrong, counts[..., -1:]], axis=-1)


def correct_share_draws(rng: np.random.Generator, law: ScaledBeta, successes, trials,
                        num_draws: int) -> np.ndarray:
    """Posterior draws of p_correct = c q per question given s of n pilot samples correct.

    ``q | s, n ∝ q^(α + s - 1) (1 - q)^(β - 1) (1 - c q)^(n - s)``; expanding
    ``(1 - c q)^f = Σ_j C(f, j) (1 - c)^(f - j) c^j (1 - q)^j`` makes it a mixture of
    Beta(α + s, β + j), drawn exactly (the component, then the Beta).

    Args:
      rng: seeded NumPy generator.
      law: the scaled Beta law.
      successes, trials: shape [Q].
      num_draws: D.

    Returns:
      shape [D, Q].

    >>> rng = np.random.default_rng(0)
    >>> p = correct_share_draws(rng, ScaledBeta(1.0, 1.0, 1.0), [0], [1], 20000)
    >>> abs(float(p.mean()) - 1 / 3) < 0.01  # posterior Beta(1, 2)
    True
    """
    s = np.asarray(successes, dtype=np.float64)
    f = np.asarray(trials, dtype=np.float64) - s
    j = np.arange(int(f.max(initial=0)) + 1, dtype=np.float64)
    rest = f[:, None] - j
    valid = rest >= 0
    safe_rest = np.where(valid, rest, 0.0)
    log_one_minus = np.log1p(-law.scale) if law.scale < 1 else -np.inf
    # (1 - c)^(f - j) is exactly 1 at j = f, even at c = 1.
    power = np.where(safe_rest > 0, np.where(safe_rest > 0, safe_rest, 1.0) * log_one_minus, 0.0)
    log_w = (gammaln(f[:, None] + 1) - gammaln(j + 1) - gammaln(safe_rest + 1) + power
             + j * np.log(law.scale) + betaln(law.alpha + s[:, None], law.beta + j))
    log_w = np.where(valid, log_w, -np.inf)
    prob = np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True))  # [Q, J]
    cumulative = np.cumsum(prob, axis=1)
    pick = (rng.uniform(size=(num_draws, len(s), 1)) > cumulative[None, :, :-1]).sum(-1)
    q = _beta(rng, np.broadcast_to(law.alpha + s, pick.shape), law.beta + pick)
    return law.scale * q


def _crp_blocks(rng, sizes, gamma, width: int) -> np.ndarray:
    """Block sizes of a Chinese-restaurant partition of ``sizes`` items (concentration γ).

    Args:
      sizes: items per row, shape [...] (at most ``width``).
      gamma: γ per row, shape [...] (> 0).
      width: block slots of the output.

    Returns:
      shape [..., width], block sizes in order of opening.
    """
    sizes = np.asarray(sizes)
    gamma = np.broadcast_to(np.asarray(gamma, dtype=np.float64), sizes.shape)
    slots = max(width, 1)
    labels = np.zeros((*sizes.shape, slots), dtype=np.int64)
    opened = np.zeros(sizes.shape, dtype=np.int64)
    for t in range(width):
        new = (t == 0) | (rng.uniform(size=sizes.shape) * (gamma + t) < gamma)
        # Joining an old block with probability ∝ its size = taking a uniform earlier item's.
        earlier = np.take_along_axis(
            labels, rng.integers(0, max(t, 1), size=sizes.shape)[..., None], axis=-1)[..., 0]
        labels[..., t] = np.where(new, opened, earlier)
        opened = opened + ((t < sizes) & new)
    items = np.arange(slots) < sizes[..., None]  # items beyond a row's size are not counted
    out = ((labels[..., :, None] == np.arange(slots)) & items[..., :, None]).sum(-2)
    return out[..., :width]


def new_sample_counts(rng: np.random.Generator, law: BetaTreeLaw, counts, sizes,
                      num_draws: int, num_atoms: int | None = None) -> np.ndarray:
    """Counts of new samples per question, drawn from each question's posterior law.

    Per draw and question: the component, the answer law (module docstring) and ``sizes``
    new samples from it, the never-seen wrong answers partitioned by the Chinese restaurant.

    Args:
      rng: seeded NumPy generator.
      law: the model's Beta-tree law.
      counts: the model's pilot counts, shape [Q, A].
      sizes: new samples per question, shape [Q] (or a whole number).
      num_draws: D.
      num_atoms: the compact layout's pilot wrong slots (default: as the pilot needs).

    Returns:
      shape [D, Q, 1 + num_atoms + max(sizes) + 1], compact layout (pilot samples not
      included): correct, the pilot's wrong answers (by decreasing pilot count), new wrong
      answers, ⊥.

    >>> from slmmux_theory.inference.forecast import ScaledBeta
    >>> law = BetaTreeLaw(ScaledBeta(1.0, 1.0, 1.0), np.ones(1), np.ones(1), np.ones(1),
    ...                   np.ones(1))
    >>> out = new_sample_counts(np.random.default_rng(0), law, np.array([[2, 1, 0, 1]]), 5, 3)
    >>> out.shape, out.sum(-1).tolist()
    ((3, 1, 8), [[5], [5], [5]])
    """
    counts = np.asarray(counts, dtype=np.int64)
    questions = counts.shape[0]
    sizes = np.broadcast_to(np.asarray(sizes, dtype=np.int64), (questions,))
    width = int(sizes.max(initial=0))
    compact = compact_counts(counts, num_atoms)
    s, atoms, b = compact[:, 0], compact[:, 1:-1], compact[:, -1]
    m = atoms.sum(1)
    # The component of (u, v, γ), from its posterior responsibility.
    log_post = (_other_log_likelihood(law.wrong, law.abstain, law.split, _other_parts(counts))
                + np.log(law.weights))
    resp = np.exp(log_post - logsumexp(log_post, axis=1, keepdims=True))
    g = (rng.uniform(size=(num_draws, questions, 1))
         > np.cumsum(resp, axis=1)[None, :, :-1]).sum(-1)  # [D, Q]
    u, v, gamma = law.wrong[g], law.abstain[g], law.split[g]
    p_correct = correct_share_draws(rng, law.correct, s, counts.sum(1), num_draws)
    wrong_share = _beta(rng, u + m, v + b)
    split = _dirichlet(rng, np.concatenate(
        [np.broadcast_to(atoms, (num_draws, *atoms.shape)).astype(np.float64),
         gamma[..., None]], axis=-1))
    rest = 1.0 - p_correct
    probs = np.concatenate([p_correct[..., None], (rest * wrong_share)[..., None] * split,
                            (rest * (1.0 - wrong_share))[..., None]], axis=-1)
    probs = np.clip(probs, 0.0, None)
    probs = probs / probs.sum(-1, keepdims=True)
    drawn = rng.multinomial(np.broadcast_to(sizes, (num_draws, questions)), probs)
    fresh = _crp_blocks(rng, drawn[..., -2], gamma, width)
    return np.concatenate([drawn[..., :-2], fresh, drawn[..., -1:]], axis=-1)


def fit_weighted_scaled_beta(successes, trials, weights) -> ScaledBeta:
    """Maximum-likelihood scaled Beta-binomial with a weight per question.

    The same parameterisation, bounds and starts as ``forecast.fit_scaled_beta_binomial``; the
    log-likelihood is ``Σ_q w_q log P(s_q | n_q)`` (whole-number weights: the fit on the
    repeated questions).

    Args:
      successes, trials: shape [Q].
      weights: shape [Q], >= 0, not all zero.

    >>> law = fit_weighted_scaled_beta([0, 4, 4, 2], [4] * 4, [1.0, 2.0, 0.5, 1.0])
    >>> 0 < law.scale <= 1
    True
    """
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != s.shape or np.any(w < 0) or not w.sum() > 0:
        raise ValueError("weights must be >= 0, one per question, not all zero")
    pairs, inverse = np.unique(np.stack([s, n], 1), axis=0, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=w, minlength=len(pairs))
    ps, pn = pairs[:, 0], pairs[:, 1]
    log_choose = gammaln(pn + 1) - gammaln(ps + 1) - gammaln(pn - ps + 1)

    def law_of(x):
        return ScaledBeta(float(np.exp(x[0])), float(np.exp(x[1])), float(expit(x[2])))

    def negative(x):
        law = law_of(x)
        per_pair = (log_choose + ps * np.log(law.scale)
                    + _log_moment(law.alpha, law.beta, law.scale, ps, pn - ps))
        value = -float((weight * per_pair).sum())
        return value if np.isfinite(value) else 1e300

    share = s / n
    mean = np.clip(np.average(share, weights=w), 0.02, 0.98)
    spread = max(float(np.average((share - mean) ** 2, weights=w)), 1e-3)
    total = np.clip(mean * (1 - mean) / spread - 1, 0.05, 100.0)
    starts = [(np.log(mean * total), np.log((1 - mean) * total)),
              (np.log(0.3), np.log(0.3)), (0.0, 0.0)]
    bounds = [(_LOG_LOW, _LOG_HIGH)] * 2 + [(-8.0, 25.0)]
    best = None
    for a, b in starts:
        for c in (4.0, 1.0):
            result = minimize(negative, np.array([a, b, c]), method="L-BFGS-B", bounds=bounds)
            if best is None or result.fun < best.fun:
                best = result
    return law_of(best.x)._replace(log_likelihood=-float(best.fun))


def _fit_weighted_other(counts, weights, g: int):
    """(weights, u, v, γ) of the non-correct answers' mixture, question weights ``weights``."""
    return _fit_other(_other_parts(counts), g, question_weights=weights)


def fit_weighted_beta_tree(counts, weights, components: int = 1) -> BetaTreeLaw:
    """Maximum-likelihood Beta-tree law with a weight per question (whole-number weights: the
    fit on the repeated questions; ``forecast.fit_beta_tree`` at unit weights).

    Args:
      counts: one model's pilot counts, shape [Q, A].
      weights: shape [Q], >= 0.
      components: G.

    >>> pilot = np.array([[3, 1, 0, 0], [0, 2, 2, 0], [4, 0, 0, 0]] * 4)
    >>> fit_weighted_beta_tree(pilot, np.ones(12)).weights.tolist()
    [1.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    correct = fit_weighted_scaled_beta(counts[:, 0], counts.sum(1), w)
    return BetaTreeLaw(correct, *_fit_weighted_other(counts, w, int(components)))


def _local_correct_laws(counts, weights, share, bandwidth, anchors):
    """The scaled Beta law of p_correct fitted at each anchor share, question weights times a
    Gaussian kernel in the other models' pilot correct share (``grid_eb``'s local law)."""
    counts = np.asarray(counts, dtype=np.float64)
    return [fit_weighted_scaled_beta(
        counts[:, 0], counts.sum(1),
        weights * (np.exp(-0.5 * ((share - a) / bandwidth) ** 2) + 1e-12)) for a in anchors]


def posterior_pools(key, pilot, num_questions: int, num_draws: int, total: int, *,
                    hyper: str = "bootstrap", local: bool = False,
                    bandwidth: float = LOCAL_BANDWIDTH, anchors: int = 11,
                    candidates: Sequence[int] = (1, 2), folds: int = 5,
                    cv_seed: int = 0) -> np.ndarray:
    """Replay pools of ``total`` samples per (draw, model, question) of the population.

    Per model the Beta tree's G is chosen by ``choose_beta_tree`` on the whole pilot (folds
    seeded by ``cv_seed``); per draw the law is that fit (``hyper="fixed"``) or a refit on a
    bootstrap resample of the pilot's questions (``"bootstrap"``, one resample per draw shared
    by the models). With ``local``, the law of p_correct is instead fitted at ``anchors``
    evenly spaced values of the other models' pilot correct share (``grid_eb.others_share``),
    the questions weighted by a Gaussian kernel of ``bandwidth`` in that share (times their
    bootstrap multiplicity), and each row takes its nearest anchor's law: the shared
    difficulty of a question reaches every model's posterior. A pilot question's pool is its
    pilot samples plus ``total - n`` new ones from its posterior; an unseen question (the
    first Q of ``num_questions`` are the pilot's) is a pilot question picked uniformly per draw
    (the same pick for every model), with ``total`` new samples from that question's posterior.

    Args:
      key: jax.random key (all randomness).
      pilot: counts, shape [models, Q, A].
      num_questions: N >= Q.
      num_draws: D.
      total: samples per pool (>= every row's pilot samples).
      hyper: ``"bootstrap"`` or ``"fixed"``.
      local, bandwidth, anchors: the local law of p_correct (above).
      candidates, folds, cv_seed: of ``choose_beta_tree``.

    Returns:
      shape [D, models, N, 1 + K + total + 1] (compact layout per model; K the pilot's most
      distinct wrong answers in a row).

    >>> pilot = np.array([[[3, 1, 0, 0], [0, 2, 2, 0], [4, 0, 0, 0], [1, 3, 0, 0]] * 3])
    >>> pools = posterior_pools(jax.random.PRNGKey(0), pilot, 15, 2, 10, folds=2)
    >>> pools.shape, bool((pools.sum(-1) == 10).all())
    ((2, 1, 15, 14), True)
    """
    if hyper not in HYPER:
        raise ValueError(f"hyper must be one of {HYPER}, got {hyper!r}")
    pilot = np.asarray(pilot, dtype=np.int64)
    models, q, _ = pilot.shape
    if num_questions < q:
        raise ValueError(f"num_questions = {num_questions} is below the pilot's {q} questions")
    n = pilot.sum(-1)
    if np.any(n > total):
        raise ValueError(f"total = {total} is below a row's {int(n.max())} pilot samples")
    rng = _rng(key)
    atoms = int((pilot[..., 1:-1] > 0).sum(-1).max(initial=0))
    width = 1 + atoms + total + 1
    picks = np.concatenate([np.broadcast_to(np.arange(q), (num_draws, q)),
                            rng.integers(0, q, size=(num_draws, num_questions - q))], axis=1)
    resamples = rng.integers(0, q, size=(num_draws, q))
    points = np.linspace(0.0, 1.0, anchors)
    share = others_share(pilot)
    nearest = np.abs(share[..., None] - points).argmin(-1)  # [models, Q]
    pools = np.zeros((num_draws, models, num_questions, width), dtype=np.int64)
    for model in range(models):
        chosen = choose_beta_tree(pilot[model], tuple(candidates), folds, cv_seed)
        seen = compact_counts(pilot[model], atoms)
        for d in range(num_draws):
            weights = (np.ones(q) if hyper == "fixed"
                       else np.bincount(resamples[d], minlength=q).astype(np.float64))
            rows = pilot[model][picks[d]]
            sizes = np.where(np.arange(num_questions) < q, total - rows.sum(-1), total)
            if not local:
                law = (chosen.law if hyper == "fixed"
                       else fit_beta_tree(pilot[model][resamples[d]], chosen.components))
                groups = [(law, np.arange(num_questions))]
            else:
                if hyper == "bootstrap" or d == 0:  # fixed: one fit serves every draw
                    used = np.unique(nearest[model])
                    tree = fit_weighted_beta_tree(pilot[model], weights, chosen.components)
                    laws = dict(zip(used, _local_correct_laws(
                        pilot[model], weights, share[model], bandwidth, points[used])))
                anchor = nearest[model][picks[d]]
                groups = [(tree._replace(correct=laws[a]), np.flatnonzero(anchor == a))
                          for a in np.unique(anchor)]
            for law, where in groups:
                new = new_sample_counts(rng, law, rows[where], sizes[where], 1, atoms)[0]
                pools[d, model, where, : new.shape[-1] - 1] = new[:, :-1]
                pools[d, model, where, -1] = new[:, -1]
        pools[:, model, :q, : 1 + atoms] += seen[None, :, :-1]
        pools[:, model, :q, -1] += seen[None, :, -1]
    return pools
