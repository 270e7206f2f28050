"""A hierarchical NumPyro model of per-question answer distributions, fitted by NUTS or SVI.

Place in the layers: pure theory. It reads count arrays ``counts[models, questions, answers]``
in the package's slot convention (slot 0 correct, slots ``1 .. A-2`` wrong answers shared
across models, slot ``A-1`` = ⊥; see :mod:`slmmux_theory.distributions`). This module holds the
model, its likelihood, the count layout the likelihood reads and draws from the prior;
:func:`slmmux_theory.inference.answer_fit.fit_answer_model` returns posterior draws of its
parameters, and :mod:`slmmux_theory.inference.predict` turns those draws into per-question
distributions ``probs[draws, models, questions, answers]`` for any rule's exact accuracy.

Model (W = A - 2 wrong slots, m = model, q = question, n_mq = samples of m on q)::

    ability        θ_m = μ_θ + σ_θ z_m                    (IRT ability, logit scale)
    difficulty     d_q = σ_d u_q, u_q ~ StudentT(ν)         (shared by all models: hard for all)
    interaction    s_m = σ_s z^s_m ∈ R^K, t_q ~ StudentT(3)^K  (hard for some models only)
    abstention     η_mq = α_m + β d_q,  α_m = μ_α + σ_α z^α_m
    concentration  κ_m = exp(μ_κ + σ_κ z^κ_m)             (small κ: samples nearly identical)
    following      λ_m = exp(μ_λ + σ_λ z^λ_m)             (how closely m's wrong mass follows ω_q)
    attractor      v_qj ~ Beta(1, γ), ω_qj = v_qj ∏_{l<j} (1 - v_ql), ω_qW = ∏_{l<W} (1 - v_ql)

    c_mq  = sigmoid(θ_m - d_q + s_m · t_q),   a_mq = sigmoid(η_mq)
    μ_mq  = ((1 - a_mq) c_mq,  (1 - a_mq)(1 - c_mq),  a_mq)          over (correct, wrong, ⊥)
    (π_c, π_w, π_⊥)_mq ~ Dirichlet(κ_m μ_mq)
    ρ_mq ~ Dirichlet(λ_m ω_q)                                        split of the wrong mass
    π_mq = (π_c, π_w ρ_mq, π_⊥),   counts_mq ~ Multinomial(n_mq, π_mq)

The per-(model, question) distribution π_mq is a Dirichlet tree, so it is integrated out in
closed form: ``(C_c, C_w, C_⊥) ~ DirMult(κ_m μ_mq, n_mq)`` and, given ``C_w``, the wrong counts
``~ DirMult(λ_m ω_q, C_w)``. The posterior of π_mq given the parameters is again a Dirichlet
tree (``κ μ + counts``, ``λ ω + wrong counts``), which is what :mod:`predict` samples.

Why each part (METHODS.md §5.2 items 3, 5, 6): ``d_q`` makes errors of different models fall
on the same questions, which decides complementarity; ``s_m · t_q`` (a K-factor, by default
K = 2, multidimensional IRT term) lets a question be hard for a *group* of models and easy for
the others: on the GSM8K file a few questions are missed by most strong models with one shared
wrong answer while weaker ones get them right, which a single difficulty cannot express, and
without this term the rate at which two strong models share a wrong mode is under-predicted
(``experiments/fit_answer_model/run.py``, ablation "no interaction"); ``κ_m`` makes
low-temperature samples repeat (most models answer 10/10 identically on most questions);
``ω_q`` with ``λ_m`` makes
two models' wrong answers coincide (shared attractor answers: contradictions, groupthink);
``α_m`` gives reasoning models their ⊥ rate. :class:`AnswerModelConfig` switches each part
off so that its effect on the predictive checks of :mod:`slmmux_theory.inference.checks` can be measured.

Locked rows (``AnswerModelConfig(locked_rows=True)``, off by default; the mixtures live in
:mod:`slmmux_theory.inference.locked`): the top level becomes a two-component mixture per
(model, question),

    (π_c, π_w, π_⊥)_mq ~ (1 - w_m) Dirichlet(κ_m μ_mq) + w_m Dirichlet(τ),
    logit w_m = μ_w + σ_w z^w_m,   τ ∈ R^3_+ shared by all models,

whose second component ignores the question's shared easiness: a small τ is U-shaped, so a
row is nearly always right, nearly always wrong or nearly always ⊥ whatever the other models
do. It is there for a model that systematically misses a question the others find easy: under
the first component alone, 0 of 3 right keeps the row's posterior correct share near
κμ / (κ + 3) (MATH-500, ``experiments/pilot_eval/README.md``). The indicator is marginalised in
the likelihood (``logsumexp`` of the two Dirichlet-multinomials per row) and drawn from its
posterior given the row's counts in :mod:`predict`. Priors: μ_w ~ N(-3, 1.5), σ_w ~
HalfNormal(1), τ_j ~ LogNormal(-1, 1). ``locked_split=True`` does the same for the split of
the wrong mass: ρ_mq ~ (1 - v_m) Dirichlet(λ_m ω_q) + v_m Dirichlet(λ_L ω_q), λ_L ~
LogNormal(-2, 1) shared (small: nearly all the row's wrong mass on one answer, picked ∝ ω_q),
logit v_m = μ_v + σ_v z^v_m, μ_v ~ N(-2, 1.5), σ_v ~ HalfNormal(1). It is there for a model
that repeats one wrong answer on a question more than λ_m allows (MATH-500 pilots: rows with
3 of 3 samples on one wrong answer repeat it in 65 % of 3-sample draws, the plain fit said 41 %).

A (model, question) pair with no samples adds nothing to the likelihood, so unseen
combinations of models and questions are predicted from the fitted ability, difficulty and
attractor; new questions are drawn from the population (``σ_d``, ``γ``).

Priors: μ_θ ~ N(2, 2), σ_θ ~ HalfNormal(2), σ_d ~ HalfNormal(3), μ_α ~ N(-4, 2),
σ_α ~ HalfNormal(2), β ~ N(0, 1), μ_κ, μ_λ ~ N(0, 2), σ_κ, σ_λ ~ HalfNormal(1),
γ ~ LogNormal(0, 1), ν ~ Gamma(2, 0.1), σ_s ~ HalfNormal(1); all z ~ N(0, 1) (non-centred).
The heavy tail of u_q is what lets a few questions be missed by every model with the same
wrong answer (on the GSM8K file, 5 of 250 questions have all 13 models' modes on one wrong
answer, likely gold errors); with u_q ~ N(0, 1) new questions from the population almost never do this.
"""

