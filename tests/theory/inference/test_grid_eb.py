"""Tests of slmmux_theory.inference.grid_eb: empirical-Bayes answer laws from a pilot."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy.stats import multinomial

from slmmux_theory.inference import grid_eb
from slmmux_theory.inference.answer_model import dirichlet_multinomial_log_prob


def test_simplex_grid_holds_every_lattice_point_once():
    grid = grid_eb.simplex_grid(6)
    assert grid.shape == (28, 3)
    assert np.allclose(grid.sum(1), 1.0)
    assert len({tuple(np.round(row * 6).astype(int)) for row in grid}) == 28


def test_grid_posterior_is_bayes_rule_by_brute_force():
    grid = grid_eb.simplex_grid(3)
    weights = np.random.default_rng(0).dirichlet(np.ones(len(grid)))
    top = np.array([[2, 1, 0], [0, 0, 3], [1, 1, 1]])
    post = grid_eb.grid_posterior(top, grid, weights)
    for row, p in zip(top, post):
        joint = np.array([w * multinomial.pmf(row, row.sum(), g) for w, g in zip(weights, grid)])
        assert np.allclose(p, joint / joint.sum(), atol=1e-12)


def test_npmle_recovers_a_two_point_law_within_monte_carlo_error():
    # 80 % of rows always right, 20 % right with probability 0.2; 5 samples per row.
    rng = np.random.default_rng(1)
    rows = 3000
    easy = rng.uniform(size=rows) < 0.8
    correct = np.where(easy, 5, rng.binomial(5, 0.2, size=rows))
    top = np.stack([correct, 5 - correct, np.zeros(rows, int)], 1)
    grid = grid_eb.simplex_grid(10)
    weights = grid_eb.fit_grid_law(top, grid, iterations=500)
    always = weights[np.all(np.isclose(grid, [1.0, 0.0, 0.0]), axis=1)].sum()
    se = np.sqrt(0.8 * 0.2 / rows)
    # Rows at 5/5 from the hard part (0.2^5 = 3e-4) barely move the point mass.
    assert abs(always - 0.8) < 4 * se + 0.01
    mean_correct = weights @ grid[:, 0]
    assert abs(mean_correct - (0.8 + 0.2 * 0.2)) < 4 * np.sqrt(correct.var() / 25 / rows) + 0.005


def test_em_never_lowers_the_likelihood():
    rng = np.random.default_rng(2)
    top = rng.multinomial(4, [0.6, 0.3, 0.1], size=50)
    grid = grid_eb.simplex_grid(8)
    values = []
    for steps in (1, 5, 25, 100):
        w = grid_eb.fit_grid_law(top, grid, steps)
        lik = np.array([[multinomial.pmf(r, 4, g) for g in grid] for r in top]) @ w
        values.append(np.log(lik).sum())
    assert all(b >= a - 1e-9 for a, b in zip(values, values[1:]))


def test_split_likelihood_is_the_dirichlet_multinomial_without_its_coefficient():
    # Independent reference: the answer model's Dirichlet-multinomial log-probability, minus
    # the multinomial coefficient, which the split likelihood leaves out.
    from scipy.special import gammaln

    own = np.array([[2.0, 0.0, 1.0, 0.0], [0.0, 3.0, 0.0, 0.0]])
    shares = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    new = np.array([[0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25]])
    crowd = np.array([True, False])
    got = grid_eb._split_loglik(2.0, 0.7, own, shares, new, crowd)
    alpha = np.array([[1.0, 1.0, 0.35, 0.35], [0.175] * 4])
    coefficient = gammaln(own.sum(1) + 1) - gammaln(own + 1).sum(1)
    want = np.asarray(dirichlet_multinomial_log_prob(own, alpha)) - coefficient
    assert np.allclose(got, want, atol=1e-10)


def test_wrong_split_separates_locked_and_scattered_rows():
    # Model 0: half its rows give one wrong answer every time, half a new answer every time.
    rng = np.random.default_rng(3)
    questions, slots = 200, 30
    counts = np.zeros((2, questions, slots + 2), dtype=int)
    for q in range(questions):
        if q % 2:
            counts[0, q, 1 + rng.integers(slots)] = 4
        else:
            counts[0, q, 1 + rng.choice(slots, 4, replace=False)] = 1
        counts[1, q, 0] = 4  # model 1 always right: no crowd
    split = grid_eb.fit_wrong_split(counts)
    # No other model is ever wrong, so only the novelty weight is identified: tiny for the
    # locked rows (the first new answer takes all), large for the scattered ones.
    assert split.novelty[0, 0] < 0.1 and split.novelty[0, 1] > 10
    assert abs(split.weight[0, 0] - 0.5) < 0.1


@pytest.mark.parametrize("alpha", [[1e-4, 1e-4, 1e-4], [2.0, 3.0, 5.0], [0.0, 1.0, 1.0]])
def test_dirichlet_draws_have_the_dirichlet_mean(alpha):
    rng = np.random.default_rng(4)
    alpha = np.array(alpha)
    draws = grid_eb._dirichlet(rng, np.broadcast_to(alpha, (20000, 3)))
    assert np.allclose(draws.sum(1), 1.0)
    mean = alpha / alpha.sum()
    se = np.sqrt(mean * (1 - mean) / (alpha.sum() + 1) / 20000)
    assert np.all(np.abs(draws.mean(0) - mean) < 4 * se + 1e-12)
    assert np.all(draws[:, alpha == 0] == 0)


def test_question_probs_follow_the_pilot_and_are_reproducible():
    # 60 questions every model always gets right, one model failing on two of them.
    counts = np.zeros((3, 60, 5), dtype=int)
    counts[:, :, 0] = 3
    counts[0, :2, 0] = 0
    counts[0, :2, 1] = 3
    key = jax.random.PRNGKey(0)
    probs = grid_eb.eb_question_probs(key, counts, 8, resolution=10)
    assert probs.shape == (8, 3, 60, 5)
    assert np.allclose(probs.sum(-1), 1.0)
    # The failures stay failures (the law has its point mass at "always wrong" from them), the
    # rest stay right: no shrinkage toward the model's mean.
    assert probs[:, 0, :2, 0].max() < 0.2
    assert probs[:, 0, 2:, 0].min() > 0.8
    assert np.array_equal(probs, grid_eb.eb_question_probs(key, counts, 8, resolution=10))


def test_population_probs_reuse_pilot_questions_for_the_unseen():
    counts = np.zeros((2, 4, 4), dtype=int)
    counts[:, :, 0] = [[3, 0, 2, 1], [3, 3, 0, 1]]
    counts[:, :, 1] = 3 - counts[:, :, 0]
    probs = grid_eb.eb_population_probs(jax.random.PRNGKey(1), counts, 10, 5, resolution=6)
    assert probs.shape == (5, 2, 10, 4)
    with pytest.raises(ValueError, match="unseen"):
        grid_eb.eb_population_probs(jax.random.PRNGKey(1), counts, 10, 5, unseen="nope")


def test_local_laws_follow_the_covariate():
    # Rows with a low covariate are always wrong, with a high one always right: the local
    # prior of a row follows its neighbours, not the pooled 50/50 law.
    top = np.array([[0, 3, 0]] * 40 + [[3, 0, 0]] * 40)
    share = np.r_[np.full(40, 0.05), np.full(40, 0.95)]
    grid = grid_eb.simplex_grid(4)
    prior = grid_eb.local_grid_laws(top, share, grid, iterations=200)
    right = np.all(np.isclose(grid, [1.0, 0.0, 0.0]), axis=1)
    assert np.allclose(prior.sum(1), 1.0)
    assert prior[0, right].sum() < 0.05 and prior[-1, right].sum() > 0.95


def test_local_law_question_probs_have_the_same_layout():
    counts = np.zeros((3, 40, 5), dtype=int)
    counts[:, :, 0] = 3
    counts[:, :5, 0] = 0
    counts[:, :5, 1] = 3
    probs = grid_eb.eb_question_probs(jax.random.PRNGKey(0), counts, 4, resolution=6,
                                      law="local")
    assert probs.shape == (4, 3, 40, 5) and np.allclose(probs.sum(-1), 1.0)
    assert probs[:, :, :5, 0].max() < 0.2 and probs[:, :, 5:, 0].min() > 0.8
    with pytest.raises(ValueError, match="law"):
        grid_eb.eb_question_probs(jax.random.PRNGKey(0), counts, 4, law="nope")
