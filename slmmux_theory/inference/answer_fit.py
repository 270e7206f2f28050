"""Fitting the answer model: NUTS, or SVI with a mean-field guide started from moments.

Place in the layers: pure theory. :func:`fit_answer_model` takes counts
``[models, questions, answers]`` and returns an
:class:`~slmmux_theory.inference.answer_model.AnswerModelFit` of posterior draws of the model
defined in :mod:`slmmux_theory.inference.answer_model` (which holds the model, its likelihood
and prior draws; this module holds only the inference: the moment start, the jitted SVI loop of
the mean-field normal guide, numpyro's NUTS and low-rank guide).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
from numpyro.distributions.transforms import biject_to
from numpyro.infer import MCMC, NUTS, SVI, Predictive, Trace_ELBO, init_to_median
from numpyro.infer.autoguide import AutoLowRankMultivariateNormal
from numpyro.infer.util import log_density
from numpyro.optim import ClippedAdam

from slmmux_theory.distributions import validate_counts
from slmmux_theory.inference.answer_model import (
    AnswerModelConfig,
    AnswerModelFit,
    answer_model,
    count_data,
    model_sites,
    site_names,
)

__all__ = ["PLAN_SVI_TOLERANCE", "SVI_WINDOW", "fit_answer_model", "svi_stop_step"]


def _moment_start(counts, config, sites):
    """Constrained starting values from simple moments of the counts (no prior sampling).

    Abilities and difficulties from the logits of per-model and per-question accuracy (an IRT
    fit's usual start), ⊥ logits from per-model ⊥ rates, attractor sticks from per-question
    wrong-answer frequencies; every other site starts at a neutral value of its support.
    """
    counts = np.asarray(counts, dtype=np.float64)
    num_models, num_questions, num_answers = counts.shape
    totals = np.maximum(counts.sum(-1), 1.0)

    def logit(p):
        p = np.clip(p, 0.02, 0.98)
        return np.log(p / (1 - p))

    model_logit = logit((counts[..., 0].sum(1) + 0.5) / (counts.sum((1, 2)) + 1.0))
    ability_mean = float(model_logit.mean())
    ability_scale = max(float(model_logit.std()), 0.3)
    # Per question, the logit of the mean correct share over models: high means easy.
    question_logit = logit(((counts[..., 0] + 0.5) / (totals + 1.0)).mean(0))
    difficulty = ability_mean - question_logit
    difficulty = difficulty - difficulty.mean()
    difficulty_scale = max(float(difficulty.std()), 0.3)
    abstain = logit((counts[..., -1].sum(1) + 0.5) / (counts.sum((1, 2)) + 1.0))
    # Interaction: the leading singular vectors of the double-centred logit matrix of
    # per-(model, question) accuracy, i.e. what the additive θ_m - d_q leaves unexplained.
    # Starting there (not at a random point) makes the factor fit the same on every seed.
    rank = max(int(config.interaction_rank), 0)
    cell = logit((counts[..., 0] + 0.5) / (totals + 1.0))
    residual = cell - cell.mean(0, keepdims=True) - cell.mean(1, keepdims=True) + cell.mean()
    left, singular, right = np.linalg.svd(residual, full_matrices=False)
    loading = left[:, :rank] * np.sqrt(singular[:rank])
    factor = right[:rank].T * np.sqrt(singular[:rank])
    pad = rank - loading.shape[1]  # fewer models or questions than K
    loading = np.pad(loading, ((0, 0), (0, pad)))
    factor = np.pad(factor, ((0, 0), (0, pad)))
    interaction_scale = max(float(loading.std()) if loading.size else 0.3, 0.1)
    wrong = counts[..., 1:-1].sum(0) + 0.2
    omega = wrong / wrong.sum(-1, keepdims=True)
    left = 1.0 - np.concatenate([np.zeros((num_questions, 1)), np.cumsum(omega, -1)[:, :-1]], -1)
    sticks = np.clip(omega / np.maximum(left, 1e-9), 0.02, 0.98)[:, :-1]
    start = {
        "ability_mean": ability_mean,
        "ability_scale": ability_scale,
        "ability_z": (model_logit - ability_mean) / ability_scale,
        "difficulty_scale": difficulty_scale,
        "difficulty_df": 5.0,
        "difficulty_z": difficulty / difficulty_scale,
        "abstain_mean": float(abstain.mean()),
        "abstain_scale": max(float(abstain.std()), 0.3),
        "abstain_z": (abstain - abstain.mean()) / max(float(abstain.std()), 0.3),
        "abstain_slope": 0.0,
        "concentration_scale": 0.5,
        "wrong_concentration_scale": 0.5,
        "stick_concentration": 1.0,
        "interaction_scale": interaction_scale,
        "interaction_z": loading / interaction_scale,
        "question_factor_z": factor,
        # Locked rows (when on) start rare (weight ~5 %) with a U-shaped locked law.
        "locked_mean": -3.0,
        "locked_scale": 0.5,
        "locked_concentration": 0.3,
        "split_locked_mean": -2.0,
        "split_locked_scale": 0.5,
        "split_locked_concentration": 0.1,
    }
    if config.attractor == "question":
        start["sticks"] = sticks
    elif config.attractor == "global":
        start["sticks"] = sticks.mean(0)
    out = {}
    for name, (kind, shape, support) in sites.items():
        if kind != "sample":
            continue
        if name in start:
            value = jnp.broadcast_to(jnp.asarray(start[name], dtype=jnp.float64), shape)
        else:
            # The point of the support that the unconstrained 0 maps to (0, 1 or 1/2).
            value = biject_to(support)(jnp.zeros(shape))
        out[name] = value
    return out


class _Guide(NamedTuple):
    """Mean-field normal guide in the unconstrained space of every latent site."""

    loc: dict
    log_scale: dict


# Steps per convergence check of an early-stopping SVI fit: the ELBO of one step is a
# one-sample estimate (on the 13-model GSM8K pilot its relative noise is ~1 %), so the stopping
# rule compares means over windows (standard error of a window mean ~0.2 %).
SVI_WINDOW = 100
# The plan's fit runs every step (None). With 1 % it stopped after 500 of 1000 steps on the
# 13-model GSM8K pilot (84 q x 3) and stayed within Monte Carlo error there (max 1.86 SE over
# 364 candidates, ``experiments/benchmarks/plan_speed``), but the AIME 2024 pilot-file test
# (``tests/run/test_plan_pilot_file.py``, slow) missed by 4.04 SE on one of 55 pairs; not
# diagnosed, so the early stop stays opt-in (``svi_tolerance``) until it is.
PLAN_SVI_TOLERANCE = None


def svi_stop_step(losses, steps: int, window: int, tolerance: float | None,
                  min_windows: int = 2) -> int:
    """The step an early-stopping SVI fit stops at, from its per-step losses (NumPy).

    The rule of :func:`fit_answer_model`: after each window of ``window`` steps, the mean loss
    of the window is compared with the previous window's; the fit stops at the end of the
    first window (from window ``min_windows`` on) whose relative decrease
    ``(previous - current) / |current|`` is below ``tolerance``, else after ``steps``.

    Args:
      losses: per-step losses, shape [>= the stop step].
      steps: the most steps.
      window: steps per window.
      tolerance: relative decrease under which the fit stops (None: never stops early).
      min_windows: windows always run (the first one holds the start's transient).

    >>> svi_stop_step(np.array([9.0, 9.0, 5.0, 5.0, 4.99, 4.99, 1.0, 1.0]), 8, 2, 0.01)
    6
    """
    losses = np.asarray(losses, dtype=np.float64)
    if tolerance is None:
        return steps
    previous = None
    for end in range(window, steps + 1, window):
        current = losses[end - window:end].mean()
        if previous is not None and end // window >= min_windows:
            if (previous - current) / abs(current) < tolerance:
                return end
        previous = current
    return steps


@functools.lru_cache(maxsize=8)
def _svi_runner(config, shape, steps, learning_rate, final_learning_rate, window=None):
    """The jitted SVI loop of one model layout, built once and kept: a second fit of counts of
    the same layout (a planning loop, a warm benchmark) reuses the compiled program.

    The counts are an argument of the jitted loop, not a constant closed over, so XLA never
    constant-folds the model's arithmetic on them. With a ``window`` the loop runs windows of
    that many steps in a ``lax.while_loop`` and stops when the tolerance (an argument, so one
    program serves every tolerance) says the loss has levelled off (:func:`svi_stop_step`);
    step t uses the same noise key and step size as in a fit without early stopping.

    Returns:
      (run(start, key, data, tolerance) -> (guide, losses [steps], steps run), transforms per
      latent site).
    """
    model = functools.partial(answer_model, config=config)
    sites = model_sites(config, shape)
    latent = {name: support for name, (kind, _, support) in sites.items() if kind == "sample"}
    transforms = {name: biject_to(support) for name, support in latent.items()}

    def negative_elbo(guide, noise_key, data):
        noise = jax.random.split(noise_key, len(latent))
        values, log_q = {}, 0.0
        for index, name in enumerate(latent):
            loc, log_scale = guide.loc[name], guide.log_scale[name]
            eps = jax.random.normal(noise[index], jnp.shape(loc))
            unconstrained = loc + jnp.exp(log_scale) * eps
            value = transforms[name](unconstrained)
            jacobian = transforms[name].log_abs_det_jacobian(unconstrained, value)
            # log q of the constrained value: normal density minus the Jacobian.
            log_q = log_q + (-0.5 * eps**2 - log_scale - 0.5 * jnp.log(2 * jnp.pi)).sum()
            log_q = log_q - jnp.sum(jacobian)
            values[name] = value
        log_p, _ = log_density(model, (data,), {}, values)
        return log_q - log_p

    decay = (final_learning_rate / learning_rate) ** (1.0 / max(steps - 1, 1))
    grad = jax.value_and_grad(negative_elbo)

    def step(carry, inputs, data):
        guide, first, second = carry
        t, noise_key = inputs
        loss, gradient = grad(guide, noise_key, data)
        gradient = jax.tree.map(lambda g: jnp.clip(g, -10.0, 10.0), gradient)
        first = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, first, gradient)
        second = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g**2, second, gradient)
        rate = learning_rate * decay**t
        correction = jnp.sqrt(1 - 0.999 ** (t + 1)) / (1 - 0.9 ** (t + 1))
        guide = jax.tree.map(
            lambda x, m, v: x - rate * correction * m / (jnp.sqrt(v) + 1e-8), guide, first, second
        )
        return (guide, first, second), loss

    def start_state(start):
        # Inside the jit: done eagerly, each transform would compile primitive by primitive.
        guide = _Guide(
            loc={name: transforms[name].inv(start[name]) for name in latent},
            log_scale={name: jnp.full(jnp.shape(start[name]), jnp.log(0.1)) for name in latent},
        )
        zeros = jax.tree.map(jnp.zeros_like, guide)
        return guide, zeros, zeros

    @jax.jit
    def run(start, run_key, data, tolerance):
        keys = jax.random.split(run_key, steps)
        times = jnp.arange(steps, dtype=jnp.float64)
        if window is None:
            (guide, _, _), losses = jax.lax.scan(
                functools.partial(step, data=data), start_state(start), (times, keys))
            return guide, losses, jnp.asarray(steps)

        def masked_step(carry, inputs):
            # Steps past ``steps`` (the last window's padding) leave the state as it is.
            t, noise_key = inputs
            new, loss = step(carry, (t, noise_key), data)
            active = t < steps
            return jax.tree.map(lambda a, b: jnp.where(active, a, b), new, carry), loss

        padded = -(-steps // window) * window
        keys = jnp.concatenate([keys, jnp.broadcast_to(keys[-1:], (padded - steps, 2))])
        times = jnp.arange(padded, dtype=jnp.float64)

        def body(state):
            carry, losses, index, previous, _ = state
            offset = index * window
            window_inputs = (jax.lax.dynamic_slice_in_dim(times, offset, window),
                             jax.lax.dynamic_slice_in_dim(keys, offset, window))
            carry, window_losses = jax.lax.scan(masked_step, carry, window_inputs)
            losses = jax.lax.dynamic_update_slice_in_dim(losses, window_losses, offset, 0)
            current = window_losses.mean()
            level = (index + 1 >= 2) & ((previous - current) / jnp.abs(current) < tolerance)
            return carry, losses, index + 1, current, level

        def more(state):
            _, _, index, _, level = state
            return (index * window < steps) & ~level

        state = (start_state(start), jnp.zeros(padded), jnp.asarray(0), jnp.asarray(jnp.inf),
                 jnp.asarray(False))
        (guide, _, _), losses, index, _, _ = jax.lax.while_loop(more, body, state)
        return guide, losses[:steps], jnp.minimum(index * window, steps)

    return run, transforms


def _svi_mean_field(key, config, data, start, steps, learning_rate, final_learning_rate,
                    tolerance=None):
    """Maximise the ELBO of a mean-field normal guide; the whole loop is one jitted program.

    Adam with elementwise gradient clipping at 10 (as numpyro's ClippedAdam) and a step size
    decaying geometrically from ``learning_rate`` to ``final_learning_rate`` over ``steps``;
    with a ``tolerance`` the loop stops early by :func:`svi_stop_step`'s rule.

    Returns:
      ((guide, losses [steps run]), transforms).
    """
    window = None if tolerance is None else SVI_WINDOW
    run, transforms = _svi_runner(config, tuple(data.shape), int(steps), float(learning_rate),
                                  float(final_learning_rate), window)
    guide, losses, done = run({name: start[name] for name in transforms}, key, data,
                              jnp.asarray(0.0 if tolerance is None else tolerance))
    return (guide, losses[:int(done)]), transforms


def _guide_draws(key, guide, transforms, num_draws):
    """Constrained draws [num_draws, ...] of every latent site from the fitted guide."""
    draws = {}
    keys = jax.random.split(key, len(transforms))
    for index, (name, transform) in enumerate(transforms.items()):
        loc, log_scale = guide.loc[name], guide.log_scale[name]
        eps = jax.random.normal(keys[index], (num_draws, *jnp.shape(loc)))
        draws[name] = transform(loc + jnp.exp(log_scale) * eps)
    return draws


@functools.lru_cache(maxsize=8)
def _draw_runner(config, shape, num_draws):
    """The jitted posterior draws of one model layout, built once and kept (like
    :func:`_svi_runner`): guide draws of every latent site, then the model's deterministic
    sites computed from them (what numpyro's ``Predictive`` returns, without its retrace and
    recompile on every fit).

    Returns:
      draws(key, guide) -> {site: [num_draws, ...]}.
    """
    sites = model_sites(config, shape)
    latent = {name: support for name, (kind, _, support) in sites.items() if kind == "sample"}
    transforms = {name: biject_to(support) for name, support in latent.items()}
    wanted = site_names(config, shape)
    parameters_only = functools.partial(
        answer_model, None, config, num_models=shape[0], num_questions=shape[1],
        num_answers=shape[2],
    )

    def derived(values):
        # Every latent site is substituted, so the seed never draws anything.
        model = numpyro.handlers.substitute(numpyro.handlers.seed(parameters_only, 0), values)
        trace = numpyro.handlers.trace(model).get_trace()
        return {name: trace[name]["value"] for name in wanted}

    @jax.jit
    def draws(key, guide):
        return jax.vmap(derived)(_guide_draws(key, guide, transforms, num_draws))

    return draws


def fit_answer_model(
    key,
    counts,
    *,
    method: str = "svi",
    config: AnswerModelConfig = AnswerModelConfig(),
    num_draws: int = 400,
    svi_steps: int = 1500,
    svi_tolerance: float | None = None,
    learning_rate: float = 0.05,
    final_learning_rate: float | None = 0.005,
    guide: str = "normal",
    num_warmup: int = 500,
    num_chains: int = 1,
    max_tree_depth: int = 8,
) -> AnswerModelFit:
    """Fit the answer model to counts by NUTS or SVI.

    Args:
      key: jax.random key; the fit is a pure function of it and the data.
      counts: shape [models, questions, answers], slot 0 correct, last slot ⊥, at least 3 slots.
      method: ``"nuts"`` (numpyro MCMC) or ``"svi"`` (ClippedAdam on the ELBO).
      config: which components are on.
      num_draws: posterior draws kept (NUTS: samples per chain × chains; SVI: guide draws).
      svi_steps: optimisation steps for SVI (the most, with ``svi_tolerance``).
      svi_tolerance: stop the ``"normal"`` guide's SVI early once the loss has levelled off:
        after a window of :data:`SVI_WINDOW` steps whose mean loss fell by less than this
        relative amount from the previous window's (:func:`svi_stop_step`; ``losses`` then
        holds the steps run). None: always ``svi_steps`` steps.
      learning_rate: Adam step size for SVI (the first step's, with ``final_learning_rate``).
      final_learning_rate: step size of the last SVI step, reached by geometric decay
        (None: constant ``learning_rate``); the ``"lowrank"`` guide ignores it.
      guide: ``"normal"`` (mean-field normal in the unconstrained space, started from moments
        of the counts, the whole optimisation one jitted scan) or ``"lowrank"``
        (numpyro's AutoLowRankMultivariateNormal with ClippedAdam).
      num_warmup: NUTS warm-up steps per chain.
      num_chains: NUTS chains, run sequentially.
      max_tree_depth: NUTS tree-depth cap.

    Returns:
      The posterior draws and fit diagnostics.

    >>> fit = fit_answer_model(jax.random.PRNGKey(0), np.array([[[3, 1, 0]], [[2, 2, 0]]]),
    ...                        svi_steps=50, num_draws=5)
    >>> fit.posterior["ability"].shape, fit.posterior["attractor"].shape
    ((5, 2), (5, 1, 1))
    """
    data = count_data(counts)
    num_models, num_questions, num_answers = data.shape
    # Config and sizes are closed over, so jit sees only the count arrays.
    model = functools.partial(answer_model, config=config)
    parameters_only = functools.partial(
        answer_model, None, config, num_models=num_models, num_questions=num_questions,
        num_answers=num_answers,
    )
    sites = site_names(config, data.shape)
    fit_key, draw_key = jax.random.split(key)
    if method == "nuts":
        kernel = NUTS(
            model, init_strategy=init_to_median(num_samples=15), max_tree_depth=max_tree_depth
        )
        per_chain = max(1, -(-num_draws // num_chains))
        mcmc = MCMC(
            kernel, num_warmup=num_warmup, num_samples=per_chain, num_chains=num_chains,
            chain_method="sequential", progress_bar=False,
        )
        mcmc.run(fit_key, data, extra_fields=("diverging",))
        latent = mcmc.get_samples()
        divergences = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
        derived = Predictive(parameters_only, posterior_samples=latent, return_sites=sites)(draw_key)
        posterior = {**latent, **derived}
        losses = jnp.zeros((0,))
    elif method == "svi":
        guides = ("normal", "lowrank")
        if guide not in guides:
            raise ValueError(f"guide must be one of {list(guides)}, got {guide!r}")
        if guide == "normal":
            if svi_tolerance is not None and not svi_tolerance >= 0:
                raise ValueError(f"svi_tolerance must be >= 0 or None, got {svi_tolerance}")
            sites_of_model = model_sites(config, data.shape)
            start = _moment_start(counts, config, sites_of_model)
            (fitted, losses), _ = _svi_mean_field(
                fit_key, config, data, start, svi_steps,
                learning_rate,
                learning_rate if final_learning_rate is None else final_learning_rate,
                svi_tolerance,
            )
            posterior = _draw_runner(config, tuple(data.shape), int(num_draws))(draw_key, fitted)
        else:
            auto = AutoLowRankMultivariateNormal(model, init_loc_fn=init_to_median(num_samples=15))
            svi = SVI(model, auto, ClippedAdam(learning_rate, clip_norm=10.0), Trace_ELBO())
            result = svi.run(fit_key, svi_steps, data, progress_bar=False)
            posterior = Predictive(
                parameters_only, guide=auto, params=result.params, num_samples=num_draws,
                return_sites=sites,
            )(draw_key)
            losses = result.losses
        divergences = 0
    else:
        raise ValueError(f"method must be 'nuts' or 'svi', got {method!r}")
    return AnswerModelFit(
        method=method,
        config=config,
        counts=jnp.asarray(validate_counts(counts)),
        posterior={name: jnp.asarray(value) for name, value in posterior.items()},
        losses=losses,
        divergences=divergences,
    )