from __future__ import annotations

from typing import NamedTuple

import functools

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from jax.scipy.special import gammaln
from numpyro.infer import Predictive

from slmmux_theory.distributions import validate_counts
from slmmux_theory.inference.locked import mixture_log_likelihood

__all__ = [
    "ATTRACTOR_KINDS",
    "PARAMETER_SITES",
    "AnswerModelConfig",
    "AnswerModelFit",
    "CountData",
    "answer_model",
    "count_data",
    "attractor_from_sticks",
    "dirichlet_multinomial_log_prob",
    "interaction_logits",
    "level_means",
    "model_sites",
    "prior_fit",
    "site_names",
]

ATTRACTOR_KINDS = ("question", "global", "none")

# Deterministic sites that predict.py needs from every posterior draw.
PARAMETER_SITES = (
    "ability",
    "difficulty",
    "abstain_logit",
    "abstain_slope",
    "concentration",
    "wrong_concentration",
    "attractor",
    "difficulty_scale",
    "stick_concentration",
    "interaction_loading",
    "question_factor",
)

# Fixed degrees of freedom of the question factors: heavy tails let a few questions carry a
# strong model-by-question interaction while most questions carry none.
FACTOR_DF = 3.0

# Keeps lgamma finite when a stick product underflows; far below any probability that matters.
_TINY = 1e-30


