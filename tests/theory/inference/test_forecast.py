"""Tests of slmmux_theory.inference.forecast: single-model pass@k / maj@k forecasts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from scipy.special import betaln, gammaln

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


@pytest.mark.slow  # 4000 multinomial maj@9 laws over 63 slots: ~40-90 s on a loaded machine
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


# ---- The Beta-tree law -------------------------------------------------------------------------

def simulate_beta_tree(rng, law, questions, samples):
    """Pilot counts [questions, 2 + samples] drawn from a Beta-tree law, question by question.

    Per question: a component g by the weights, p = c q with q ~ Beta(α, β), a wrong share
    ~ Beta(u_g, v_g), and the wrong answers' labels by the Chinese restaurant of γ_g.
    """
    counts = np.zeros((questions, samples + 2), dtype=np.int64)
    for i in range(questions):
        g = rng.choice(len(law.weights), p=law.weights)
        p = law.correct.scale * rng.beta(law.correct.alpha, law.correct.beta)
        share = rng.beta(law.wrong[g], law.abstain[g])
        labels = []
        for _ in range(samples):
            if rng.random() < p:
                counts[i, 0] += 1
            elif rng.random() >= share:
                counts[i, -1] += 1
            else:
                weights = np.array([labels.count(j) for j in range(len(set(labels)))]
                                   + [law.split[g]], dtype=float)
                labels.append(rng.choice(weights.size, p=weights / weights.sum()))
        for j in set(labels):
            counts[i, 1 + j] = labels.count(j)
    return counts


def two_kinds_of_questions():
    """A law whose wrong answers cluster on half the questions and scatter on the other half."""
    return forecast.BetaTreeLaw(forecast.ScaledBeta(0.6, 0.8, 0.9), np.array([0.5, 0.5]),
                                np.array([3.0, 3.0]), np.array([0.5, 0.5]),
                                np.array([0.05, 30.0]))


def test_correct_count_law_is_the_posterior_mixture_of_binomials():
    law = forecast.ScaledBeta(0.5, 1.5, 0.8)
    values = forecast.scaled_beta_correct_law(law, [0, 3], [4, 4], 6)
    np.testing.assert_allclose(values.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(1 - values[:, 0], forecast.scaled_beta_conditional_pass_at_k(
        law, [0, 3], [4, 4], [6])[0], atol=1e-12)
    for row, s in enumerate((0, 3)):
        weight = lambda q: (0.8 * q) ** s * (1 - 0.8 * q) ** (4 - s) * stats.beta.pdf(q, 0.5, 1.5)
        bottom, _ = integrate.quad(weight, 0, 1, limit=400)
        for j in (0, 2, 6):
            top, _ = integrate.quad(lambda q: stats.binom.pmf(j, 6, 0.8 * q) * weight(q), 0, 1,
                                    limit=400)
            assert values[row, j] == pytest.approx(top / bottom, rel=1e-6)


@pytest.mark.parametrize("components", [1, 2, 3])
def test_the_wrong_answer_fit_gradient_matches_finite_differences(components):
    counts = np.array([[1, 2, 1, 0, 0], [0, 1, 1, 1, 1], [2, 0, 0, 0, 2], [4, 0, 0, 0, 0],
                       [0, 4, 0, 0, 0], [1, 1, 1, 1, 0]] * 3)
    parts, repeats = forecast._other_parts(counts), np.ones(len(counts))
    x = np.random.default_rng(components).normal(size=4 * components - 1)
    error = optimize.check_grad(
        lambda y: forecast._other_objective(y, parts, repeats, components)[0],
        lambda y: forecast._other_objective(y, parts, repeats, components)[1], x)
    assert error < 1e-4


def test_fit_beta_tree_recovers_the_wrong_answer_law_within_four_standard_errors():
    rng = np.random.default_rng(7)
    true = forecast.BetaTreeLaw(forecast.ScaledBeta(0.7, 1.2, 1.0), np.ones(1), np.array([2.0]),
                                np.array([0.6]), np.array([1.5]))
    counts = simulate_beta_tree(rng, true, 1500, 6)
    law = forecast.fit_beta_tree(counts)
    x = np.log([law.wrong[0], law.abstain[0], law.split[0]])
    parts, repeats = forecast._other_parts(counts), np.ones(len(counts))
    step = 1e-5
    hessian = np.stack([
        (forecast._other_objective(x + step * e, parts, repeats, 1)[1]
         - forecast._other_objective(x - step * e, parts, repeats, 1)[1]) / (2 * step)
        for e in np.eye(3)])
    errors = np.sqrt(np.diag(np.linalg.inv(hessian)))
    truth = np.log([2.0, 0.6, 1.5])
    assert np.all(np.abs(x - truth) < 4 * errors), (x, truth, errors)
    assert errors.max() < 0.3  # the test can fail: the sample pins the parameters down
    # The likelihood is maximised: the truth scores no better than the fit.
    assert law.log_likelihood >= forecast.beta_tree_log_likelihood(
        true._replace(correct=law.correct), counts) - 1e-6


def test_cross_validation_finds_two_kinds_of_questions_and_only_one_when_there_is_one():
    rng = np.random.default_rng(8)
    mixed = simulate_beta_tree(rng, two_kinds_of_questions(), 300, 6)
    choice = forecast.choose_beta_tree(mixed, (1, 2), folds=5, seed=0)
    assert choice.components == 2 and choice.scores[2] > choice.scores[1]
    assert sorted(choice.law.split)[0] < 0.5 < 10 < sorted(choice.law.split)[1]
    single = forecast.BetaTreeLaw(forecast.ScaledBeta(0.6, 0.8, 0.9), np.ones(1), np.array([3.0]),
                                  np.array([0.5]), np.array([1.0]))
    plain = simulate_beta_tree(rng, single, 300, 6)
    assert forecast.choose_beta_tree(plain, (1, 2), folds=5, seed=0).components == 1


def test_beta_tree_pass_at_k_is_the_baseline_posterior_and_all_correct_keeps_the_weights():
    law = two_kinds_of_questions()
    counts = np.array([[4, 0, 0, 0, 0, 0], [1, 2, 1, 0, 0, 0], [0, 1, 1, 1, 0, 1]])
    passes, majorities = forecast.beta_tree_forecast(law, counts, [1, 16], [1])
    np.testing.assert_allclose(passes, forecast.scaled_beta_conditional_pass_at_k(
        law.correct, counts[:, 0], counts.sum(1), [1, 16]), atol=1e-14)
    np.testing.assert_allclose(majorities[0], passes[0], atol=1e-12)  # k = 1: P(correct)


def test_beta_tree_majority_is_the_monte_carlo_mean_over_the_posterior():
    # Pilot (1 correct, wrong answers 2 + 1, one ⊥); maj@9 under the two-kind law against a
    # simulation of the posterior: components by their likelihood of the pilot's non-correct
    # answers, q by importance sampling (draws from Beta(α + s, β), weights (1 - cq)^f), the
    # wrong share from its posterior Beta, the wrong labels by the posterior urn (the pilot's
    # answers as atoms, γ on new ones). Within 4 standard errors.
    law, k = two_kinds_of_questions(), 9
    counts = np.array([[1, 2, 1, 0, 1]])
    s, m, b, f = 1, 3, 1, 4
    _, exact = forecast.beta_tree_forecast(law, counts, [], [k])
    gamma, u, v = law.split, law.wrong, law.abstain
    log_like = (betaln(u + m, v + b) - betaln(u, v) + 2 * np.log(gamma) + gammaln(gamma)
                - gammaln(gamma + m) + gammaln(2.0) + gammaln(1.0))
    resp = law.weights * np.exp(log_like - log_like.max())
    resp /= resp.sum()
    rng = np.random.default_rng(9)
    draws = 40_000
    g = rng.choice(2, size=draws, p=resp)
    q = rng.beta(law.correct.alpha + s, law.correct.beta, size=draws)
    weight = (1 - law.correct.scale * q) ** f
    p = law.correct.scale * q
    share = rng.beta(u[g] + m, v[g] + b)
    labels = np.zeros((draws, 2 + k))  # the two seen wrong answers, then new ones in order
    labels[:, :2] = [2.0, 1.0]
    new = np.full(draws, 2)
    correct = np.zeros(draws)
    for _ in range(k):
        kind = rng.random(draws)
        is_correct = kind < p
        is_wrong = ~is_correct & (rng.random(draws) < share)
        correct += is_correct
        urn = labels.copy()
        urn[np.arange(draws), new] = gamma[g]
        urn[np.arange(2 + k) > new[:, None]] = 0.0
        pick = (urn.cumsum(1) < rng.random(draws)[:, None] * urn.sum(1)[:, None]).sum(1)
        rows = np.flatnonzero(is_wrong)
        labels[rows, pick[rows]] += 1.0
        new += is_wrong & (pick == new)
    seen = labels.copy()
    seen[:, :2] -= [2.0, 1.0]  # the vote counts the new samples only
    top = seen.max(1)
    ties = (seen == top[:, None]).sum(1)
    value = np.where(correct > top, 1.0, np.where((correct == top) & (correct > 0),
                                                  1.0 / (1 + ties), 0.0))
    estimate = (weight * value).sum() / weight.sum()
    error = np.sqrt((weight ** 2 * (value - estimate) ** 2).sum()) / weight.sum()
    assert abs(exact[0, 0] - estimate) < 4 * error, (exact[0, 0], estimate, error)
