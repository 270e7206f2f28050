"""Tests of slmmux_theory.inference.answer_model: likelihood pieces, fitting, simulation-based calibration."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy import stats

from slmmux_theory.inference.answer_model import (
    AnswerModelConfig,
    _log_likelihood,
    answer_model,
    attractor_from_sticks,
    count_data,
    dirichlet_multinomial_log_prob,
    _moment_start,
    _model_sites,
    fit_answer_model,
    interaction_logits,
    level_means,
    prior_fit,
)
from slmmux_theory.inference.predict import posterior_predictive_probs, replicate_counts


def _scipy_dirichlet_multinomial(x, alpha):
    return stats.dirichlet_multinomial.logpmf(x, alpha, int(np.sum(x)))


def test_dirichlet_multinomial_matches_scipy():
    x = np.array([3.0, 0.0, 5.0, 2.0])
    alpha = np.array([0.3, 1.7, 0.05, 2.0])
    assert float(dirichlet_multinomial_log_prob(x, alpha)) == pytest.approx(
        _scipy_dirichlet_multinomial(x, alpha), rel=1e-12
    )


def test_dirichlet_multinomial_of_no_samples_is_zero():
    assert float(dirichlet_multinomial_log_prob(np.zeros(3), np.array([0.1, 1.0, 2.0]))) == 0.0


def test_attractor_from_sticks_by_hand():
    np.testing.assert_allclose(
        attractor_from_sticks(jnp.array([0.2, 0.5, 0.25])), [0.2, 0.4, 0.1, 0.3]
    )


def test_level_means_by_hand():
    means = level_means(jnp.array([1.0]), jnp.array([1.0, 0.0]), jnp.array([0.0]), 0.0)
    # abstain = sigmoid(0) = 1/2; correct = sigmoid(0) = 1/2 and sigmoid(1).
    s1 = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(means[0], [[0.25, 0.25, 0.5], [0.5 * s1, 0.5 * (1 - s1), 0.5]])


def test_level_means_with_interaction_by_hand():
    # ability 1, difficulty 1, interaction s·t = 2 · 1.5 = 3: correct = sigmoid(3); no ⊥.
    interaction = interaction_logits(jnp.array([[2.0]]), jnp.array([[1.5]]))
    means = level_means(jnp.array([1.0]), jnp.array([1.0]), jnp.array([-1e3]), 0.0, interaction)
    s3 = 1 / (1 + np.exp(-3.0))
    np.testing.assert_allclose(means[0, 0], [s3, 1 - s3, 0.0], atol=1e-12)


def test_interaction_of_rank_zero_is_zero():
    np.testing.assert_array_equal(interaction_logits(jnp.zeros((3, 0)), jnp.zeros((4, 0))), 0.0)


def test_sparse_likelihood_equals_dense_dirichlet_tree():
    """The fast likelihood must equal the two Dirichlet-multinomial levels summed densely."""
    rng = np.random.default_rng(3)
    counts = rng.multinomial(6, [0.4, 0.2, 0.15, 0.1, 0.15], size=(3, 5))
    counts[1, 2] = 0  # a pair without samples
    counts[2, 4] = [0, 0, 0, 0, 6]  # only ⊥
    ability = jnp.array([0.5, 1.5, -0.3])
    difficulty = jnp.array([0.0, 1.0, -1.0, 0.3, 2.0])
    abstain = jnp.array([-2.0, -1.0, -3.0])
    slope = 0.4
    concentration = jnp.array([0.7, 2.0, 5.0])
    wrong_concentration = jnp.array([1.3, 0.4, 3.0])
    attractor = attractor_from_sticks(jnp.asarray(rng.uniform(0.1, 0.9, size=(5, 2))))
    interaction = jnp.asarray(rng.normal(size=(3, 5)))
    got = _log_likelihood(
        count_data(counts), ability, difficulty, abstain, slope, concentration,
        wrong_concentration, attractor, interaction,
    )
    # The dense reference adds the interaction to θ_m - d_q by hand.
    logit = np.asarray(ability)[:, None] - np.asarray(difficulty)[None, :] + np.asarray(interaction)
    correct = 1 / (1 + np.exp(-logit))
    abstain_p = 1 / (1 + np.exp(-(np.asarray(abstain)[:, None] + slope * np.asarray(difficulty))))
    means = np.stack(
        [(1 - abstain_p) * correct, (1 - abstain_p) * (1 - correct), abstain_p], axis=-1
    )
    want = 0.0
    for m in range(3):
        for q in range(5):
            top = [counts[m, q, 0], counts[m, q, 1:4].sum(), counts[m, q, 4]]
            if sum(top):
                want += _scipy_dirichlet_multinomial(top, float(concentration[m]) * means[m, q])
            if top[1]:
                want += _scipy_dirichlet_multinomial(
                    counts[m, q, 1:4], float(wrong_concentration[m]) * np.asarray(attractor[q])
                )
    assert float(got) == pytest.approx(want, rel=1e-10)


def test_count_data_rejects_too_few_slots():
    with pytest.raises(ValueError, match="3 answer slots"):
        count_data(np.ones((1, 1, 2), dtype=int))


def test_fit_rejects_unknown_method_and_guide():
    counts = np.array([[[3, 1, 0]]])
    with pytest.raises(ValueError, match="method"):
        fit_answer_model(jax.random.PRNGKey(0), counts, method="laplace")
    with pytest.raises(ValueError, match="guide"):
        fit_answer_model(jax.random.PRNGKey(0), counts, guide="flow", svi_steps=2)


COUNTS = np.array([[[3, 1, 0, 0, 0], [0, 2, 2, 0, 0]], [[4, 0, 0, 0, 0], [1, 2, 0, 1, 0]]])


def test_svi_fit_shapes_and_reproducibility():
    fit = functools.partial(
        fit_answer_model, counts=COUNTS, method="svi", svi_steps=30, num_draws=6
    )
    first, second = fit(jax.random.PRNGKey(4)), fit(jax.random.PRNGKey(4))
    assert first.posterior["ability"].shape == (6, 2)
    assert first.posterior["difficulty"].shape == (6, 2)
    assert first.posterior["attractor"].shape == (6, 2, 3)
    np.testing.assert_allclose(first.posterior["attractor"].sum(-1), 1.0)
    assert first.losses.shape == (30,)
    assert first.posterior["interaction_loading"].shape == (6, 2, 2)
    assert first.posterior["question_factor"].shape == (6, 2, 2)
    for name in first.posterior:
        np.testing.assert_array_equal(first.posterior[name], second.posterior[name])


def test_lowrank_guide_still_fits():
    fit = fit_answer_model(
        jax.random.PRNGKey(4), COUNTS, method="svi", guide="lowrank", svi_steps=20, num_draws=4
    )
    assert fit.posterior["ability"].shape == (4, 2)
    assert np.all(np.isfinite(np.asarray(fit.losses)))


def test_moment_start_orders_models_and_questions_by_accuracy():
    """The start puts the more accurate model higher and the less solved question harder, and
    every value lies inside its site's support."""
    counts = np.zeros((2, 3, 5), dtype=int)
    counts[0] = [[9, 1, 0, 0, 0], [8, 0, 2, 0, 0], [1, 9, 0, 0, 0]]
    counts[1] = [[5, 5, 0, 0, 0], [4, 0, 6, 0, 0], [0, 10, 0, 0, 0]]
    config = AnswerModelConfig()
    sites = _model_sites(config, counts.shape)
    start = _moment_start(counts, config, sites)
    assert set(start) == {name for name, (kind, _, _) in sites.items() if kind == "sample"}
    assert float(start["ability_z"][0]) > float(start["ability_z"][1])
    assert float(start["difficulty_z"][2]) > float(start["difficulty_z"][0])
    for name, value in start.items():
        assert value.shape == sites[name][1], name
        assert bool(jnp.all(sites[name][2](value))), name
    # Question 1's wrong answers sit in slot 2, so its first stick (slot 1) is small.
    assert float(start["sticks"][1, 0]) < 0.1