class AnswerModelConfig(NamedTuple):
    """Which components of the answer model are switched on.

    Attributes:
      difficulty: per-question difficulty d_q shared by all models (else d_q = 0).
      heavy_tailed_difficulty: u_q ~ StudentT(ν) with fitted ν (else N(0, 1)).
      attractor: ``"question"`` (own stick-breaking ω_q per question), ``"global"`` (one ω for
        all questions) or ``"none"`` (wrong mass spread uniformly over the wrong slots).
      model_concentration: per-model κ_m and λ_m (else one κ and one λ for all models).
      model_abstention: per-model ⊥ logit α_m (else one α for all models).
      interaction_rank: number K of model-by-question factors s_m · t_q added to the correct
        logit (0 switches the interaction off).
      locked_rows: the top level is a mixture with a "locked" component Dirichlet(τ) that
        ignores the question's easiness, weight w_m per model (module docstring); off by default.
      locked_split: the wrong split is a mixture with a locked component Dirichlet(λ_L ω_q),
        weight v_m per model (module docstring); off by default.
    """

    difficulty: bool = True
    heavy_tailed_difficulty: bool = True
    attractor: str = "question"
    model_concentration: bool = True
    model_abstention: bool = True
    interaction_rank: int = 2
    locked_rows: bool = False
    locked_split: bool = False


class AnswerModelFit(NamedTuple):
    """Posterior draws of the answer model.

    Attributes:
      method: ``"nuts"``, ``"svi"`` or ``"prior"`` (draws from the prior, see :func:`prior_fit`).
      config: the components used.
      counts: the fitted counts, shape [models, questions, answers].
      posterior: site name -> draws, shape [draws, ...]; holds every name of
        ``PARAMETER_SITES``: ability [draws, models], difficulty [draws, questions],
        abstain_logit [draws, models], abstain_slope [draws], concentration [draws, models],
        wrong_concentration [draws, models], attractor [draws, questions, answers - 2],
        difficulty_scale [draws], stick_concentration [draws], interaction_loading
        [draws, models, K], question_factor [draws, questions, K]; with ``locked_rows`` also
        locked_logit and locked_weight [draws, models], locked_concentration [draws, 3];
        with ``locked_split`` split_locked_logit and split_locked_weight [draws, models],
        split_locked_concentration [draws].
      losses: SVI loss per step, shape [steps] (empty for NUTS).
      divergences: number of divergent NUTS transitions (0 for SVI).
    """

    method: str
    config: AnswerModelConfig
    counts: jnp.ndarray
    posterior: dict
    losses: jnp.ndarray
    divergences: int

    @property
    def num_draws(self) -> int:
        return int(self.posterior["ability"].shape[0])


def dirichlet_multinomial_log_prob(counts, concentration):
    """Log-probability of count vectors under a Dirichlet-multinomial.

    Args:
      counts: whole-number counts, shape [..., categories]; an all-zero row gives 0.
      concentration: positive Dirichlet parameters, shape broadcastable to ``counts``.

    Returns:
      The log-probabilities, shape [...].

    >>> round(float(jnp.exp(dirichlet_multinomial_log_prob(jnp.array([1.0, 1.0]), jnp.array([1.0, 1.0])))), 12)
    0.333333333333
    """
    counts = jnp.asarray(counts, dtype=jnp.result_type(float))
    concentration = jnp.maximum(jnp.asarray(concentration), _TINY)
    concentration = jnp.broadcast_to(concentration, counts.shape)
    total = counts.sum(-1)
    total_concentration = concentration.sum(-1)
    # Zero-count slots cancel exactly; masking avoids inf - inf when a parameter underflows.
    per_slot = jnp.where(
        counts > 0,
        gammaln(counts + concentration) - gammaln(concentration) - gammaln(counts + 1.0),
        0.0,
    )
    return (
        gammaln(total + 1.0)
        + gammaln(total_concentration)
        - gammaln(total + total_concentration)
        + per_slot.sum(-1)
    )


