"""Tests of slmmux_theory.inference.tree_posterior: posterior draws under a Beta-tree law.

Every expected value comes from an independent computation: quadrature of the posterior
density, the Ewens formula, the closed-form one-sample predictive of the tree, and
``forecast.beta_tree_forecast``'s exact maj@k (generating functions).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

from slmmux_theory.inference import tree_posterior as tp
from slmmux_theory.inference.forecast import BetaTreeLaw, ScaledBeta, beta_tree_forecast

LAW2 = BetaTreeLaw(ScaledBeta(0.4, 0.3, 0.85), np.array([0.6, 0.4]), np.array([2.0, 0.7]),
                   np.array([0.5, 1.5]), np.array([0.3, 4.0]))


def _within(sample, expected, sigmas=4.0):
    sample = np.asarray(sample, dtype=np.float64)
    se = sample.std(ddof=1) / np.sqrt(sample.size)
    assert abs(sample.mean() - expected) <= sigmas * max(se, 1e-12), (sample.mean(), expected, se)


@pytest.mark.parametrize("law,s,n", [
    (ScaledBeta(0.4, 0.3, 0.85), 0, 4), (ScaledBeta(0.4, 0.3, 0.85), 2, 4),
    (ScaledBeta(0.05, 0.02, 1.0), 1, 3), (ScaledBeta(2.0, 5.0, 0.6), 3, 3),
])
def test_correct_share_draws_match_the_posterior_by_quadrature(law, s, n):
    def moment(r):  # ∫ (cq)^r q^s (1 - cq)^(n - s) q^(α-1) (1 - q)^(β-1) dq, singular ends exact
        return integrate.quad(
            lambda q: (law.scale * q) ** r * q ** s * (1 - law.scale * q) ** (n - s), 0, 1,
            weight="alg", wvar=(law.alpha - 1, law.beta - 1))[0]

    mean, second = moment(1) / moment(0), moment(2) / moment(0)
    draws = tp.correct_share_draws(np.random.default_rng(1), law, [s], [n], 40000)[:, 0]
    assert draws.max() <= law.scale + 1e-12
    _within(draws, mean)
    _within(draws ** 2, second)


@pytest.mark.parametrize("gamma", [0.3, 2.0])
def test_crp_blocks_follow_the_ewens_law_of_the_number_of_blocks(gamma):
    # P(K = k) = γ^k |s(4, k)| / γ^(4) (rising factorial); |s(4, k)| = 6, 11, 6, 1.
    stirling = np.array([6, 11, 6, 1])
    rising = gamma * (gamma + 1) * (gamma + 2) * (gamma + 3)
    law = gamma ** np.arange(1, 5) * stirling / rising
    blocks = tp._crp_blocks(np.random.default_rng(2), np.full(30000, 4), gamma, 6)
    assert (blocks.sum(-1) == 4).all()
    number = (blocks > 0).sum(-1)
    for k in range(1, 5):
        _within(number == k, law[k - 1])


def test_crp_blocks_respect_row_sizes():
    blocks = tp._crp_blocks(np.random.default_rng(3), np.array([0, 1, 5]), 1.0, 5)
    assert blocks.sum(-1).tolist() == [0, 1, 5]


def test_one_new_sample_follows_the_closed_form_predictive():
    law = BetaTreeLaw(ScaledBeta(0.4, 0.3, 0.85), np.ones(1), np.array([2.0]),
                      np.array([0.5]), np.array([0.8]))
    row = np.array([[1, 2, 0, 1, 1]])  # s = 1, wrong atoms (2, 1), one ⊥
    s, m, b, n = 1, 3, 1, 5
    # E[p | pilot] by quadrature (Beta weight handled exactly), independent of the code.
    moment = [integrate.quad(lambda q: (0.85 * q) ** r * q ** s * (1 - 0.85 * q) ** (n - s), 0,
                             1, weight="alg", wvar=(0.4 - 1, 0.3 - 1))[0] for r in (0, 1)]
    p_correct = moment[1] / moment[0]
    wrong = (1 - p_correct) * (2.0 + m) / (2.0 + 0.5 + m + b)
    expected = {"correct": p_correct, "atom1": wrong * 2 / (m + 0.8),
                "atom2": wrong * 1 / (m + 0.8), "new": wrong * 0.8 / (m + 0.8),
                "abstain": (1 - p_correct) * (0.5 + b) / (2.0 + 0.5 + m + b)}
    out = tp.new_sample_counts(np.random.default_rng(4), law, row, 1, 60000)[:, 0]
    assert out.shape[-1] == 1 + 2 + 1 + 1
    for name, column in zip(expected, (0, 1, 2, 3, 4)):
        _within(out[:, column], expected[name])


def _majority(counts):
    """maj of compact counts [..., slots]: ⊥ (last) never votes, ties shared, all-⊥ 0."""
    votes = counts[..., :-1]
    top = votes.max(-1)
    ties = (votes == top[..., None]).sum(-1)
    return np.where((top > 0) & (votes[..., 0] == top), 1.0 / ties, 0.0)


@pytest.mark.parametrize("k", [3, 5])
def test_one_model_majority_matches_beta_tree_forecast(k):
    rows = np.array([[0, 4, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0], [2, 1, 0, 0, 0, 1],
                     [0, 1, 1, 1, 0, 1], [4, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 4]])
    exact = beta_tree_forecast(LAW2, rows, majority_ks=[k])[1][0]
    draws = tp.new_sample_counts(np.random.default_rng(5 + k), LAW2, rows, k, 40000)
    simulated = _majority(draws)
    for q in range(len(rows)):
        _within(simulated[:, q], exact[q])


def test_compact_counts_keeps_the_pilot_and_checks_width():
    counts = np.array([[1, 0, 2, 1, 0], [0, 3, 0, 0, 1]])
    assert tp.compact_counts(counts, 3).tolist() == [[1, 2, 1, 0, 0], [0, 3, 0, 0, 1]]
    with pytest.raises(ValueError, match="num_atoms"):
        tp.compact_counts(counts, 1)


def test_posterior_pools_hold_the_pilot_and_are_reproducible():
    rng = np.random.default_rng(6)
    pilot = np.zeros((2, 12, 7), dtype=np.int64)
    for m in range(2):
        for q in range(12):
            for answer in rng.choice(7, size=4, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.02]):
                pilot[m, q, answer] += 1
    key = jax.random.PRNGKey(3)
    for hyper in tp.HYPER:
        pools = tp.posterior_pools(key, pilot, 20, 3, 30, hyper=hyper, folds=3)
        assert pools.shape[:3] == (3, 2, 20)
        assert (pools.sum(-1) == 30).all()
        seen = tp.compact_counts(pilot, pools.shape[-1] - 2 - 30)
        assert (pools[:, :, :12, 0] >= seen[None, ..., 0]).all()
        assert (pools[:, :, :12, -1] >= seen[None, ..., -1]).all()
        np.testing.assert_array_equal(
            pools, tp.posterior_pools(key, pilot, 20, 3, 30, hyper=hyper, folds=3))
    with pytest.raises(ValueError, match="hyper"):
        tp.posterior_pools(key, pilot, 20, 3, 30, hyper="laplace")
    with pytest.raises(ValueError, match="total"):
        tp.posterior_pools(key, pilot, 20, 3, 3)


def test_fixed_pools_of_a_pilot_row_match_the_predictive_correct_share():
    # One model, hyper fixed: the correct share of the new samples in a pilot question's pool
    # is the posterior mean of p_correct (the law fitted by choose_beta_tree is what it uses).
    from slmmux_theory.inference.forecast import choose_beta_tree, scaled_beta_correct_law

    rng = np.random.default_rng(7)
    p = np.where(rng.uniform(size=30) < 0.3, 0.0, rng.beta(2.0, 0.5, size=30))
    pilot = np.zeros((1, 30, 6), dtype=np.int64)
    for q in range(30):
        pilot[0, q] = rng.multinomial(4, [p[q], (1 - p[q]) * 0.7, (1 - p[q]) * 0.2, 0, 0,
                                          (1 - p[q]) * 0.1])
    law = choose_beta_tree(pilot[0]).law
    pools = tp.posterior_pools(jax.random.PRNGKey(0), pilot, 30, 4000, 14, hyper="fixed")
    new_correct = (pools[:, 0, :, 0] - pilot[0, :, 0]) / 10.0
    expected = scaled_beta_correct_law(law.correct, pilot[0, :, 0], pilot[0].sum(-1), 1)[:, 1]
    for q in (0, 1, 2, 3):
        _within(new_correct[:, q], expected[q])


def _random_pilot(rng, models, questions, answers=7):
    pilot = np.zeros((models, questions, answers), dtype=np.int64)
    probs = [0.5, 0.2, 0.1, 0.1, 0.05, 0.03, 0.02][:answers]
    for m in range(models):
        for q in range(questions):
            pilot[m, q] = rng.multinomial(4, np.asarray(probs) / sum(probs))
    return pilot


def test_whole_number_weights_fit_like_the_repeated_questions():
    from slmmux_theory.inference.forecast import (
        beta_tree_log_likelihood,
        fit_beta_tree,
        fit_scaled_beta_binomial,
        scaled_beta_log_likelihood,
    )

    rng = np.random.default_rng(8)
    counts = _random_pilot(rng, 1, 15)[0]
    counts[:4, 0] = 0
    counts[:4, 1] = 4 - counts[:4, 2:].sum(1)
    weights = rng.integers(0, 4, size=15)
    weights[0] = 1
    repeated = np.repeat(counts, weights, axis=0)
    s, n = repeated[:, 0], repeated.sum(1)
    weighted = tp.fit_weighted_scaled_beta(counts[:, 0], counts.sum(1), weights)
    plain = fit_scaled_beta_binomial(s, n)
    assert scaled_beta_log_likelihood(weighted, s, n) == pytest.approx(
        scaled_beta_log_likelihood(plain, s, n), abs=1e-4)
    for g in (1, 2):
        tree = tp.fit_weighted_beta_tree(counts, weights, g)
        assert beta_tree_log_likelihood(tree, repeated) == pytest.approx(
            beta_tree_log_likelihood(fit_beta_tree(repeated, g), repeated), abs=1e-3)
    with pytest.raises(ValueError, match="weights"):
        tp.fit_weighted_scaled_beta([1, 2], [4, 4], [0.0, 0.0])


@pytest.mark.slow  # 2 x 3 models of CV fits and 11 anchor fits, 100 draws: ~10 s idle, ~30 s loaded
def test_local_law_carries_the_other_models_difficulty():
    # Three models share each question's difficulty. A row of model 0 with 2 of 4 right is
    # predicted more likely right when the others got the question right than when they did
    # not: the local law sees it, the global law cannot.
    rng = np.random.default_rng(9)
    hard = rng.uniform(size=60) < 0.5
    pilot = np.zeros((3, 60, 4), dtype=np.int64)
    for m in range(3):
        for q in range(60):
            p = 0.1 if hard[q] else 0.9
            pilot[m, q] = rng.multinomial(4, [p, 1 - p, 0.0, 0.0])
    pilot[0, 0] = pilot[0, 1] = [2, 2, 0, 0]
    pilot[1:, 0] = [[0, 4, 0, 0]]
    pilot[1:, 1] = [[4, 0, 0, 0]]
    key = jax.random.PRNGKey(1)
    means = {}
    for local in (False, True):
        pools = tp.posterior_pools(key, pilot, 60, 100, 24, hyper="fixed", local=local,
                                   folds=3)
        means[local] = (pools[:, 0, :2, 0] - 2).mean(0) / 20.0
    assert abs(means[False][0] - means[False][1]) < 0.05
    assert means[True][1] - means[True][0] > 0.2
