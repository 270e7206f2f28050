"""Tests of slmmux_theory.inference.answer_model: likelihood pieces, count layout, prior draws."""

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
    interaction_logits,
    level_means,
    prior_fit,
)


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


COUNTS = np.array([[[3, 1, 0, 0, 0], [0, 2, 2, 0, 0]], [[4, 0, 0, 0, 0], [1, 2, 0, 1, 0]]])


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