def attractor_from_sticks(sticks):
    """Stick-breaking weights: ω_j = v_j ∏_{l<j}(1 - v_l), last slot takes the remainder.

    Args:
      sticks: fractions v in (0, 1), shape [..., W - 1].

    Returns:
      Weights summing to 1, shape [..., W].

    >>> attractor_from_sticks(jnp.array([0.5, 0.5])).tolist()
    [0.5, 0.25, 0.25]
    """
    sticks = jnp.asarray(sticks)
    remaining = jnp.cumprod(1.0 - sticks, axis=-1)
    before = jnp.concatenate([jnp.ones_like(sticks[..., :1]), remaining[..., :-1]], axis=-1)
    return jnp.concatenate([sticks * before, remaining[..., -1:]], axis=-1)


def interaction_logits(loading, factor):
    """The model-by-question term Σ_k s_mk t_qk of the correct logit.

    Args:
      loading: s, shape [..., models, K].
      factor: t, shape [..., questions, K] (K may be 0: the term is then 0).

    Returns:
      shape [..., models, questions].

    >>> interaction_logits(jnp.array([[1.0], [-1.0]]), jnp.array([[2.0]])).tolist()
    [[2.0], [-2.0]]
    """
    return jnp.einsum("...mk,...qk->...mq", loading, factor)


def level_means(ability, difficulty, abstain_logit, abstain_slope, interaction=None):
    """The Dirichlet-tree mean over (correct, wrong, ⊥) for every (model, question).

    Args:
      ability: θ, shape [..., models].
      difficulty: d, shape [..., questions].
      abstain_logit: α, shape [..., models].
      abstain_slope: β, shape [...].
      interaction: optional model-by-question term of the correct logit (see
        :func:`interaction_logits`), shape [..., models, questions].

    Returns:
      μ, shape [..., models, questions, 3].
    """
    logit = ability[..., :, None] - difficulty[..., None, :]
    if interaction is not None:
        logit = logit + interaction
    correct = jax.nn.sigmoid(logit)
    abstain = jax.nn.sigmoid(
        abstain_logit[..., :, None] + jnp.asarray(abstain_slope)[..., None, None] * difficulty[..., None, :]
    )
    return jnp.stack([(1 - abstain) * correct, (1 - abstain) * (1 - correct), abstain], axis=-1)


def _model_effect(name, num_models, mean_prior, scale_prior, per_model):
    mean = numpyro.sample(f"{name}_mean", mean_prior)
    if not per_model:
        return jnp.full((num_models,), mean)
    scale = numpyro.sample(f"{name}_scale", scale_prior)
    with numpyro.plate("models", num_models):
        z = numpyro.sample(f"{name}_z", dist.Normal(0.0, 1.0))
    return mean + scale * z


