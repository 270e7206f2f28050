"""Posterior predictive per-question answer distributions from a fitted answer model.

Place in the layers: pure theory. Takes an :class:`~slmmux_theory.inference.answer_model.AnswerModelFit`
and returns ``probs[draws, models, questions, answers]`` (slot 0 correct, last slot ⊥), one
distribution per posterior draw. Feeding each draw to an exact-accuracy engine (e.g.
``slmmux_theory.engines.exact``) gives the posterior distribution of any rule's accuracy.

Three kinds of draws:

* :func:`posterior_predictive_probs` — fitted (model, question) pairs. Given a parameter draw,
  π_mq is a Dirichlet tree (answer_model docstring); conditioning on the observed counts adds
  them to its parameters (conjugacy), so the draws reflect both the population structure and
  what the model actually answered — not the plug-in frequencies METHODS.md §5.3 warns about.
  A pair without samples falls back to the prior given the fitted ability, difficulty and
  attractor, which is how unseen (model, question) combinations are predicted. With
  ``condition_on_counts=False`` every pair is drawn afresh from that prior: the replication
  used by posterior predictive checks.
* :func:`population_predictive_probs` — new questions from the population: new difficulty
  ``d = σ_d u``, ``u ~ StudentT(ν)``, and new attractor ``ω ~ GEM(γ)`` (truncated to the fitted slots).
* :func:`replicate_counts` — multinomial counts from any ``probs``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from slmmux_theory.inference.answer_model import (
    FACTOR_DF,
    AnswerModelFit,
    attractor_from_sticks,
    interaction_logits,
    level_means,
)
from slmmux_theory.inference.locked import locked_posterior_logit

__all__ = [
    "population_predictive_probs",
    "posterior_predictive_probs",
    "replicate_counts",
]

# Dirichlet parameters below this are raised to it so that sampling never sees a zero.
_TINY = 1e-30


def _draw_indices(key, fit: AnswerModelFit, num_draws):
    available = fit.num_draws
    if num_draws is None:
        return jnp.arange(available)
    if num_draws < 1:
        raise ValueError(f"num_draws must be >= 1, got {num_draws}")
    return jax.random.choice(key, available, (num_draws,), replace=num_draws > available)


def _model_indices(fit: AnswerModelFit, models):
    num_models = fit.counts.shape[0]
    if models is None:
        return jnp.arange(num_models)
    indices = jnp.asarray(models, dtype=jnp.int32).reshape(-1)
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= num_models):
        raise ValueError(f"models must be indices in 0..{num_models - 1}, got {list(indices)}")
    return indices


def _dirichlet_tree(key, top_alpha, wrong_alpha):
    """Draw π = (π_c, π_w ρ, π_⊥) with (π_c, π_w, π_⊥) ~ Dir(top_alpha), ρ ~ Dir(wrong_alpha).

    Two Dirichlet draws as before the speed work, so every simulation keeps its random
    stream (one log-gamma draw over both levels changed the data of the slow NUTS
    calibration test enough to fail it: rate 0.55 vs 0.78).
    """
    top_key, wrong_key = jax.random.split(key)
    top = jax.random.dirichlet(top_key, jnp.maximum(top_alpha, _TINY))
    split = jax.random.dirichlet(wrong_key, jnp.maximum(wrong_alpha, _TINY))
    return jnp.concatenate([top[..., :1], top[..., 1:2] * split, top[..., 2:]], axis=-1)


def _draw_locked(key, logit, free_alpha, locked_alpha, counts=None):
    """A level's Dirichlet parameters with the locked-row indicator drawn (locked-row fits).

    Each row is locked with its posterior probability given its counts of that level
    (``counts``, broadcastable to ``free_alpha``; None: the prior log-odds ``logit``), and a
    locked row takes ``locked_alpha`` instead of ``free_alpha``; one indicator per row.
    """
    free_alpha = jnp.asarray(free_alpha)
    locked_alpha = jnp.broadcast_to(locked_alpha, free_alpha.shape)
    if counts is not None:
        logit = locked_posterior_logit(counts, free_alpha, logit, locked_alpha)
    locked = jax.random.bernoulli(key, jax.nn.sigmoid(logit), free_alpha.shape[:-1])
    return jnp.where(locked[..., None], locked_alpha, free_alpha)


def _locked_levels(key, posterior, draws, models, top_alpha, wrong_alpha, attractor,
                   top_counts=None, wrong_counts=None):
    """Both levels' parameters with the locked rows of the fit drawn: ``locked_rows`` (top
    level, τ) and ``locked_split`` (wrong split, λ_L ω_q). A fit without them passes through
    and draws nothing, so its random stream stays as it was."""
    if "locked_logit" in posterior:
        key, top_key = jax.random.split(key)
        top_alpha = _draw_locked(
            top_key, posterior["locked_logit"][draws][:, models][..., None], top_alpha,
            posterior["locked_concentration"][draws][:, None, None, :], top_counts)
    if "split_locked_logit" in posterior:
        concentration = posterior["split_locked_concentration"][draws][:, None, None, None]
        wrong_alpha = _draw_locked(
            key, posterior["split_locked_logit"][draws][:, models][..., None], wrong_alpha,
            concentration * attractor[:, None, :, :], wrong_counts)
    return top_alpha, wrong_alpha


def _tree_parameters(posterior, draws, models, difficulty, attractor, factor=None):
    """Dirichlet-tree parameters [draws, models, questions, 3] and [..., W] before data.

    ``factor`` [draws, questions, K] are the question factors of the interaction term (fits
    made without one carry K = 0 or no such site).
    """
    ability = posterior["ability"][draws][:, models]
    abstain_logit = posterior["abstain_logit"][draws][:, models]
    abstain_slope = posterior["abstain_slope"][draws]
    concentration = posterior["concentration"][draws][:, models]
    wrong_concentration = posterior["wrong_concentration"][draws][:, models]
    interaction = None
    if factor is not None and "interaction_loading" in posterior and factor.shape[-1] > 0:
        loading = posterior["interaction_loading"][draws][:, models]
        interaction = interaction_logits(loading, factor)
    means = level_means(ability, difficulty, abstain_logit, abstain_slope, interaction)
    top_alpha = concentration[..., None, None] * means
    wrong_alpha = wrong_concentration[..., None, None] * attractor[:, None, :, :]
    return top_alpha, wrong_alpha


def posterior_predictive_probs(
    key,
    fit: AnswerModelFit,
    models=None,
    questions=None,
    num_draws: int | None = None,
    condition_on_counts: bool = True,
) -> jnp.ndarray:
    """Posterior draws of the per-question distributions of fitted questions.

    Args:
      key: jax.random key.
      fit: the fitted answer model.
      models: model indices to return, in that order (default: all fitted models).
      questions: question indices to return (default: all fitted questions).
      num_draws: posterior draws to use, drawn at random from the fit's draws (default: all,
        in order).
      condition_on_counts: add the fitted counts to the Dirichlet tree (the posterior of π_mq);
        ``False`` draws π_mq from its prior given the parameters (for replicated data).

    Returns:
      probs, shape [draws, models, questions, answers]; each row sums to 1.

    >>> from slmmux_theory.inference.answer_model import prior_fit
    >>> fit = prior_fit(jax.random.PRNGKey(0), 2, 1, 3, num_draws=4)
    >>> posterior_predictive_probs(jax.random.PRNGKey(1), fit, models=[1]).shape
    (4, 1, 1, 3)
    """
    model_index = _model_indices(fit, models)
    question_index = (
        jnp.arange(fit.counts.shape[1]) if questions is None
        else jnp.asarray(questions, dtype=jnp.int32).reshape(-1)
    )
    if num_draws is not None and num_draws < 1:
        raise ValueError(f"num_draws must be >= 1, got {num_draws}")
    return _posterior_predictive(key, fit.posterior, fit.counts, model_index, question_index,
                                 num_draws, fit.num_draws, condition_on_counts)


# One compiled program per (shapes, draws, conditioning): run eagerly, its thirty-odd
# primitives each compiled on their own (seconds on a cold start, and again for new shapes).
@functools.partial(jax.jit, static_argnums=(5, 6, 7))
def _posterior_predictive(key, posterior, counts, model_index, question_index, num_draws,
                          available, condition_on_counts):
    draw_key, tree_key = jax.random.split(key)
    if num_draws is None:
        draws = jnp.arange(available)
    else:
        draws = jax.random.choice(draw_key, available, (num_draws,), replace=num_draws > available)
    difficulty = posterior["difficulty"][draws][:, question_index]
    attractor = posterior["attractor"][draws][:, question_index]
    factor = (
        posterior["question_factor"][draws][:, question_index]
        if "question_factor" in posterior else None
    )
    top_alpha, wrong_alpha = _tree_parameters(
        posterior, draws, model_index, difficulty, attractor, factor
    )
    locked = "locked_logit" in posterior or "split_locked_logit" in posterior
    if locked:
        tree_key, locked_key = jax.random.split(tree_key)
    if condition_on_counts:
        counts = counts[model_index][:, question_index].astype(top_alpha.dtype)
        top_counts = jnp.stack(
            [counts[..., 0], counts[..., 1:-1].sum(-1), counts[..., -1]], axis=-1
        )
        if locked:
            top_alpha, wrong_alpha = _locked_levels(
                locked_key, posterior, draws, model_index, top_alpha, wrong_alpha, attractor,
                top_counts, counts[..., 1:-1])
        top_alpha = top_alpha + top_counts
        wrong_alpha = wrong_alpha + counts[..., 1:-1]
    elif locked:
        top_alpha, wrong_alpha = _locked_levels(locked_key, posterior, draws, model_index,
                                                top_alpha, wrong_alpha, attractor)
    return _dirichlet_tree(tree_key, top_alpha, wrong_alpha)


def population_predictive_probs(
    key,
    fit: AnswerModelFit,
    num_questions: int,
    models=None,
    num_draws: int | None = None,
) -> jnp.ndarray:
    """Per-question distributions of new questions drawn from the fitted population.

    For each posterior draw: new difficulties ``d = σ_d u`` with ``u ~ StudentT(ν)`` (or
    ``N(0, 1)`` without heavy tails); new question factors ``t ~ StudentT(3)`` of the
    model-by-question interaction (when the fit has one); new attractors from the
    fitted stick-breaking prior (``attractor="question"``), the fitted common ω
    (``"global"``) or uniform (``"none"``); then π from the Dirichlet tree.

    Args:
      key: jax.random key.
      fit: the fitted answer model.
      num_questions: how many new questions per draw.
      models: model indices (default: all fitted models).
      num_draws: posterior draws to use (default: all, in order).

    Returns:
      probs, shape [draws, models, num_questions, answers]; each row sums to 1.
    """
    if num_questions < 1:
        raise ValueError(f"num_questions must be >= 1, got {num_questions}")
    draw_key, difficulty_key, stick_key, tree_key, factor_key = jax.random.split(key, 5)
    draws = _draw_indices(draw_key, fit, num_draws)
    model_index = _model_indices(fit, models)
    posterior = fit.posterior
    num_wrong = fit.counts.shape[2] - 2
    scale = posterior["difficulty_scale"][draws]
    if fit.config.heavy_tailed_difficulty and "difficulty_df" in posterior:
        df = posterior["difficulty_df"][draws][:, None]
        standard = jax.random.t(difficulty_key, df, (draws.shape[0], num_questions))
    else:
        standard = jax.random.normal(difficulty_key, (draws.shape[0], num_questions))
    difficulty = scale[:, None] * standard
    if fit.config.attractor == "question" and num_wrong > 1:
        gamma = posterior["stick_concentration"][draws][:, None, None]
        sticks = jax.random.beta(
            stick_key, 1.0, gamma, (draws.shape[0], num_questions, num_wrong - 1)
        )
        attractor = attractor_from_sticks(sticks)
    else:
        # "global" stores one ω repeated over questions; "none" stores the uniform ω.
        common = posterior["attractor"][draws][:, :1, :]
        attractor = jnp.broadcast_to(common, (draws.shape[0], num_questions, num_wrong))
    factor = None
    if "question_factor" in posterior:
        rank = posterior["question_factor"].shape[-1]
        factor = jax.random.t(factor_key, FACTOR_DF, (draws.shape[0], num_questions, rank))
    top_alpha, wrong_alpha = _tree_parameters(
        posterior, draws, model_index, difficulty, attractor, factor
    )
    if "locked_logit" in posterior or "split_locked_logit" in posterior:
        tree_key, locked_key = jax.random.split(tree_key)
        top_alpha, wrong_alpha = _locked_levels(locked_key, posterior, draws, model_index,
                                                top_alpha, wrong_alpha, attractor)
    return _dirichlet_tree(tree_key, top_alpha, wrong_alpha)


def replicate_counts(key, probs, k) -> jnp.ndarray:
    """Multinomial counts drawn from per-question distributions.

    Args:
      key: jax.random key.
      probs: shape [..., models, questions, answers].
      k: samples of each (model, question), an int or an integer array
        broadcastable to [..., models, questions] (e.g. the observed totals, so replicated
        data has the observed missing-sample pattern).

    Returns:
      counts, shape [..., models, questions, answers], integers.

    >>> replicate_counts(jax.random.PRNGKey(0), jnp.array([[[0.0, 1.0, 0.0]]]), 4).tolist()
    [[[0, 4, 0]]]
    """
    probs = jnp.asarray(probs)
    totals = jnp.broadcast_to(jnp.asarray(k), probs.shape[:-1])
    max_samples = int(jnp.max(totals)) if totals.size else 0
    logits = jnp.log(jnp.maximum(probs, 0.0))
    num_answers = probs.shape[-1]

    def one_sample(counts, inputs):
        step_key, step = inputs
        slot = jax.random.categorical(step_key, logits)
        counts = counts + jax.nn.one_hot(slot, num_answers, dtype=jnp.int32) * (
            step < totals
        )[..., None]
        return counts, None

    counts, _ = jax.lax.scan(
        one_sample,
        jnp.zeros(probs.shape, dtype=jnp.int32),
        (jax.random.split(key, max_samples), jnp.arange(max_samples)),
    )
    return counts
