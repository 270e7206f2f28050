"""Tests of slmmux_theory.inference.predict: shapes, normalisation, conjugate update, reproducibility."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.inference.answer_model import AnswerModelConfig, AnswerModelFit, prior_fit
from slmmux_theory.inference.predict import (
    population_predictive_probs,
    posterior_predictive_probs,
    replicate_counts,
)

NUM_MODELS, NUM_QUESTIONS, NUM_ANSWERS = 3, 4, 5


@pytest.fixture(scope="module")
def prior():
    return prior_fit(jax.random.PRNGKey(0), NUM_MODELS, NUM_QUESTIONS, NUM_ANSWERS, num_draws=7)


def _with_counts(fit, counts):
    return fit._replace(counts=jnp.asarray(counts))


def _point_fit(counts, concentration, wrong_concentration, attractor):
    """A one-draw fit with hand-set parameters (ability 0, difficulty 0, abstain logit 0)."""
    num_models, num_questions, _ = counts.shape
    posterior = {
        "ability": jnp.zeros((1, num_models)),
        "difficulty": jnp.zeros((1, num_questions)),
        "abstain_logit": jnp.zeros((1, num_models)),
        "abstain_slope": jnp.zeros((1,)),
        "concentration": jnp.full((1, num_models), concentration),
        "wrong_concentration": jnp.full((1, num_models), wrong_concentration),
        "attractor": jnp.broadcast_to(jnp.asarray(attractor), (1, num_questions, len(attractor))),
        "difficulty_scale": jnp.ones((1,)),
        "stick_concentration": jnp.ones((1,)),
    }
    return AnswerModelFit("prior", AnswerModelConfig(), jnp.asarray(counts), posterior,
                          jnp.zeros((0,)), 0)


def test_posterior_predictive_shapes_and_sums(prior):
    probs = posterior_predictive_probs(jax.random.PRNGKey(1), prior)
    assert probs.shape == (7, NUM_MODELS, NUM_QUESTIONS, NUM_ANSWERS)
    assert bool(jnp.all(probs >= 0))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)


def test_selection_of_models_questions_and_draws(prior):
    probs = posterior_predictive_probs(
        jax.random.PRNGKey(1), prior, models=[2, 0], questions=[3], num_draws=11
    )
    assert probs.shape == (11, 2, 1, NUM_ANSWERS)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)


@pytest.mark.slow  # 12 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
def test_population_predictive_shapes_and_sums(prior):
    probs = population_predictive_probs(jax.random.PRNGKey(2), prior, 9, models=[1], num_draws=5)
    assert probs.shape == (5, 1, 9, NUM_ANSWERS)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    "config",
    [
        AnswerModelConfig(attractor="global"),
        AnswerModelConfig(attractor="none", heavy_tailed_difficulty=False),
    ],
)
@pytest.mark.slow  # 14 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
def test_population_predictive_for_ablated_models(config):
    fit = prior_fit(jax.random.PRNGKey(0), 2, 3, 5, config=config, num_draws=2)
    probs = population_predictive_probs(jax.random.PRNGKey(2), fit, 4)
    assert probs.shape == (2, 2, 4, 5)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-12)


def test_draws_are_reproducible_from_the_key(prior):
    for function, extra in [
        (posterior_predictive_probs, {}),
        (population_predictive_probs, {"num_questions": 3}),
    ]:
        first = function(jax.random.PRNGKey(5), prior, **extra)
        second = function(jax.random.PRNGKey(5), prior, **extra)
        other = function(jax.random.PRNGKey(6), prior, **extra)
        np.testing.assert_array_equal(first, second)
        assert not np.allclose(first, other)


def test_conjugate_update_mean_by_hand():
    """Mean of the posterior Dirichlet tree: top level (κμ + counts) / (κ + n).

    κ = 2, μ = (1/4, 1/4, 1/2) (ability, difficulty, abstain logit all 0), counts
    (6 correct, 2 wrong in slot 1, 0 ⊥): E π_c = (0.5 + 6) / (2 + 8) = 0.65 and
    E π_⊥ = (1 + 0) / 10 = 0.1; wrong split λ ω = (1, 1) + (2, 0) gives E ρ_1 = 3/4, so
    E π_1 = 0.25 * 3/4 (independent levels)."""
    counts = np.array([[[6, 2, 0, 0]]])
    fit = _point_fit(counts, 2.0, 2.0, [0.5, 0.5])
    probs = posterior_predictive_probs(jax.random.PRNGKey(0), fit, num_draws=40000)
    mean = np.asarray(probs.mean(0))[0, 0]
    standard_error = np.asarray(probs.std(0))[0, 0] / np.sqrt(40000)
    want = np.array([0.65, 0.25 * 0.75, 0.25 * 0.25, 0.1])
    np.testing.assert_array_less(np.abs(mean - want), 5 * standard_error)


def test_unconditioned_draws_ignore_the_counts():
    """Without conditioning, E π = μ regardless of the counts: (1/4, 1/8, 1/8, 1/2)."""
    fit = _point_fit(np.array([[[6, 2, 0, 0]]]), 2.0, 2.0, [0.5, 0.5])
    probs = posterior_predictive_probs(
        jax.random.PRNGKey(0), fit, num_draws=40000, condition_on_counts=False
    )
    mean = np.asarray(probs.mean(0))[0, 0]
    standard_error = np.asarray(probs.std(0))[0, 0] / np.sqrt(40000)
    np.testing.assert_array_less(
        np.abs(mean - [0.25, 0.125, 0.125, 0.5]), 5 * standard_error
    )


def test_replicate_counts_totals_and_mean():
    probs = jnp.array([[[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]]])
    totals = np.array([[10, 3]])
    counts = replicate_counts(jax.random.PRNGKey(3), jnp.broadcast_to(probs, (20000, 1, 2, 3)),
                              totals)
    assert counts.shape == (20000, 1, 2, 3)
    np.testing.assert_array_equal(counts.sum(-1), np.broadcast_to(totals, (20000, 1, 2)))
    mean = np.asarray(counts.mean(0))
    want = np.asarray(probs) * totals[..., None]
    standard_error = np.sqrt(want * (1 - np.asarray(probs)) / 20000)
    np.testing.assert_array_less(np.abs(mean - want), 5 * standard_error + 1e-12)


def test_replicate_counts_with_missing_pairs():
    counts = replicate_counts(jax.random.PRNGKey(0), jnp.full((2, 1, 3), 1 / 3), np.array([[0], [4]]))
    assert counts.sum(-1).tolist() == [[0], [4]]


def test_rejects_bad_model_index(prior):
    with pytest.raises(ValueError, match="models"):
        posterior_predictive_probs(jax.random.PRNGKey(0), prior, models=[NUM_MODELS])


def test_unseen_pair_draws_equal_the_prior_draws(prior):
    """A pair with zero counts gets the same draws with or without conditioning."""
    fit = _with_counts(prior, np.zeros((NUM_MODELS, NUM_QUESTIONS, NUM_ANSWERS), dtype=int))
    a = posterior_predictive_probs(jax.random.PRNGKey(9), fit)
    b = posterior_predictive_probs(jax.random.PRNGKey(9), fit, condition_on_counts=False)
    np.testing.assert_allclose(a, b)


def test_interaction_moves_the_correct_mean_by_hand():
    """Two models, one question, loading (+2, -2) and factor 1 (abstain logit -1e3 so no ⊥):
    without counts E π_c = sigmoid(±2) for the two models (ability and difficulty 0)."""
    fit = _point_fit(np.zeros((2, 1, 4), dtype=int), 2.0, 2.0, [0.5, 0.5])
    posterior = dict(fit.posterior)
    posterior["abstain_logit"] = jnp.full((1, 2), -1e3)
    posterior["interaction_loading"] = jnp.array([[[2.0], [-2.0]]])
    posterior["question_factor"] = jnp.array([[[1.0]]])
    fit = fit._replace(posterior=posterior)
    probs = posterior_predictive_probs(jax.random.PRNGKey(0), fit, num_draws=40000)
    mean = np.asarray(probs.mean(0))[:, 0, 0]
    standard_error = np.asarray(probs.std(0))[:, 0, 0] / np.sqrt(40000)
    want = 1 / (1 + np.exp(-np.array([2.0, -2.0])))
    np.testing.assert_array_less(np.abs(mean - want), 5 * standard_error)


@pytest.mark.slow  # 18 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
def test_population_draws_include_new_question_factors():
    """With a strong interaction (loadings ±5), new questions from the population make the two
    models' correct rates differ question by question; without it (K = 0) they are equal."""
    prior = prior_fit(jax.random.PRNGKey(0), 2, 3, 4, num_draws=1)
    posterior = dict(prior.posterior)
    posterior["concentration"] = jnp.full((1, 2), 1e6)  # π = μ, so the means show directly
    posterior["ability"] = jnp.zeros((1, 2))
    posterior["abstain_logit"] = jnp.full((1, 2), -1e3)
    strong = prior._replace(posterior={**posterior,
                                       "interaction_loading": jnp.array([[[5.0], [-5.0]]]),
                                       "question_factor": jnp.zeros((1, 3, 1))})
    none = prior._replace(posterior={**posterior,
                                     "interaction_loading": jnp.zeros((1, 2, 0)),
                                     "question_factor": jnp.zeros((1, 3, 0))})
    gap_strong = np.abs(np.asarray(population_predictive_probs(jax.random.PRNGKey(3), strong, 50))
                        [0, 0, :, 0] - np.asarray(population_predictive_probs(
                            jax.random.PRNGKey(3), strong, 50))[0, 1, :, 0])
    probs_none = np.asarray(population_predictive_probs(jax.random.PRNGKey(3), none, 50))
    np.testing.assert_allclose(probs_none[0, 0, :, 0], probs_none[0, 1, :, 0], atol=0.01)
    assert np.median(gap_strong) > 0.3