def answer_model(
    counts: "CountData | None" = None,
    config: AnswerModelConfig = AnswerModelConfig(),
    num_models: int | None = None,
    num_questions: int | None = None,
    num_answers: int | None = None,
):
    """The NumPyro model (equations in the module docstring).

    Args:
      counts: observed counts as :class:`CountData` (see :func:`count_data`), or None to draw
        only the parameters (then the three sizes must be given).
      config: which components are on.
      num_models, num_questions, num_answers: sizes when ``counts`` is None.
    """
    if counts is not None:
        num_models, num_questions, num_answers = counts.shape
    num_wrong = num_answers - 2

    ability = _model_effect(
        "ability", num_models, dist.Normal(2.0, 2.0), dist.HalfNormal(2.0), True
    )
    numpyro.deterministic("ability", ability)
    if config.difficulty:
        difficulty_scale = numpyro.sample("difficulty_scale", dist.HalfNormal(3.0))
        if config.heavy_tailed_difficulty:
            difficulty_df = numpyro.sample("difficulty_df", dist.Gamma(2.0, 0.1))
            shape = dist.StudentT(difficulty_df, 0.0, 1.0)
        else:
            shape = dist.Normal(0.0, 1.0)
        with numpyro.plate("questions", num_questions):
            u = numpyro.sample("difficulty_z", shape)
        difficulty = difficulty_scale * u
    else:
        difficulty_scale = numpyro.deterministic("difficulty_scale", jnp.zeros(()))
        difficulty = jnp.zeros((num_questions,))
    numpyro.deterministic("difficulty", difficulty)

    rank = int(config.interaction_rank)
    if rank > 0:
        interaction_scale = numpyro.sample("interaction_scale", dist.HalfNormal(1.0))
        with numpyro.plate("interaction_rank", rank, dim=-1), numpyro.plate(
            "interaction_models", num_models, dim=-2
        ):
            loading_z = numpyro.sample("interaction_z", dist.Normal(0.0, 1.0))
        with numpyro.plate("factor_rank", rank, dim=-1), numpyro.plate(
            "factor_questions", num_questions, dim=-2
        ):
            factor = numpyro.sample("question_factor_z", dist.StudentT(FACTOR_DF, 0.0, 1.0))
        loading = interaction_scale * loading_z
    else:
        loading = jnp.zeros((num_models, 0))
        factor = jnp.zeros((num_questions, 0))
    numpyro.deterministic("interaction_loading", loading)
    numpyro.deterministic("question_factor", factor)

    abstain_logit = _model_effect(
        "abstain", num_models, dist.Normal(-4.0, 2.0), dist.HalfNormal(2.0), config.model_abstention
    )
    numpyro.deterministic("abstain_logit", abstain_logit)
    abstain_slope = numpyro.sample("abstain_slope", dist.Normal(0.0, 1.0))
    log_concentration = _model_effect(
        "concentration", num_models, dist.Normal(0.0, 2.0), dist.HalfNormal(1.0),
        config.model_concentration,
    )
    concentration = numpyro.deterministic("concentration", jnp.exp(log_concentration))
    log_wrong = _model_effect(
        "wrong_concentration", num_models, dist.Normal(0.0, 2.0), dist.HalfNormal(1.0),
        config.model_concentration,
    )
    wrong_concentration = numpyro.deterministic("wrong_concentration", jnp.exp(log_wrong))
    locked = None
    if config.locked_rows:
        locked_logit = _model_effect(
            "locked", num_models, dist.Normal(-3.0, 1.5), dist.HalfNormal(1.0), True
        )
        numpyro.deterministic("locked_logit", locked_logit)
        numpyro.deterministic("locked_weight", jax.nn.sigmoid(locked_logit))
        with numpyro.plate("locked_levels", 3):
            locked_concentration = numpyro.sample("locked_concentration",
                                                  dist.LogNormal(-1.0, 1.0))
        locked = (locked_logit, locked_concentration)
    split = None
    if config.locked_split:
        split_logit = _model_effect(
            "split_locked", num_models, dist.Normal(-2.0, 1.5), dist.HalfNormal(1.0), True
        )
        numpyro.deterministic("split_locked_logit", split_logit)
        numpyro.deterministic("split_locked_weight", jax.nn.sigmoid(split_logit))
        split = (split_logit, numpyro.sample("split_locked_concentration",
                                             dist.LogNormal(-2.0, 1.0)))

    if config.attractor == "question" and num_wrong > 1:
        stick_concentration = numpyro.sample("stick_concentration", dist.LogNormal(0.0, 1.0))
        # Kumaraswamy(1, γ) is exactly Beta(1, γ) but its density needs no lgamma (3x faster).
        with numpyro.plate("stick_slots", num_wrong - 1, dim=-1), numpyro.plate(
            "attractor_questions", num_questions, dim=-2
        ):
            sticks = numpyro.sample("sticks", dist.Kumaraswamy(1.0, stick_concentration))
        attractor = attractor_from_sticks(sticks)
    elif config.attractor == "global" and num_wrong > 1:
        stick_concentration = numpyro.sample("stick_concentration", dist.LogNormal(0.0, 1.0))
        with numpyro.plate("stick_slots", num_wrong - 1):
            sticks = numpyro.sample("sticks", dist.Kumaraswamy(1.0, stick_concentration))
        attractor = jnp.broadcast_to(attractor_from_sticks(sticks), (num_questions, num_wrong))
    elif config.attractor in ATTRACTOR_KINDS:
        numpyro.deterministic("stick_concentration", jnp.zeros(()))
        attractor = jnp.full((num_questions, num_wrong), 1.0 / num_wrong)
    else:
        raise ValueError(f"attractor must be one of {ATTRACTOR_KINDS}, got {config.attractor!r}")
    numpyro.deterministic("attractor", attractor)

    if counts is None:
        return
    numpyro.factor("counts", _log_likelihood(
        counts, ability, difficulty, abstain_logit, abstain_slope, concentration,
        wrong_concentration, attractor, interaction_logits(loading, factor) if rank else None,
        locked, split,
    ))