@pytest.mark.slow
def test_svi_with_interaction_finds_a_group_of_models_that_fails_together():
    """Synthetic data: models 0-2 miss questions 0-9 (one shared wrong answer) that models 3-5
    solve, all models solve the other 30. The fitted interaction must make those 10 questions
    hard for the first group only: the posterior mean correct-logit gap between the groups is
    larger on each of them than on any other question, by a wide margin."""
    counts = np.zeros((6, 40, 4), dtype=int)
    counts[:, :, 0] = 10
    counts[:3, :10, 0] = 0
    counts[:3, :10, 1] = 10
    fit = fit_answer_model(jax.random.PRNGKey(0), counts, svi_steps=1500, learning_rate=0.05,
                           final_learning_rate=0.005, num_draws=200)
    post = fit.posterior
    logit = (post["ability"][:, :, None] - post["difficulty"][:, None, :]
             + interaction_logits(post["interaction_loading"], post["question_factor"]))
    gap = np.asarray(logit[:, 3:].mean(1) - logit[:, :3].mean(1)).mean(0)
    assert gap[:10].min() > gap[10:].max() + 3.0, gap


@pytest.mark.parametrize(
    "config",
    [
        AnswerModelConfig(difficulty=False, attractor="global"),
        AnswerModelConfig(
            attractor="none", model_concentration=False, model_abstention=False,
            heavy_tailed_difficulty=False,
        ),
    ],
)
def test_ablated_models_switch_their_component_off(config):
    prior = prior_fit(jax.random.PRNGKey(1), 2, 2, 5, config=config, num_draws=3)
    posterior = prior.posterior
    if not config.difficulty:
        np.testing.assert_array_equal(posterior["difficulty"], 0.0)
    if config.attractor == "global":
        np.testing.assert_array_equal(posterior["attractor"][:, 0], posterior["attractor"][:, 1])
    if config.attractor == "none":
        np.testing.assert_allclose(posterior["attractor"], 1 / 3)
    if not config.model_concentration:
        np.testing.assert_array_equal(
            posterior["concentration"][:, 0], posterior["concentration"][:, 1]
        )
    if not config.model_abstention:
        np.testing.assert_array_equal(
            posterior["abstain_logit"][:, 0], posterior["abstain_logit"][:, 1]
        )
    # The ablated model still has a finite density at a prior draw.
    model = functools.partial(answer_model, config=config)
    point = {name: value[0] for name, value in posterior.items()}
    density, _ = log_density(model, (count_data(COUNTS),), {}, point)
    assert np.isfinite(float(density))


