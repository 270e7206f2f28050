"""Tests of the locked-row mixtures of the answer model (slmmux_theory.inference.locked, and
``AnswerModelConfig(locked_rows=True)`` / ``locked_split=True``).

The mixture likelihood against a dense sum with SciPy's Dirichlet-multinomial and against Monte
Carlo over the mixture prior; the posterior locked probability against importance sampling;
the predictive draws against the exact mixture posterior mean; recovery from simulated data.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from numpyro.infer.util import log_density
from scipy import stats
from scipy.special import expit, logsumexp

from slmmux_theory.inference.answer_model import (
    AnswerModelConfig,
    AnswerModelFit,
    _log_likelihood,
    answer_model,
    attractor_from_sticks,
    count_data,
    prior_fit,
)
from slmmux_theory.inference.locked import locked_posterior_logit, row_log_probs
from slmmux_theory.inference.predict import (
    population_predictive_probs,
    posterior_predictive_probs,
)

LOCKED = AnswerModelConfig(locked_rows=True)
SPLIT = AnswerModelConfig(locked_split=True)
BOTH = AnswerModelConfig(locked_rows=True, locked_split=True)


def _dm(x, alpha):
    return stats.dirichlet_multinomial.logpmf(x, alpha, int(np.sum(x)))


def _parameters(rng):
    return dict(
        ability=jnp.array([0.5, 1.5, -0.3]),
        difficulty=jnp.array([0.0, 1.0, -1.0, 0.3, 2.0]),
        abstain_logit=jnp.array([-2.0, -1.0, -3.0]),
        abstain_slope=0.4,
        concentration=jnp.array([0.7, 2.0, 5.0]),
        wrong_concentration=jnp.array([1.3, 0.4, 3.0]),
        attractor=attractor_from_sticks(jnp.asarray(rng.uniform(0.1, 0.9, size=(5, 2)))),
    )


def test_mixture_likelihood_equals_dense_sum_with_scipy():
    """Σ_rows log[(1 - w_m) DM(n; κμ) + w_m DM(n; τ)] + the wrong level, written out densely."""
    rng = np.random.default_rng(3)
    counts = rng.multinomial(6, [0.4, 0.2, 0.15, 0.1, 0.15], size=(3, 5))
    counts[1, 2] = 0  # a pair without samples: contributes nothing
    counts[2, 4] = [0, 0, 0, 0, 6]
    counts[0, 1] = [0, 6, 0, 0, 0]
    p = _parameters(rng)
    logit = jnp.array([-2.0, 0.5, -4.0])
    tau = jnp.array([0.2, 0.5, 0.1])
    split_logit, split_concentration = jnp.array([-1.0, -3.0, 0.2]), 0.07
    got = _log_likelihood(count_data(counts), *p.values(), None, (logit, tau))
    got_both = _log_likelihood(count_data(counts), *p.values(), None, (logit, tau),
                               (split_logit, split_concentration))
    d = np.asarray(p["difficulty"])
    correct = expit(np.asarray(p["ability"])[:, None] - d[None, :])
    abstain = expit(np.asarray(p["abstain_logit"])[:, None] + p["abstain_slope"] * d)
    means = np.stack([(1 - abstain) * correct, (1 - abstain) * (1 - correct), abstain], -1)
    w, v = expit(np.asarray(logit)), expit(np.asarray(split_logit))
    want = want_both = 0.0
    for m in range(3):
        for q in range(5):
            top = [counts[m, q, 0], counts[m, q, 1:4].sum(), counts[m, q, 4]]
            if sum(top):
                top_term = logsumexp([
                    np.log1p(-w[m]) + _dm(top, p["concentration"][m] * means[m, q]),
                    np.log(w[m]) + _dm(top, np.asarray(tau))])
                want += top_term
                want_both += top_term
            if top[1]:
                omega = np.asarray(p["attractor"][q])
                free = _dm(counts[m, q, 1:4], float(p["wrong_concentration"][m]) * omega)
                want += free
                want_both += logsumexp([np.log1p(-v[m]) + free, np.log(v[m]) + _dm(
                    counts[m, q, 1:4], split_concentration * omega)])
    assert float(got) == pytest.approx(want, rel=1e-10)
    assert float(got_both) == pytest.approx(want_both, rel=1e-10)


def test_mixture_with_vanishing_weight_is_the_plain_likelihood():
    rng = np.random.default_rng(4)
    counts = rng.multinomial(4, [0.5, 0.2, 0.2, 0.05, 0.05], size=(3, 5))
    p = _parameters(rng)
    plain = _log_likelihood(count_data(counts), *p.values())
    mixed = _log_likelihood(count_data(counts), *p.values(), None,
                            (jnp.full(3, -200.0), jnp.array([0.3, 0.3, 0.3])),
                            (jnp.full(3, -200.0), 0.05))
    assert float(mixed) == pytest.approx(float(plain), rel=1e-12)


def test_row_probability_matches_monte_carlo_over_the_mixture_prior():
    """P(n) of one row = E_π Multinomial(n | π), π from the two-component prior (4 SE)."""
    rng = np.random.default_rng(5)
    free, tau, weight = np.array([1.6, 0.3, 0.1]), np.array([0.2, 0.4, 0.1]), 0.2
    draws = 400_000
    locked = rng.random(draws) < weight
    pi = np.where(locked[:, None], rng.dirichlet(tau, draws), rng.dirichlet(free, draws))
    for n in ([0, 3, 0], [3, 0, 0], [1, 1, 1], [0, 2, 1]):
        values = stats.multinomial.pmf(n, 3, pi)
        exact = np.exp(logsumexp([np.log1p(-weight) + row_log_probs(np.array(n, float), free),
                                  np.log(weight) + row_log_probs(np.array(n, float), tau)])
                       + stats.multinomial.logpmf(n, 3, [1 / 3] * 3) - np.log((1 / 3) ** 3))
        assert abs(values.mean() - exact) < 4 * values.std() / np.sqrt(draws), n


def test_posterior_locked_probability_matches_importance_sampling_under_jit_and_vmap():
    rng = np.random.default_rng(6)
    free, tau, prior_logit = np.array([2.7, 0.2, 0.1]), np.array([0.15, 0.3, 0.1]), -3.0
    draws = 400_000
    locked = rng.random(draws) < expit(prior_logit)
    pi = np.where(locked[:, None], rng.dirichlet(tau, draws), rng.dirichlet(free, draws))
    rows = np.array([[0.0, 3.0, 0.0], [3.0, 0.0, 0.0], [1.0, 2.0, 0.0]])
    function = jax.jit(jax.vmap(locked_posterior_logit, in_axes=(0, None, None, None)))
    got = expit(np.asarray(function(jnp.asarray(rows), free, prior_logit, tau)))
    eager = expit(np.array([float(locked_posterior_logit(r, free, prior_logit, tau)) for r in rows]))
    np.testing.assert_allclose(got, eager, rtol=1e-12)
    for row, value in zip(rows, got):
        likelihood = stats.multinomial.pmf(row.astype(int), int(row.sum()), pi)
        share = (likelihood * locked).sum() / likelihood.sum()
        # Delta-method standard error of a ratio estimate.
        z = likelihood * (locked - share)
        error = np.sqrt((z ** 2).sum()) / likelihood.sum()
        assert abs(value - share) < 4 * error + 1e-12, row
    # 0 of 3 right on an easy row: the locked component wins despite its 5 % prior.
    assert got[0] > 0.5 > got[1]


def _point_fit(counts, concentration, locked_logit, tau, split=None):
    """One-draw fit of one model on one question (ability, difficulty, abstain logit 0; the
    abstain logit set by hand so that μ = (0.9, 0.05, 0.05)) with the locked sites."""
    posterior = {
        "ability": jnp.full((1, 1), np.log(0.9 / 0.1 * (1 - 0.0))),
        "difficulty": jnp.zeros((1, 1)),
        "abstain_logit": jnp.full((1, 1), np.log(0.05 / 0.95)),
        "abstain_slope": jnp.zeros((1,)),
        "concentration": jnp.full((1, 1), concentration),
        "wrong_concentration": jnp.ones((1, 1)),
        "attractor": jnp.full((1, 1, 2), 0.5),
        "difficulty_scale": jnp.ones((1,)),
        "stick_concentration": jnp.ones((1,)),
        "locked_logit": jnp.full((1, 1), locked_logit),
        "locked_concentration": jnp.asarray(tau)[None],
    }
    if split is not None:
        posterior["split_locked_logit"] = jnp.full((1, 1), split[0])
        posterior["split_locked_concentration"] = jnp.full((1,), split[1])
    return AnswerModelFit("prior", BOTH, jnp.asarray(counts), posterior, jnp.zeros((0,)), 0)


def test_posterior_predictive_mean_is_the_exact_mixture_posterior_mean():
    counts = np.array([[[0, 3, 0, 0]]])
    tau, kappa, prior_logit = np.array([0.1, 0.3, 0.1]), 8.0, -3.0
    mu = np.array([0.95 * 0.9474, 0.95 * (1 - 0.9474), 0.05])
    fit = _point_fit(counts, kappa, prior_logit, tau)
    mu = np.asarray(jnp.stack([0.95 * jax.nn.sigmoid(fit.posterior["ability"][0, 0]),
                               0.95 * (1 - jax.nn.sigmoid(fit.posterior["ability"][0, 0])),
                               0.05]))
    top = np.array([0, 3, 0])
    free_log, locked_log = _dm(top, kappa * mu), _dm(top, tau)
    p_locked = expit(prior_logit + locked_log - free_log)
    want = (p_locked * (tau[0] + 0) / (tau.sum() + 3)
            + (1 - p_locked) * (kappa * mu[0]) / (kappa + 3))
    draws = 40_000
    probs = np.asarray(posterior_predictive_probs(jax.random.PRNGKey(0), fit, num_draws=draws))
    correct = probs[:, 0, 0, 0]
    assert abs(correct.mean() - want) < 4 * correct.std() / np.sqrt(draws)
    # The plain model (no locked sites) keeps the row far more right after 0 of 3.
    plain = fit._replace(posterior={k: v for k, v in fit.posterior.items()
                                    if not k.startswith("locked")})
    plain_probs = np.asarray(posterior_predictive_probs(jax.random.PRNGKey(0), plain,
                                                        num_draws=draws))
    assert plain_probs[:, 0, 0, 0].mean() > correct.mean() + 0.2


def test_population_predictive_mean_is_the_prior_mixture_mean():
    """New questions: E π = (1 - w) μ + w τ / Στ (difficulty fixed at 0 by its scale)."""
    tau, prior_logit = np.array([0.1, 0.3, 0.1]), -1.0
    fit = _point_fit(np.zeros((1, 1, 4), int), 8.0, prior_logit, tau)
    fit.posterior["difficulty_scale"] = jnp.zeros((1,))
    fit.posterior["question_factor"] = jnp.zeros((1, 1, 0))
    w = expit(prior_logit)
    mu0 = 0.95 * float(jax.nn.sigmoid(fit.posterior["ability"][0, 0]))
    want = (1 - w) * mu0 + w * tau[0] / tau.sum()
    probs = np.asarray(population_predictive_probs(jax.random.PRNGKey(2), fit, 2000,
                                                   num_draws=10))[..., 0].ravel()
    assert abs(probs.mean() - want) < 4 * probs.std() / np.sqrt(probs.size)


def test_split_predictive_mean_is_the_exact_mixture_posterior_mean():
    """Wrong split after 3 samples on wrong slot 1 of 2 (ω = (1/2, 1/2), λ = 2, λ_L = 0.05):
    E ρ_1 = p (0.025 + 3)/(0.05 + 3) + (1 - p)(1 + 3)/(2 + 3), p by Bayes' rule with SciPy."""
    counts = np.array([[[0, 3, 0, 0]]])
    fit = _point_fit(counts, 8.0, -50.0, np.array([0.1, 0.3, 0.1]), split=(-2.0, 0.05))
    fit.posterior["wrong_concentration"] = jnp.full((1, 1), 2.0)
    n = np.array([3, 0])
    p_locked = expit(-2.0 + _dm(n, [0.025, 0.025]) - _dm(n, [1.0, 1.0]))
    want = p_locked * 3.025 / 3.05 + (1 - p_locked) * 4 / 5
    draws = 40_000
    probs = np.asarray(posterior_predictive_probs(jax.random.PRNGKey(3), fit, num_draws=draws))
    share = probs[:, 0, 0, 1] / probs[:, 0, 0, 1:3].sum(-1)
    assert abs(share.mean() - want) < 4 * share.std() / np.sqrt(draws)
    assert want > 4 / 5 + 0.03  # the plain split's mean is 4/5: the locked one repeats more