# Jitted so that the eager model traces of SVI and NUTS set-up compile it once instead of
# compiling each of its primitives separately (that was most of an SVI fit's time).
@jax.jit
def _log_likelihood(
    counts, ability, difficulty, abstain_logit, abstain_slope, concentration,
    wrong_concentration, attractor, interaction=None, locked=None, split=None,
):
    """Sum of both Dirichlet-multinomial levels over all (model, question) pairs.

    The wrong-slot level visits only the non-zero counts (a few thousand of 13 × 250 × 17):
    zero slots contribute exactly 0 and ω sums to 1, so the per-pair normaliser needs only λ_m.
    ``locked`` = (locked logit [models], τ [3]) makes the top level the locked-row mixture,
    computed densely per row (its two components do not factor over the non-zero entries);
    ``split`` = (split logit [models], λ_L []) the same for the wrong split.
    """
    means = level_means(ability, difficulty, abstain_logit, abstain_slope, interaction)
    wrong_alpha = wrong_concentration[counts.wrong_index[0]] * attractor[
        counts.wrong_index[1], counts.wrong_index[2]
    ]
    # log Γ(n + a) - log Γ(a) = Σ_{i<n} log(a + i) for whole n: logs are far cheaper than lgamma.
    if split is None:
        wrong_level = (
            _log_rising(wrong_alpha, counts.wrong_value, counts.rising_steps).sum()
            - (counts.wrong_row_weight * _log_rising(
                wrong_concentration[counts.wrong_row_model], counts.wrong_row_total,
                counts.rising_steps)).sum()
        )
    else:
        split_logit, split_concentration = split
        wrong_level = mixture_log_likelihood(
            counts.wrong, wrong_concentration[:, None, None] * attractor[None],
            split_concentration * attractor[None], split_logit[:, None])
    if locked is not None:
        locked_logit, locked_concentration = locked
        top_level = mixture_log_likelihood(
            counts.top, concentration[:, None, None] * means, locked_concentration,
            locked_logit[:, None])
        return counts.log_coefficient + wrong_level + top_level
    top_alpha = concentration[counts.top_index[0]] * means[tuple(counts.top_index)]
    return (
        counts.log_coefficient
        + wrong_level
        + _log_rising(top_alpha, counts.top_value, counts.rising_steps).sum()
        - (counts.top_row_weight * _log_rising(
            concentration[counts.top_row_model], counts.top_row_total, counts.rising_steps)).sum()
    )