@pytest.mark.slow
def test_nuts_fit_runs_and_is_reproducible():
    fit = functools.partial(
        fit_answer_model, counts=COUNTS, method="nuts", num_warmup=30, num_draws=20
    )
    first, second = fit(jax.random.PRNGKey(5)), fit(jax.random.PRNGKey(5))
    assert first.posterior["concentration"].shape == (20, 2)
    np.testing.assert_array_equal(first.posterior["ability"], second.posterior["ability"])


def _simulate(key, num_models, num_questions, num_answers, samples, config=AnswerModelConfig()):
    prior_key, probs_key, counts_key = jax.random.split(key, 3)
    truth = prior_fit(prior_key, num_models, num_questions, num_answers, config=config)
    probs = posterior_predictive_probs(probs_key, truth, condition_on_counts=False)
    counts = replicate_counts(counts_key, probs[0], samples)
    return truth, counts


@pytest.mark.slow
def test_simulation_based_calibration_of_nuts():
    """True parameters drawn from the prior fall in their 90 % NUTS intervals about 90 % of the
    time (abilities, difficulties, log concentrations; 3 data sets of 4 models × 40 questions
    × 10 samples, 3 × 48 = 144 checks).

    The checks are correlated, so the band is wide: a pooled rate below 0.75 (posterior too
    narrow) or of 1.0 (far too wide) fails. Measured: 0.78 with NUTS. The mean-field SVI guide
    gives only 0.58 on the same data sets (its parameter intervals are too narrow); predictions
    made from SVI fits are therefore checked empirically (``slmmux check`` measures coverage).

    Run without the model-by-question interaction (K = 0): with the default K = 2 the same
    check measured 0.60 (θ_m and d_q trade off against s_m · t_q on 4 models and short
    chains), so the interaction's parameters are not yet shown to be calibrated; its value is
    shown by the real-data predictive checks instead (experiments/fit_answer_model/run.py)."""
    hits = []
    for replication in range(3):
        config = AnswerModelConfig(interaction_rank=0)
        truth, counts = _simulate(jax.random.PRNGKey(100 + replication), 4, 40, 5, 10, config)
        fit = fit_answer_model(
            jax.random.PRNGKey(200 + replication), counts, method="nuts", num_warmup=300,
            num_draws=300, config=config,
        )
        for name, transform in [("ability", None), ("difficulty", None), ("concentration", np.log)]:
            draws = np.asarray(fit.posterior[name])
            true = np.asarray(truth.posterior[name][0])
            if transform is not None:
                draws, true = transform(draws), transform(true)
            lower, upper = np.quantile(draws, [0.05, 0.95], axis=0)
            hits.extend(((lower <= true) & (true <= upper)).tolist())
    rate = float(np.mean(hits))
    assert 0.75 <= rate < 1.0, rate


def test_unseen_pairs_do_not_change_the_likelihood():
    """A (model, question) pair without samples contributes exactly nothing."""
    rng = np.random.default_rng(0)
    counts = rng.multinomial(5, [0.5, 0.2, 0.2, 0.1], size=(2, 3))
    with_gap = counts.copy()
    with_gap[0, 1] = 0
    args = (
        jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0, -1.0]), jnp.array([-2.0, -2.5]), 0.1,
        jnp.array([1.0, 2.0]), jnp.array([0.5, 3.0]),
        attractor_from_sticks(jnp.array([[0.5], [0.3], [0.9]])),
    )
    full = _log_likelihood(count_data(counts), *args)
    gap = _log_likelihood(count_data(with_gap), *args)
    single = np.zeros_like(counts)
    single[0, 1] = counts[0, 1]
    alone = _log_likelihood(count_data(single), *args)
    assert float(full) == pytest.approx(float(gap) + float(alone), rel=1e-12)