def test_dirichlet_tree_moments_and_tiny_parameters():
    """The Dirichlet tree: each level's mean and variance are the Dirichlet's (within 5 standard errors), and parameters far below any float's resolution
    still give finite rows summing to 1 (no 0/0)."""
    from slmmux_theory.inference.predict import _dirichlet_tree

    n = 20000
    top = jnp.broadcast_to(jnp.array([2.0, 1.0, 0.5]), (n, 3))
    wrong = jnp.broadcast_to(jnp.array([0.3, 3.0]), (n, 2))
    probs = np.asarray(_dirichlet_tree(jax.random.PRNGKey(0), top, wrong))
    total = 3.5
    correct = probs[:, 0]
    want_mean = 2.0 / total
    want_var = 2.0 * (total - 2.0) / (total**2 * (total + 1.0))
    assert abs(correct.mean() - want_mean) < 5 * correct.std() / np.sqrt(n)
    squares = (correct - correct.mean()) ** 2
    assert abs(squares.mean() - want_var) < 5 * squares.std() / np.sqrt(n)
    # Second wrong slot: E[π_w ρ_2] = (1/3.5) (3/3.3), independent levels.
    second = probs[:, 2]
    assert abs(second.mean() - (1.0 / total) * (3.0 / 3.3)) < 5 * second.std() / np.sqrt(n)
    tiny = np.asarray(_dirichlet_tree(jax.random.PRNGKey(1), jnp.array([[1e-300, 1e-300, 1.0]]),
                                      jnp.array([[1e-310, 1e-320]])))
    assert np.all(np.isfinite(tiny))
    np.testing.assert_allclose(tiny.sum(-1), 1.0)