def _log_rising(alpha, count, steps):
    """log of the rising factorial α (α+1) ... (α+n-1) = log Γ(n + α) - log Γ(α), elementwise.

    Args:
      alpha: positive values, shape [n].
      count: whole numbers, shape [n], each at most ``len(steps)``.
      steps: 0, 1, ..., max count - 1, shape [max count].
    """
    alpha = jnp.maximum(alpha, _TINY)[:, None]
    return jnp.where(steps < count[:, None], jnp.log(alpha + steps), 0.0).sum(-1)


def prior_fit(
    key,
    num_models: int,
    num_questions: int,
    num_answers: int,
    *,
    config: AnswerModelConfig = AnswerModelConfig(),
    num_draws: int = 1,
) -> AnswerModelFit:
    """Parameter draws from the prior, wrapped like a fit (method ``"prior"``, zero counts).

    With :func:`slmmux_theory.inference.predict.posterior_predictive_probs` and
    :func:`slmmux_theory.inference.predict.replicate_counts` this simulates data from the model itself
    (simulation-based calibration, synthetic experiments).

    >>> prior = prior_fit(jax.random.PRNGKey(0), 2, 3, 4, num_draws=5)
    >>> prior.posterior["attractor"].shape
    (5, 3, 2)
    """
    model = functools.partial(
        answer_model, None, config, num_models=num_models, num_questions=num_questions,
        num_answers=num_answers,
    )
    sites = site_names(config, (num_models, num_questions, num_answers))
    draws = Predictive(model, num_samples=num_draws, return_sites=sites)(key)
    return AnswerModelFit(
        method="prior",
        config=config,
        counts=jnp.zeros((num_models, num_questions, num_answers), dtype=jnp.int64),
        posterior={name: jnp.asarray(value) for name, value in draws.items()},
        losses=jnp.zeros((0,)),
        divergences=0,
    )


def site_names(config, shape):
    """Every sample and deterministic site of the model, so Predictive returns all of them.

    Args:
      config: the :class:`AnswerModelConfig` of the model.
      shape: (models, questions, answers).

    >>> "ability" in site_names(AnswerModelConfig(), (2, 3, 4))
    True
    """
    return [name for name, (kind, _, _) in model_sites(config, shape).items()
            if kind in ("sample", "deterministic")]


def model_sites(config, shape, counts=None):
    """Site name -> (type, value shape, support or None), in model order.

    The model is traced abstractly (``jax.eval_shape``): nothing is compiled or run, which an
    eager trace would do primitive by primitive (seconds of compilation per fit).

    Args:
      config: the :class:`AnswerModelConfig` of the model.
      shape: (models, questions, answers).
      counts: a :class:`CountData` to observe, or None (parameters only).

    Returns:
      dict name -> (site type, value shape, support of a latent site or None).
    """
    sites = {}

    def probe(key):
        model = numpyro.handlers.seed(answer_model, key)
        trace = numpyro.handlers.trace(model).get_trace(
            counts, config, num_models=shape[0], num_questions=shape[1], num_answers=shape[2]
        )
        for name, site in trace.items():
            if site["type"] == "sample" and not site["is_observed"]:
                sites[name] = ("sample", tuple(site["value"].shape), site["fn"].support)
            elif site["type"] in ("sample", "deterministic", "plate"):
                sites[name] = (site["type"], tuple(jnp.shape(site["value"])), None)
        return 0

    jax.eval_shape(probe, jax.random.PRNGKey(0))
    return sites


