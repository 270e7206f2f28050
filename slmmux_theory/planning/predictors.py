"""Predictors: from observed counts to per-question answer laws, one law per draw.

Place in the layers: planning (pure theory; fits the answer model of
:mod:`slmmux_theory.inference.answer_model`, never reads files). Every predictor has the same
interface, ``predictor(key, counts, num_draws) -> QuestionLaws``, and the plan from a pilot
(:mod:`slmmux_theory.planning.plan`) and the held-out check (:mod:`slmmux_theory.planning.heldout`)
call them the same way; options are bound with :func:`functools.partial` or a factory.

* :func:`plug_in_predictor`: per-question sample frequencies (METHODS.md §5.3; one draw);
* :func:`dirichlet_predictor`: independent Dirichlet posteriors per (model, question);
* :func:`hierarchical_predictor`: the hierarchical answer model's posterior predictive on the
  observed questions;
* :func:`population_predictor`: the hierarchical model's prediction of a whole population of
  ``N`` questions replayed over ``n`` samples each (the plan's target), as recorded-sample pools;
* :func:`replay_plug_in_predictor`: the plug-in for a replay target: the counts themselves when
  they hold every recorded sample, else their frequencies.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import numpy as np

from slmmux_theory.inference.unseen import (
    generic_failure_probs,
    shared_failure_questions,
    stratified_unseen_picks,
    unseen_question_picks,
)

__all__ = [
    "HELDOUT_PREDICTORS",
    "UNSEEN_LAWS",
    "Predictor",
    "QuestionLaws",
    "dirichlet_predictor",
    "heldout_predictor",
    "hierarchical_predictor",
    "plug_in_predictor",
    "population_draws",
    "population_predictor",
    "replay_plug_in_predictor",
]

HELDOUT_PREDICTORS = ("hierarchical", "dirichlet", "plug-in")
# How the hierarchical predictor draws the unseen questions ("population" is also accepted:
# new questions of the fitted parametric population, measured 3-5 points too hard on GSM8K).
UNSEEN_LAWS = ("bootstrap", "stratified", "dirichlet-process")


class QuestionLaws(NamedTuple):
    """Predicted answer laws of every (model, question), one set per draw.

    Attributes:
      values: probabilities (``hypergeometric`` False: samples are i.i.d. draws from them) or
        recorded-sample counts (``hypergeometric`` True: samples are drawn from them without
        replacement), shape [draws, models, questions, answers].
      hypergeometric: how samples arise from ``values``.
    """

    values: np.ndarray
    hypergeometric: bool = False

    @property
    def num_draws(self) -> int:
        """Number of draws (1 for a point predictor)."""
        return int(self.values.shape[0])

    def folded(self) -> np.ndarray:
        """The draws folded into the question axis (draw-major), shape [models, draws*Q, answers].

        >>> QuestionLaws(np.arange(8).reshape(2, 1, 2, 2)).folded().tolist()
        [[[0, 1], [2, 3], [4, 5], [6, 7]]]
        """
        draws, models, questions, answers = self.values.shape
        return np.transpose(self.values, (1, 0, 2, 3)).reshape(models, -1, answers)


Predictor = Callable[..., QuestionLaws]
"""``(key, counts [models, questions, answers], num_draws) -> QuestionLaws``."""


def _frequencies(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    totals = counts.sum(-1, keepdims=True)
    probs = np.where(totals > 0, counts / np.maximum(totals, 1), 0.0)
    # A row without samples: all mass on ⊥.
    probs[..., -1] = np.where(totals[..., 0] > 0, probs[..., -1], 1.0)
    return probs


def plug_in_predictor(key, counts, num_draws: int = 1) -> QuestionLaws:
    """Per-question sample frequencies as the distribution (METHODS.md §5.3's plug-in).

    >>> plug_in_predictor(None, np.array([[[1, 3, 0], [0, 0, 0]]])).values.tolist()
    [[[[0.25, 0.75, 0.0], [0.0, 0.0, 1.0]]]]
    """
    del key, num_draws
    return QuestionLaws(_frequencies(counts)[None], False)


def dirichlet_predictor(key, counts, num_draws: int = 200,
                        concentration: float = 0.1) -> QuestionLaws:
    """Independent Dirichlet(counts + α) posteriors per (model, question), over the slots that
    model used on that question, the correct slot and ⊥."""
    counts = np.asarray(counts, dtype=np.float64)
    # Slots this model used, plus the correct answer and ⊥: unseen wrong answers get no mass,
    # which keeps exact enumeration small (a pair rarely uses more than six slots).
    used = counts > 0
    used[..., 0] = True
    used[..., -1] = True
    alpha = np.where(used, counts + concentration, 0.0)
    gamma = jax.random.gamma(key, np.where(used, alpha, 1.0), shape=(num_draws,) + alpha.shape)
    gamma = np.where(used[None], np.asarray(gamma), 0.0)
    return QuestionLaws(gamma / gamma.sum(-1, keepdims=True), False)


def hierarchical_predictor(key, counts, num_draws: int = 100, *, method: str = "svi",
                           fit_draws: int | None = None) -> QuestionLaws:
    """The hierarchical answer model's posterior predictive on the observed questions.

    Args:
      key: jax.random key (split into the fit's and the predictive draws' keys).
      counts: observed counts, shape [models, questions, answers].
      num_draws: predictive draws.
      method: ``"svi"`` or ``"nuts"``.
      fit_draws: posterior draws of the fit (default ``max(num_draws, 50)``).
    """
    from slmmux_theory.inference.answer_fit import fit_answer_model
    from slmmux_theory.inference.predict import posterior_predictive_probs

    fit_key, draw_key = jax.random.split(key)
    fit = fit_answer_model(fit_key, counts, method=method,
                           num_draws=max(num_draws, 50) if fit_draws is None else fit_draws)
    return QuestionLaws(np.asarray(posterior_predictive_probs(draw_key, fit, num_draws=num_draws)),
                        False)


def heldout_predictor(name: str, *, method: str = "svi") -> Predictor:
    """The predictor of that name among :data:`HELDOUT_PREDICTORS` (``slmmux check``)."""
    if name == "plug-in":
        return plug_in_predictor
    if name == "dirichlet":
        return dirichlet_predictor
    if name == "hierarchical":
        return lambda key, counts, num_draws: hierarchical_predictor(key, counts, num_draws,
                                                                     method=method)
    raise ValueError(f"predictor must be one of {HELDOUT_PREDICTORS}, got {name!r}")


def _population_pools(key, pilot_counts, num_questions, replay_samples, num_draws, svi_steps,
                      unseen, concentration, fresh=False, config=None) -> np.ndarray:
    """Pools [draws, models, N, answers]; see :func:`population_draws`."""
    from slmmux_theory.inference.answer_fit import PLAN_SVI_TOLERANCE, fit_answer_model
    from slmmux_theory.inference.predict import (
        population_predictive_probs,
        posterior_predictive_probs,
    )

    counts = np.asarray(pilot_counts)
    models, pilot_size, answers = counts.shape
    fit_key, post_key, pop_key, sim_key = jax.random.split(key, 4)
    options = {} if config is None else {"config": config}
    fit = fit_answer_model(fit_key, counts, method="svi", num_draws=num_draws, svi_steps=svi_steps,
                           svi_tolerance=PLAN_SVI_TOLERANCE, **options)
    probs = np.asarray(posterior_predictive_probs(post_key, fit, num_draws=num_draws))
    if num_questions > pilot_size:
        if unseen == "population":
            new = np.asarray(population_predictive_probs(pop_key, fit, num_questions - pilot_size,
                                                         num_draws=num_draws))
        elif unseen in UNSEEN_LAWS:
            # Unseen questions reuse the posteriors of the pilot questions picked for them.
            pick_key, base_key = jax.random.split(pop_key)
            base = unseen == "dirichlet-process"
            if unseen == "stratified":
                picks = stratified_unseen_picks(pick_key, shared_failure_questions(counts),
                                                num_questions - pilot_size, num_draws)
            else:
                picks = unseen_question_picks(pick_key, pilot_size, num_questions - pilot_size,
                                              num_draws, concentration if base else 0.0)
            new = np.take_along_axis(probs, np.minimum(picks, pilot_size - 1)[:, None, :, None],
                                     axis=2)
            if base:
                base_probs = np.asarray(population_predictive_probs(
                    base_key, fit, num_questions - pilot_size, num_draws=num_draws))
                new = np.where((picks == pilot_size)[:, None, :, None], base_probs, new)
            elif unseen == "stratified":
                new = np.where((picks == pilot_size)[:, None, :, None],
                               generic_failure_probs(new.shape[:-1], answers), new)
        else:
            raise ValueError(f"unseen must be one of {UNSEEN_LAWS + ('population',)}, "
                             f"got {unseen!r}")
        probs = np.concatenate([probs, new], axis=2)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(sim_key)).ravel())
    recorded = np.zeros((models, num_questions), dtype=np.int64)
    if not fresh:
        recorded[:, :pilot_size] = counts.sum(-1)
    missing = np.maximum(replay_samples - recorded, 0)
    probs = np.clip(probs, 0.0, None)
    probs = probs / probs.sum(-1, keepdims=True)
    pools = rng.multinomial(np.broadcast_to(missing, probs.shape[:-1]), probs)
    if not fresh:
        pools[:, :, :pilot_size] += counts[None]
    return pools


def population_draws(key, pilot_counts, num_questions: int, replay_samples: int, *,
                     num_draws: int = 100, svi_steps: int = 1000, unseen: str = "stratified",
                     concentration: float = 1.0, fresh: bool = False,
                     config=None) -> np.ndarray:
    """Replay pools of the whole population, one per posterior draw (hierarchical predictor).

    For each posterior draw of the answer model fitted on the pilot counts: the pilot
    questions' distributions are the posterior predictive conditioned on their pilot samples;
    the ``N - Q`` unseen questions are drawn as ``unseen`` says; the ``n - S`` unrecorded
    samples of the pilot questions and all ``n`` samples of the unseen ones are drawn from
    those distributions.

    Args:
      key: jax.random key (fit, predictive draws and the simulated samples).
      pilot_counts: pilot counts, shape [models, Q, answers] (Q pilot questions).
      num_questions: N, the population size (N >= Q).
      replay_samples: n, recorded samples per (model, question) of the target replay.
      unseen: how the N - Q unseen questions are drawn: ``"bootstrap"`` (per draw,
        Dirichlet(1) weights over the pilot questions, then N - Q of them drawn with those
        weights and their posterior distributions reused: the finite-population Bayesian
        bootstrap, which keeps the models' joint behaviour per question and assumes no
        difficulty law) or ``"population"`` (new questions from the fitted population:
        parametric difficulty and attractor; measured ~3-5 points too hard on GSM8K), or
        ``"dirichlet-process"``: the Dirichlet-process posterior whose base measure is that
        fitted population, i.e. the bootstrap with one more weight ``concentration`` on "a
        new question from the population". A handful of pilot questions may all be easy;
        the plain bootstrap then cannot imagine a hard one and its interval collapses.
        ``"stratified"`` (default): the bootstrap within two strata, shared failures and the
        rest, with the share of shared failures under a Beta posterior, so that a pilot that saw
        none still allows some (:func:`slmmux_theory.inference.unseen.stratified_unseen_picks`).
      concentration: the Dirichlet-process concentration α (pseudo-questions of the base).
      fresh: every row holds n simulated samples, the pilot's own samples only conditioning
        the laws (the target of a run drawing n fresh samples per question, pilot questions
        included); default False: the pilot samples are part of the pools.
      config: the answer model's
        :class:`~slmmux_theory.inference.answer_model.AnswerModelConfig` (None: the default;
        ``AnswerModelConfig(locked_rows=True)``: the locked-row mixture).

    Returns:
      int pools, shape [models, draws * N, answers] (draw-major), each row holding n samples:
      the pilot samples plus simulated ones on pilot questions, simulated ones elsewhere.
    """
    pools = _population_pools(key, pilot_counts, num_questions, replay_samples, num_draws,
                              svi_steps, unseen, concentration, fresh, config)
    return QuestionLaws(pools, True).folded()


def population_predictor(num_questions: int, replay_samples: int, *, svi_steps: int = 1000,
                         unseen: str = "stratified", concentration: float = 1.0,
                         fresh: bool = False, config=None) -> Predictor:
    """The hierarchical predictor of a population of ``N`` questions replayed over ``n``
    samples each (see :func:`population_draws`, also for ``config``), as a :data:`Predictor`."""

    def predictor(key, counts, num_draws: int = 100) -> QuestionLaws:
        return QuestionLaws(_population_pools(key, counts, num_questions, replay_samples,
                                              num_draws, svi_steps, unseen, concentration,
                                              fresh, config), True)

    return predictor


def replay_plug_in_predictor(replay_samples: int) -> Predictor:
    """The plug-in for a replay over ``n`` recorded samples: the counts themselves when every
    row holds ``n`` samples (exact replay), else their frequencies as i.i.d. laws; one draw.

    >>> replay_plug_in_predictor(2)(None, np.array([[[1, 1, 0]]])).hypergeometric
    True
    """

    def predictor(key, counts, num_draws: int = 1) -> QuestionLaws:
        counts = np.asarray(counts)
        if bool(np.all(counts.sum(-1) == replay_samples)):
            return QuestionLaws(counts[None], True)
        return plug_in_predictor(key, counts, num_draws)

    return predictor
