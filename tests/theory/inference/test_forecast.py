"""Tests of slmmux_theory.inference.forecast: single-model pass@k / maj@k forecasts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import betaln

from slmmux_theory.inference import forecast
from slmmux_theory.inference.majority import dirichlet_tree_majority, multinomial_majority


def synthetic_successes(rng, alpha, beta, scale, questions, trials):
    p = scale * rng.beta(alpha, beta, size=questions)
    return rng.binomial(trials, p), np.full(questions, trials)


def observed_information(function, x, step=1e-4):
    """Finite-difference Hessian of -function at x."""
    x = np.asarray(x, dtype=float)
    size = x.size
    hessian = np.zeros((size, size))
    for i, j in itertools.product(range(size), repeat=2):
        def shifted(a, b):
            y = x.copy()
            y[i] += a
            y[j] += b
            return function(y)
        hessian[i, j] = -(shifted(step, step) - shifted(step, -step) - shifted(-step, step)
                          + shifted(-step, -step)) / (4 * step * step)
    return hessian


def test_likelihood_is_a_probability_law_over_successes():
    law = forecast.ScaledBeta(0.4, 1.3, 0.8)
    total = sum(np.exp(forecast.scaled_beta_log_likelihood(law, [s], [6])) for s in range(7))
    assert total == pytest.approx(1.0, abs=1e-12)
    # Against direct quadrature of C(n, s) (cq)^s (1 - cq)^(n - s) over the Beta density.
    value, _ = integrate.quad(lambda q: stats.binom.pmf(2, 6, 0.8 * q)
                              * stats.beta.pdf(q, 0.4, 1.3), 0, 1, limit=200)
    assert np.exp(forecast.scaled_beta_log_likelihood(law, [2], [6])) == pytest.approx(
        value, rel=1e-6)


def test_beta_binomial_mle_recovers_known_parameters_within_four_standard_errors():
    rng = np.random.default_rng(0)
    alpha, beta = 0.7, 1.8
    s, n = synthetic_successes(rng, alpha, beta, 1.0, 4000, 5)
    law = forecast.fit_scaled_beta_binomial(s, n, scaled=False)
    assert law.scale == 1.0

    def log_likelihood(x):
        return forecast.scaled_beta_log_likelihood(forecast.ScaledBeta(x[0], x[1], 1.0), s, n)

    covariance = np.linalg.inv(observed_information(log_likelihood, [law.alpha, law.beta]))
    errors = np.sqrt(np.diag(covariance))
    assert abs(law.alpha - alpha) < 4 * errors[0]
    assert abs(law.beta - beta) < 4 * errors[1]
    assert errors.max() < 0.5  # the test can fail: the sample pins the parameters down


def test_scaled_fit_recovers_the_scale_and_beats_the_unscaled_likelihood():
    rng = np.random.default_rng(1)
    s, n = synthetic_successes(rng, 0.8, 0.6, 0.6, 6000, 8)
    scaled = forecast.fit_scaled_beta_binomial(s, n)
    plain = forecast.fit_scaled_beta_binomial(s, n, scaled=False)
    assert scaled.log_likelihood > plain.log_likelihood + 10

    def log_likelihood(x):
        return forecast.scaled_beta_log_likelihood(forecast.ScaledBeta(*x), s, n)

    x = [scaled.alpha, scaled.beta, scaled.scale]
    errors = np.sqrt(np.diag(np.linalg.inv(observed_information(log_likelihood, x, 1e-4))))
    assert abs(scaled.scale - 0.6) < 4 * errors[2]
    assert errors[2] < 0.1


@pytest.mark.parametrize("scale", [1.0, 0.7])
def test_pass_at_k_closed_form_matches_monte_carlo(scale):
    rng = np.random.default_rng(2)
    law = forecast.ScaledBeta(0.35, 2.0, scale)
    ks = np.array([1, 4, 16, 64, 200])
    p = scale * rng.beta(law.alpha, law.beta, size=200_000)
    values = 1 - (1 - p[:, None]) ** ks
    mean, error = values.mean(0), values.std(0) / np.sqrt(len(p))
    assert np.all(np.abs(forecast.scaled_beta_pass_at_k(law, ks) - mean) < 4 * error + 1e-12)
    if scale == 1.0:  # the unscaled closed form 1 - B(α, β + k) / B(α, β)
        exact = 1 - np.exp(betaln(law.alpha, law.beta + ks) - betaln(law.alpha, law.beta))
        np.testing.assert_allclose(forecast.scaled_beta_pass_at_k(law, ks), exact, rtol=1e-12)


def test_conditional_pass_at_k_is_the_posterior_expectation():
    law = forecast.ScaledBeta(0.5, 1.5, 0.9)

    def posterior_mean(function, s, n):
        weight = lambda q: (0.9 * q) ** s * (1 - 0.9 * q) ** (n - s) * stats.beta.pdf(q, 0.5, 1.5)
        top, _ = integrate.quad(lambda q: function(q) * weight(q), 0, 1, limit=400)
        bottom, _ = integrate.quad(weight, 0, 1, limit=400)
        return top / bottom

    values = forecast.scaled_beta_conditional_pass_at_k(law, [0, 3], [4, 4], [16])
    for column, s in enumerate((0, 3)):
        expected = posterior_mean(lambda q: 1 - (1 - 0.9 * q) ** 16, s, 4)
        assert values[0, column] == pytest.approx(expected, rel=1e-6)


def test_unbiased_pass_at_k_equals_the_mean_over_every_k_subset():
    outcomes = np.array([1, 0, 0, 1, 0, 0, 0])
    for k in range(1, 8):
        subsets = list(itertools.combinations(range(7), k))
        brute = np.mean([outcomes[list(c)].max() for c in subsets])
        assert forecast.unbiased_pass_at_k(np.array([2]), np.array([7]), k)[0] == pytest.approx(
            brute, abs=1e-12)


def test_categorical_forecast_at_k_one_is_the_posterior_mean_and_unsolvable_is_zero():
    law = forecast.CategoricalLaw(np.array([0.6, 0.4]), np.array([2.0, 0.0]),
                                  np.array([1.0, 1.5]), np.array([0.2, 0.3]), np.array([1.0, 2.0]))
    counts = np.array([[3, 1, 0, 0], [0, 2, 1, 1], [0, 0, 4, 0]])
    passes, majorities = forecast.categorical_forecast(law, counts, [1, 64], [1, 9])
    per = np.stack([np.exp(forecast._component_log_likelihood(
        law.correct, law.wrong, law.abstain, law.split, forecast._partition(counts)))])[0]
    resp = per * law.weights
    resp /= resp.sum(1, keepdims=True)
    assert resp[0, 1] == 0.0  # a question with a success is never unsolvable
    mean = (law.correct + counts[:, :1]) / (law.correct + law.wrong + law.abstain + 4)
    np.testing.assert_allclose(passes[0], (resp * mean).sum(1), rtol=1e-12)
    np.testing.assert_allclose(majorities[0], passes[0], rtol=1e-12)
    # The unsolvable component caps pass@64 at the solvable responsibility.
    assert np.all(passes[1] <= resp[:, 0] + 1e-12)
    assert np.all(majorities[1] <= passes[1] + 1e-12)


def test_categorical_majority_is_the_monte_carlo_mean_over_posterior_draws():
    # One component; the posterior Dirichlet process is drawn with many new slots (its finite
    # approximation) and the exact multinomial maj@k averaged, within 4 standard errors.
    law = forecast.CategoricalLaw(np.ones(1), np.array([1.2]), np.array([0.8]),
                                  np.array([0.1]), np.array([3.0]))
    counts = np.array([[1, 2, 1, 0]])
    _, majority = forecast.categorical_forecast(law, counts, [], [9])
    rng = np.random.default_rng(4)
    draws, slots = 4_000, 60
    top = rng.dirichlet([1.2 + 1, 0.8 + 3, 0.1], size=draws)
    split = rng.dirichlet(np.concatenate([[2.0, 1.0], np.full(slots, 3.0 / slots)]), size=draws)
    probs = np.concatenate([top[:, :1], top[:, 1:2] * split, top[:, 2:]], axis=1)
    values = multinomial_majority(probs, 9)
    error = values.std() / np.sqrt(draws)
    # + a bound on the truncation's bias (60 slots against the process: ~1e-3 at k = 9)
    assert abs(majority[0, 0] - values.mean()) < 4 * error + 3e-3


def test_diffuse_part_is_the_limit_of_many_equal_slots():
    top, seen = np.array([0.7, 0.9, 0.2]), np.array([0.5, 0.3])
    exact = dirichlet_tree_majority(top, seen, 9, diffuse=2.0)
    many = dirichlet_tree_majority(top, np.concatenate([seen, np.full(512, 2.0 / 512)]), 9)
    assert exact == pytest.approx(many, abs=5e-4)


def test_fit_categorical_prefers_clustered_wrong_answers_when_they_repeat():
    # Wrong answers that repeat within a question give a small split concentration γ;
    # wrong answers that never repeat give a large one.
    clustered = np.array([[1, 3, 0, 0, 0], [0, 4, 0, 0, 0], [2, 0, 2, 0, 0]] * 10)
    scattered = np.array([[1, 1, 1, 1, 0], [0, 1, 1, 1, 1], [2, 1, 1, 0, 0]] * 10)
    assert forecast.fit_categorical(clustered).split[0] < forecast.fit_categorical(
        scattered).split[0]
    plug_pass, plug_majority = forecast.plug_in_forecast(clustered, [2], [3])
    assert plug_pass.shape == (1, 30) and plug_majority.shape == (1, 30)