@pytest.mark.slow  # 34 s of the quick suite's 22 min (session 11); CI runs it in the slow suite
@pytest.mark.parametrize("config", [LOCKED, SPLIT, BOTH])
def test_locked_model_has_a_finite_density_and_its_sites(config):
    prior = prior_fit(jax.random.PRNGKey(1), 2, 3, 5, config=config, num_draws=3)
    if config.locked_rows:
        assert prior.posterior["locked_weight"].shape == (3, 2)
        assert prior.posterior["locked_concentration"].shape == (3, 3)
    if config.locked_split:
        assert prior.posterior["split_locked_weight"].shape == (3, 2)
        assert prior.posterior["split_locked_concentration"].shape == (3,)
    counts = np.array([[[3, 1, 0, 0, 0], [0, 2, 2, 0, 0], [0, 0, 0, 0, 4]],
                       [[4, 0, 0, 0, 0], [1, 2, 0, 1, 0], [0, 4, 0, 0, 0]]])
    point = {name: value[0] for name, value in prior.posterior.items()}
    density, _ = log_density(functools.partial(answer_model, config=config),
                             (count_data(counts),), {}, point)
    assert np.isfinite(float(density))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured (session 9): the 300-step mean-field SVI fit "
                   "leaves model 0's locked weight at 0.014, near its prior; the mixture is "
                   "not learned by this fit (see experiments/pilot_eval/README.md)")