class CountData(NamedTuple):
    """Counts in the form the likelihood reads (built once, outside any jit).

    Attributes:
      top: counts of (correct, any wrong, ⊥), shape [models, questions, 3].
      top_index: (model, question, level) of the non-zero entries of ``top``, 3 arrays
        [nonzero].
      top_value: those counts, shape [nonzero].
      wrong_index: (model, question, wrong slot counted from 0) of the non-zero wrong counts,
        3 arrays [nonzero].
      wrong_value: those counts, shape [nonzero].
      wrong: the wrong counts, dense, shape [models, questions, answers - 2] (the locked-split
        mixture's likelihood reads whole rows).
      top_row_model, top_row_total, top_row_weight: the distinct (model, samples) pairs of the
        (model, question) rows with samples, and how many rows have each, shape [pairs].
      wrong_row_model, wrong_row_total, wrong_row_weight: the same for the wrong totals.
      log_coefficient: Σ of the log multinomial coefficients of both levels, shape [].
      rising_steps: 0 .. (most samples of one pair) - 1, shape [max samples].
      answer_slots: zeros, shape [answers]; carries the slot count through jit as a shape.
    """

    top: jnp.ndarray
    top_index: tuple
    top_value: jnp.ndarray
    wrong_index: tuple
    wrong_value: jnp.ndarray
    wrong: jnp.ndarray
    top_row_model: jnp.ndarray
    top_row_total: jnp.ndarray
    top_row_weight: jnp.ndarray
    wrong_row_model: jnp.ndarray
    wrong_row_total: jnp.ndarray
    wrong_row_weight: jnp.ndarray
    log_coefficient: jnp.ndarray
    rising_steps: jnp.ndarray
    answer_slots: jnp.ndarray

    @property
    def shape(self) -> tuple:
        return (*self.top.shape[:2], self.answer_slots.shape[0])


def _row_groups(totals):
    """Distinct (model, total > 0) pairs of a [models, questions] table and their multiplicity."""
    models = np.repeat(np.arange(totals.shape[0]), totals.shape[1])
    pairs, weight = np.unique(
        np.stack([models, totals.reshape(-1)], axis=1)[totals.reshape(-1) > 0], axis=0,
        return_counts=True,
    )
    pairs = pairs.reshape(-1, 2)
    return (
        jnp.asarray(pairs[:, 0]),
        jnp.asarray(pairs[:, 1], dtype=jnp.float64),
        jnp.asarray(weight, dtype=jnp.float64),
    )


def count_data(counts) -> CountData:
    """Validate counts [models, questions, answers] and build :class:`CountData`.

    Raises:
      ValueError: for invalid counts or fewer than 3 answer slots.

    >>> [i.tolist() for i in count_data([[[3, 0, 1, 0]]]).wrong_index]
    [[0], [0], [1]]
    """
    array = validate_counts(counts)
    if array.shape[2] < 3:
        raise ValueError(
            f"counts needs at least 3 answer slots (correct, one wrong, ⊥), got {array.shape[2]}"
        )
    top = np.stack([array[..., 0], array[..., 1:-1].sum(-1), array[..., -1]], axis=-1)
    top_index = np.nonzero(top)
    wrong_index = np.nonzero(array[..., 1:-1])
    top_rows = _row_groups(top.sum(-1))
    wrong_rows = _row_groups(top[..., 1])
    log_coefficient = (
        gammaln(top.sum(-1) + 1.0).sum() - gammaln(top + 1.0).sum()
        + gammaln(top[..., 1] + 1.0).sum() - gammaln(array[..., 1:-1] + 1.0).sum()
    )
    return CountData(
        top=jnp.asarray(top, dtype=jnp.float64),
        top_index=tuple(jnp.asarray(i) for i in top_index),
        top_value=jnp.asarray(top[top_index], dtype=jnp.float64),
        wrong_index=tuple(jnp.asarray(i) for i in wrong_index),
        wrong_value=jnp.asarray(array[..., 1:-1][wrong_index], dtype=jnp.float64),
        wrong=jnp.asarray(array[..., 1:-1], dtype=jnp.float64),
        top_row_model=top_rows[0],
        top_row_total=top_rows[1],
        top_row_weight=top_rows[2],
        wrong_row_model=wrong_rows[0],
        wrong_row_total=wrong_rows[1],
        wrong_row_weight=wrong_rows[2],
        log_coefficient=jnp.asarray(log_coefficient),
        rising_steps=jnp.arange(max(1, int(array.sum(axis=2).max(initial=0))), dtype=jnp.float64),
        answer_slots=jnp.zeros(array.shape[2]),
    )