def test_svi_recovers_a_model_that_is_locked_on_easy_questions():
    """Simulated pilot: 5 models × 150 questions × 3 samples; model 0 gets 20 % of the questions
    (easy ones, which the others answer right) all wrong. The locked fit puts model 0's
    weight far above the others' and predicts those rows near 0 (the plain fit does not)."""
    from slmmux_theory.inference.answer_fit import fit_answer_model

    rng = np.random.default_rng(11)
    models, questions = 5, 150
    correct = rng.beta(6, 1, size=(models, questions))
    locked = np.zeros((models, questions), bool)
    locked[0, rng.choice(questions, 30, replace=False)] = True
    correct = np.where(locked, 0.0, correct)
    counts = np.zeros((models, questions, 4), int)
    for m in range(models):
        for q in range(questions):
            counts[m, q, :3] = rng.multinomial(3, [correct[m, q], 0.8 * (1 - correct[m, q]),
                                                   0.2 * (1 - correct[m, q])])
    fits = {name: fit_answer_model(jax.random.PRNGKey(0), counts, config=config, svi_steps=300,
                                   num_draws=50)
            for name, config in (("locked", LOCKED), ("plain", AnswerModelConfig()))}
    weight = np.asarray(fits["locked"].posterior["locked_weight"]).mean(0)
    assert weight[0] > 0.1 and weight[0] > 2 * weight[1:].max()
    share = {}
    for name, fit in fits.items():
        probs = np.asarray(posterior_predictive_probs(jax.random.PRNGKey(1), fit))
        share[name] = probs[:, 0, locked[0], 0].mean()
    assert share["locked"] < 0.1 < share["plain"]
