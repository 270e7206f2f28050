"""Bayesian fit of the discussion model's conformity parameters to debate transcripts.

Transcripts are slot-index arrays ``answers [debates, rounds, agents]`` (slot 0 gold, last slot ⊥),
as produced by :func:`slmmux_theory.discussion.model.simulate_debates` or by the runner's debate logs.
The likelihood is the one of :mod:`slmmux_theory.discussion.model`: round-1 answers are independent
draws from each agent's answer distribution, and every later answer is drawn from
:func:`~slmmux_theory.discussion.model.next_answer_probabilities` of the previous round, so the fit and
the exact/Monte Carlo engines share one transition function. The agents' answer distributions are
either given (e.g. estimated from independent samples, smoothed so no slot has probability 0) or
latent with a symmetric Dirichlet prior per (question, agent). Fitting is by NUTS or by SVI with an
``AutoNormal`` guide, always with an explicit key. The posterior predictive of final accuracy and
flip rates on held-out questions is exact per posterior draw (the Markov chain expectation), with
an optional simulated version that adds the sampling noise of a finite held-out set.

Two optional later-round terms (off by default, the original four-parameter model): ``recognition``
(a correct answer shown by a peer is accepted outright with this probability) and a revision law
(``revision_shift`` / ``abstain_shift``: log-odds shifts of the correct slot and of ⊥ in the answers
re-derived in rounds ``>= 2``, one pair per *agent group*, e.g. per model). A third,
``private_law``, replaces the whole private move (stubbornness and revision law) by a categorical
over ``{keep, correct, ⊥, fresh wrong}`` that depends on the agent's own previous state (correct,
wrong, ⊥), one law shared by all agents or one per agent group; the outcomes that coincide with
the previous state (keep/correct when correct, keep/⊥ when ⊥) are one outcome, so each row has a
``Dirichlet(1)`` prior over its distinct outcomes only (3, 4 and 3 of them). With ``ability``,
the recognition probability and the private law's success outcome also get a slope on the agent's
own per-question log-odds of the correct answer (:func:`~slmmux_theory.discussion.model.ability_logit`),
so that ability enters through the answer distributions and only the social parameters are shared.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoNormal

from slmmux_theory.discussion.measures import (
    groupthink_measures,
    pool_measures,
    predicted_groupthink_measures,
)
from slmmux_theory.discussion.model import (
    DiscussionParams,
    PRIVATE_STATES,
    last_peer_weights,
    next_answer_probabilities,
    simulate_debates,
)

__all__ = [
    "EXTENSION_NAMES",
    "PARAMETER_NAMES",
    "DiscussionPosterior",
    "PRIVATE_LAW_SITES",
    "ParameterIntervals",
    "PredictiveMeasures",
    "SviFit",
    "discussion_model",
    "fit_nuts",
    "fit_svi",
    "fit_svi_guide",
    "posterior_intervals",
    "params_predictive",
    "posterior_predictive",
    "posterior_predictive_simulated",
    "svi_posterior",
]

PARAMETER_NAMES = ("conformity", "conformity_when_correct", "majority_weight", "stubbornness")
EXTENSION_NAMES = ("recognition", "revision_shift", "abstain_shift", "ability_slope",
                   "recognition_slope")
# Sample site of each row of the private law and the columns (keep, correct, ⊥, fresh wrong) its
# distinct outcomes fill: staying correct is "keep", staying ⊥ is "keep".
PRIVATE_LAW_SITES = {"correct": ("private_law_correct", (0, 2, 3)),
                     "wrong": ("private_law_wrong", (0, 1, 2, 3)),
                     "abstain": ("private_law_abstain", (0, 1, 3))}
SHIFT_PRIOR_SCALE = 1.5  # Normal(0, 1.5) on a log-odds shift: a factor e^3 ≈ 20 at two sd


def _check_transcripts(answers, probs, question_index, num_answers):
    answers = jnp.asarray(answers)
    if answers.ndim != 3:
        raise ValueError(
            f"answers must have shape [debates, rounds, agents], got {answers.ndim} dimensions"
        )
    if answers.shape[1] < 2:
        raise ValueError("answers needs at least 2 rounds to inform the conformity parameters")
    if probs is None:
        if num_answers is None:
            raise ValueError("num_answers is required when probs is not given")
    else:
        probs = jnp.asarray(probs)
        if probs.shape[:2] != (answers.shape[0], answers.shape[2]):
            raise ValueError(
                f"probs must have shape [debates, agents, answers] = [{answers.shape[0]}, "
                f"{answers.shape[2]}, A], got {list(probs.shape)}"
            )
    if question_index is None:
        question_index = jnp.arange(answers.shape[0])
    return answers, probs, jnp.asarray(question_index)


def _agent_groups(agent_groups, num_agents: int) -> tuple[int, ...]:
    """Validated group index of each agent (default: all agents in group 0)."""
    if agent_groups is None:
        return (0,) * num_agents
    groups = tuple(int(g) for g in agent_groups)
    if len(groups) != num_agents or min(groups) < 0:
        raise ValueError(
            f"agent_groups must give a group >= 0 for each of the {num_agents} agents, got {groups}"
        )
    return groups


def discussion_model(
    answers,
    probs=None,
    *,
    num_answers: int | None = None,
    question_index=None,
    num_questions: int | None = None,
    concentration: float = 1.0,
    asymmetric: bool = True,
    presentation: str = "index",
    recognition: bool = False,
    revision: bool = False,
    agent_groups: tuple[int, ...] | None = None,
    private_law: bool = False,
    private_law_by_group: bool = False,
    ability: bool = False,
):
    """NumPyro model of debate transcripts.

    Args:
      answers: observed slot indices, shape [debates, rounds, agents], rounds >= 2.
      probs: the agents' answer distributions per debate, shape [debates, agents, answers]; if
        ``None`` they are latent, ``Dirichlet(concentration)`` per (question, agent).
      num_answers: number of slots ``A`` (needed only when ``probs`` is ``None``).
      question_index: question of each debate, shape [debates] (default: one question each).
      num_questions: number of questions (default ``max(question_index) + 1``).
      concentration: symmetric Dirichlet concentration of latent distributions.
      asymmetric: sample ``conformity_when_correct`` separately; otherwise tie it to
        ``conformity``.
      presentation: peer order of the debate (``"index"`` or ``"shuffled"``).
      recognition: sample the ``recognition`` probability (else it is 0).
      revision: sample the revision law's ``revision_shift`` and ``abstain_shift`` (else 0), one
        each per agent group, sites ``revision_shift_group`` / ``abstain_shift_group`` [groups].
      agent_groups: group of each agent (e.g. ``(0, 0, 1)`` for two copies of one model and
        another model); default one group shared by all agents.
      private_law: sample the state-dependent private law (sites ``private_law_correct`` [g, 3],
        ``private_law_wrong`` [g, 4], ``private_law_abstain`` [g, 3]); ``stubbornness`` is then
        not sampled (the law's "keep" replaces it) and the revision shifts are ignored.
      private_law_by_group: one law per agent group (``g`` groups) instead of one shared law.
      ability: sample the ability slopes (``recognition_slope`` when ``recognition``,
        ``ability_slope`` when ``private_law``; ``Normal(0, 1.5)``), see
        :class:`~slmmux_theory.discussion.model.DiscussionParams`.

    The probabilities have uniform ``Beta(1, 1)`` priors, the shifts ``Normal(0, 1.5)``.
    """
    answers, probs, question_index = _check_transcripts(answers, probs, question_index, num_answers)
    num_debates, _, num_agents = answers.shape
    conformity = numpyro.sample("conformity", dist.Beta(1.0, 1.0))
    if asymmetric:
        conformity_when_correct = numpyro.sample("conformity_when_correct", dist.Beta(1.0, 1.0))
    else:
        conformity_when_correct = numpyro.deterministic("conformity_when_correct", conformity)
    groups = _agent_groups(agent_groups, num_agents)
    zero = jnp.zeros(())
    if revision:
        num_groups = max(groups) + 1
        prior = dist.Normal(0.0, SHIFT_PRIOR_SCALE).expand([num_groups]).to_event(1)
        revision_shift = numpyro.sample("revision_shift_group", prior)[jnp.asarray(groups)]
        abstain_shift = numpyro.sample("abstain_shift_group", prior)[jnp.asarray(groups)]
    else:
        revision_shift = abstain_shift = zero
    law = None
    if private_law:
        law_groups = max(groups) + 1 if private_law_by_group else 1
        law = jnp.zeros((law_groups, len(PRIVATE_STATES), 4))
        for row, state in enumerate(PRIVATE_STATES):
            site, columns = PRIVATE_LAW_SITES[state]
            prior = dist.Dirichlet(jnp.ones(len(columns))).expand([law_groups]).to_event(1)
            law = law.at[:, row, jnp.asarray(columns)].set(numpyro.sample(site, prior))
        law = law[jnp.asarray(groups) if private_law_by_group else jnp.zeros(num_agents, int)]
    params = DiscussionParams(
        conformity=conformity,
        conformity_when_correct=conformity_when_correct,
        majority_weight=numpyro.sample("majority_weight", dist.Beta(1.0, 1.0)),
        stubbornness=(zero if private_law
                      else numpyro.sample("stubbornness", dist.Beta(1.0, 1.0))),
        recognition=(numpyro.sample("recognition", dist.Beta(1.0, 1.0)) if recognition else zero),
        revision_shift=revision_shift,
        abstain_shift=abstain_shift,
        private_law=law,
        ability_slope=(numpyro.sample("ability_slope", dist.Normal(0.0, SHIFT_PRIOR_SCALE))
                       if ability and private_law else zero),
        recognition_slope=(numpyro.sample("recognition_slope", dist.Normal(0.0, SHIFT_PRIOR_SCALE))
                           if ability and recognition else zero),
    )
    if probs is None:
        if num_questions is None:
            num_questions = int(question_index.max()) + 1
        with numpyro.plate("questions", num_questions, dim=-2), numpyro.plate(
            "agents", num_agents, dim=-1
        ):
            latent = numpyro.sample(
                "answer_probabilities",
                dist.Dirichlet(jnp.full(num_answers, float(concentration))),
            )
        probs = latent[question_index]
    # [debates, rounds - 1, agents, answers]; probs broadcast over the rounds axis.
    moves = next_answer_probabilities(
        answers[:, :-1], probs[:, None], params, last_peer_weights(num_agents, presentation)
    )
    with numpyro.plate("debates", num_debates, dim=-1):
        numpyro.sample(
            "first_round",
            dist.Categorical(probs=probs).to_event(1),
            obs=answers[:, 0],
        )
        numpyro.sample(
            "later_rounds",
            dist.Categorical(probs=moves).to_event(2),
            obs=answers[:, 1:],
        )


class DiscussionPosterior(NamedTuple):
    """Posterior draws of the conformity parameters.

    Attributes:
      conformity: shape [draws].
      conformity_when_correct: shape [draws] (equal to ``conformity`` for a symmetric fit).
      majority_weight: shape [draws].
      stubbornness: shape [draws].
      answer_probabilities: latent distributions, shape [draws, questions, agents, answers], or
        ``None`` when they were given.
      recognition: shape [draws], or ``None`` when not fitted (then 0).
      revision_shift: per agent (groups expanded), shape [draws, agents], or ``None`` (then 0).
      abstain_shift: shape [draws, agents], or ``None`` (then 0).
      private_law: the state-dependent private law per agent, shape [draws, agents, 3, 4], or
        ``None`` (the stubbornness / revision-law private move).
      ability_slope: shape [draws], or ``None`` (then 0).
      recognition_slope: shape [draws], or ``None`` (then 0).
    """

    conformity: jnp.ndarray
    conformity_when_correct: jnp.ndarray
    majority_weight: jnp.ndarray
    stubbornness: jnp.ndarray
    answer_probabilities: jnp.ndarray | None = None
    recognition: jnp.ndarray | None = None
    revision_shift: jnp.ndarray | None = None
    abstain_shift: jnp.ndarray | None = None
    private_law: jnp.ndarray | None = None
    ability_slope: jnp.ndarray | None = None
    recognition_slope: jnp.ndarray | None = None

    def params(self) -> DiscussionParams:
        """The draws as a batched :class:`DiscussionParams` (leading axis = draws)."""
        zeros = jnp.zeros_like(jnp.asarray(self.conformity, dtype=float))

        def given(value):
            return zeros if value is None else value

        return DiscussionParams(
            self.conformity, self.conformity_when_correct, self.majority_weight, self.stubbornness,
            given(self.recognition), given(self.revision_shift), given(self.abstain_shift),
            self.private_law, given(self.ability_slope), given(self.recognition_slope),
        )  # fmt: skip

    def mean_params(self) -> DiscussionParams:
        """The posterior mean of every parameter as one :class:`DiscussionParams`.

        Fields that were not fitted are 0 (``private_law`` stays ``None``).

        >>> post = DiscussionPosterior(*(jnp.array([0.2, 0.4]),) * 4)
        >>> round(float(post.mean_params().conformity), 6)
        0.3
        """
        return jax.tree_util.tree_map(lambda value: jnp.mean(value, axis=0), self.params())

    def draw(self, index: int) -> "DiscussionPosterior":
        """The posterior restricted to draw ``index`` (leading axis of length 1)."""
        return DiscussionPosterior(
            *(None if value is None else value[index:index + 1] for value in self)
        )


def _private_law_from_samples(samples: dict, groups) -> jnp.ndarray | None:
    """Per-agent private law [draws, agents, 3, 4] from the row sites, or ``None``."""
    site, _ = PRIVATE_LAW_SITES["wrong"]
    if site not in samples:
        return None
    draws, law_groups = samples[site].shape[:2]
    law = jnp.zeros((draws, law_groups, len(PRIVATE_STATES), 4))
    for row, state in enumerate(PRIVATE_STATES):
        site, columns = PRIVATE_LAW_SITES[state]
        law = law.at[:, :, row, jnp.asarray(columns)].set(samples[site])
    # One shared law (a single group) is expanded to every agent.
    index = groups if law_groups > 1 else jnp.zeros_like(groups)
    return law[:, index]


def _posterior_from_samples(samples: dict, agent_groups=None,
                            num_agents: int | None = None) -> DiscussionPosterior:
    conformity = samples["conformity"]
    groups = None if num_agents is None else jnp.asarray(_agent_groups(agent_groups, num_agents))

    def per_agent(site):
        return samples[site][:, groups] if site in samples else None

    return DiscussionPosterior(
        conformity=conformity,
        conformity_when_correct=samples.get("conformity_when_correct", conformity),
        majority_weight=samples["majority_weight"],
        stubbornness=samples.get("stubbornness", jnp.zeros_like(conformity)),
        answer_probabilities=samples.get("answer_probabilities"),
        recognition=samples.get("recognition"),
        revision_shift=per_agent("revision_shift_group"),
        abstain_shift=per_agent("abstain_shift_group"),
        private_law=(None if groups is None else _private_law_from_samples(samples, groups)),
        ability_slope=samples.get("ability_slope"),
        recognition_slope=samples.get("recognition_slope"),
    )


def _with_num_questions(answers, probs, model_kwargs: dict) -> dict:
    """Fix ``num_questions`` outside tracing: a plate size must be a Python int."""
    if probs is None and model_kwargs.get("num_questions") is None:
        question_index = model_kwargs.get("question_index")
        count = jnp.asarray(answers).shape[0] if question_index is None else int(
            jnp.max(jnp.asarray(question_index))) + 1
        model_kwargs = {**model_kwargs, "num_questions": count}
    return model_kwargs


def fit_nuts(
    key,
    answers,
    probs=None,
    *,
    num_warmup: int = 500,
    num_samples: int = 1000,
    num_chains: int = 1,
    progress_bar: bool = False,
    **model_kwargs,
) -> DiscussionPosterior:
    """Fit the conformity parameters by NUTS.

    Args:
      key: jax.random key.
      answers: transcripts, shape [debates, rounds, agents].
      probs: given answer distributions [debates, agents, answers] or ``None`` (latent).
      num_warmup: warm-up iterations per chain.
      num_samples: kept draws per chain.
      num_chains: chains (run sequentially on CPU).
      progress_bar: show numpyro's progress bar.
      **model_kwargs: passed to :func:`discussion_model`.

    Returns:
      Posterior draws pooled over chains.
    """
    mcmc = MCMC(
        NUTS(discussion_model),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=num_chains,
        chain_method="sequential",
        progress_bar=progress_bar,
    )
    mcmc.run(key, answers, probs, **_with_num_questions(answers, probs, model_kwargs))
    return _posterior_from_samples(mcmc.get_samples(), model_kwargs.get("agent_groups"),
                                   jnp.asarray(answers).shape[2])


class SviFit(NamedTuple):
    """A fitted ``AutoNormal`` guide, before any posterior draw (:func:`fit_svi_guide`).

    Attributes:
      guide_params: the guide's fitted locations and scales (site name -> array).
      key: the fit's key (its first half started the optimisation, its second draws).
      answers / probs / question_index: the fitted data (the guide's shapes come from them).
      options: the model options, a sorted tuple of (name, value) pairs.
    """

    guide_params: dict
    key: jnp.ndarray
    answers: jnp.ndarray
    probs: jnp.ndarray | None
    question_index: jnp.ndarray
    options: tuple


def _guide(question_index, options):
    model = partial(discussion_model, question_index=question_index, **dict(options))
    return model, AutoNormal(model)


@partial(jax.jit, static_argnames=("num_steps", "learning_rate", "options"))
def _svi_params(key, answers, probs, question_index, num_steps, learning_rate, options):
    # Built inside one jit keyed on the static options, so repeated fits with the same shapes
    # and settings reuse the compilation (svi.run would recompile for every new SVI object).
    model, guide = _guide(question_index, options)
    svi = SVI(model, guide, numpyro.optim.Adam(learning_rate), Trace_ELBO())
    fit_key, _ = jax.random.split(key)
    state = svi.init(fit_key, answers, probs)
    state = jax.lax.fori_loop(
        0, num_steps, lambda _, current: svi.update(current, answers, probs)[0], state
    )
    return svi.get_params(state)


@partial(jax.jit, static_argnames=("num_draws", "options"))
def _guide_draws(key, params, answers, probs, question_index, num_draws, options):
    model, guide = _guide(question_index, options)
    fit_key, draw_key = jax.random.split(key)
    # A new guide learns its sites' shapes from one trace of the model (what svi.init does;
    # the same key as the fit's, though the values are not used).
    SVI(model, guide, numpyro.optim.Adam(0.0), Trace_ELBO()).init(fit_key, answers, probs)
    return guide.sample_posterior(draw_key, params, answers, probs, sample_shape=(num_draws,))


def fit_svi_guide(
    key,
    answers,
    probs=None,
    *,
    num_steps: int = 2000,
    learning_rate: float = 0.02,
    **model_kwargs,
) -> SviFit:
    """Fit the ``AutoNormal`` guide of :func:`fit_svi`, without drawing from it.

    One fit serves any number of posterior sizes (:func:`svi_posterior`): a report that
    compares variants with few draws and then needs many draws of the chosen one fits it once.
    ``svi_posterior(fit_svi_guide(key, ...), n)`` equals ``fit_svi(key, ..., num_draws=n)``.

    Args:
      key: jax.random key (split for the optimisation and the guide draws).
      answers: transcripts, shape [debates, rounds, agents].
      probs: given answer distributions [debates, agents, answers] or ``None`` (latent).
      num_steps: Adam steps.
      learning_rate: Adam step size.
      **model_kwargs: passed to :func:`discussion_model`.
    """
    model_kwargs = _with_num_questions(answers, probs, model_kwargs)
    question_index = model_kwargs.pop("question_index", None)
    answers = jnp.asarray(answers)
    if question_index is None:
        question_index = jnp.arange(answers.shape[0])
    probs = None if probs is None else jnp.asarray(probs)
    question_index = jnp.asarray(question_index)
    options = tuple(sorted(model_kwargs.items()))
    params = _svi_params(key, answers, probs, question_index, num_steps, float(learning_rate),
                         options)  # fmt: skip
    return SviFit(params, key, answers, probs, question_index, options)


def svi_posterior(fit: SviFit, num_draws: int) -> DiscussionPosterior:
    """``num_draws`` posterior draws from a fitted guide (always the same key: the first draws
    of two calls with different sizes need not agree, the draws of equal sizes do)."""
    samples = _guide_draws(fit.key, fit.guide_params, fit.answers, fit.probs,
                           fit.question_index, num_draws, fit.options)  # fmt: skip
    options = dict(fit.options)
    return _posterior_from_samples(samples, options.get("agent_groups"), fit.answers.shape[2])


def fit_svi(
    key,
    answers,
    probs=None,
    *,
    num_steps: int = 2000,
    learning_rate: float = 0.02,
    num_draws: int = 1000,
    **model_kwargs,
) -> DiscussionPosterior:
    """Fit the conformity parameters by SVI with a mean-field ``AutoNormal`` guide.

    Cheaper than NUTS; mean-field intervals can be too narrow when parameters are correlated
    (majority weight and conformity are, through the social move), so prefer NUTS for intervals.
    The fit and the draws are :func:`fit_svi_guide` and :func:`svi_posterior`.

    Args:
      key: jax.random key (split for the optimisation and the guide draws).
      answers: transcripts, shape [debates, rounds, agents].
      probs: given answer distributions [debates, agents, answers] or ``None`` (latent).
      num_steps: Adam steps.
      learning_rate: Adam step size.
      num_draws: draws from the fitted guide.
      **model_kwargs: passed to :func:`discussion_model`.
    """
    fit = fit_svi_guide(key, answers, probs, num_steps=num_steps, learning_rate=learning_rate,
                        **model_kwargs)  # fmt: skip
    return svi_posterior(fit, num_draws)


class ParameterIntervals(NamedTuple):
    """Central posterior intervals, each a ``(low, high)`` pair of floats.

    Attributes:
      conformity, conformity_when_correct, majority_weight, stubbornness: the intervals.
      recognition: its interval, or ``None`` when not fitted.
      revision_shift, abstain_shift: one ``(low, high)`` pair per agent, or ``None``.
      ability_slope, recognition_slope: their intervals, or ``None`` when not fitted.
    """

    conformity: tuple[float, float]
    conformity_when_correct: tuple[float, float]
    majority_weight: tuple[float, float]
    stubbornness: tuple[float, float]
    recognition: tuple[float, float] | None = None
    revision_shift: tuple[tuple[float, float], ...] | None = None
    abstain_shift: tuple[tuple[float, float], ...] | None = None
    ability_slope: tuple[float, float] | None = None
    recognition_slope: tuple[float, float] | None = None


def posterior_intervals(posterior: DiscussionPosterior, mass: float = 0.9) -> ParameterIntervals:
    """Equal-tailed ``mass`` intervals of each parameter.

    >>> post = DiscussionPosterior(*(jnp.linspace(0, 1, 101),) * 4)
    >>> [round(x, 6) for x in posterior_intervals(post, 0.9).conformity]
    [0.05, 0.95]
    """
    tail = (1.0 - mass) / 2.0

    def interval(values):
        low, high = jnp.quantile(values, jnp.array([tail, 1 - tail]), axis=0)
        if jnp.ndim(low) == 0:
            return float(low), float(high)
        return tuple((float(lo), float(hi)) for lo, hi in zip(low, high))

    def optional(name):
        value = getattr(posterior, name)
        return None if value is None else interval(value)

    return ParameterIntervals(
        *(interval(getattr(posterior, name)) for name in PARAMETER_NAMES),
        *(optional(name) for name in EXTENSION_NAMES),
    )


class PredictiveMeasures(NamedTuple):
    """Posterior predictive of debate outcomes on a question set, one value per draw.

    Attributes:
      debate_accuracy: final plurality accuracy, shape [draws].
      independent_accuracy: round-1 plurality accuracy (does not depend on the draw when the
        distributions are given), shape [draws].
      flip_correct_to_wrong: pooled correct→wrong flip rate, shape [draws].
      flip_wrong_to_correct: pooled wrong→correct flip rate, shape [draws].
      lost_correct: lost-correct rate, shape [draws].
      final_consensus_on_wrong: final unanimous-wrong rate, shape [draws].
    """

    debate_accuracy: jnp.ndarray
    independent_accuracy: jnp.ndarray
    flip_correct_to_wrong: jnp.ndarray
    flip_wrong_to_correct: jnp.ndarray
    lost_correct: jnp.ndarray
    final_consensus_on_wrong: jnp.ndarray


def _summarise(measures) -> PredictiveMeasures:
    return PredictiveMeasures(
        debate_accuracy=measures.debate_accuracy.rate,
        independent_accuracy=measures.independent_accuracy.rate,
        flip_correct_to_wrong=measures.flips.correct_to_wrong.rate,
        flip_wrong_to_correct=measures.flips.wrong_to_correct.rate,
        lost_correct=measures.lost_correct.rate,
        final_consensus_on_wrong=measures.final_consensus_on_wrong.rate,
    )


def posterior_predictive(
    posterior: DiscussionPosterior, probs, rounds: int, presentation: str = "index",
    weights=None,
) -> PredictiveMeasures:
    """Exact expected measures on held-out questions for every posterior draw.

    Rates are pooled over questions (ratio of summed expected events and opportunities), i.e. the
    values a very large number of debates on these questions would show. All draws are computed
    at once (memory grows with draws × questions; :func:`slmmux_theory.discussion.prediction.exact_draws`
    computes many draws in blocks).

    Args:
      posterior: fitted draws (``answer_probabilities`` is ignored: held-out questions need their
        own distributions).
      probs: held-out answer distributions, shape [questions, agents, answers].
      rounds: number of debate rounds.
      presentation: peer order.
      weights: how many times each question counts, shape [questions] (default 1 each).
    """
    return params_predictive(posterior.params(), probs, weights, rounds, presentation)


@partial(jax.jit, static_argnames=("rounds", "presentation"))
def params_predictive(params: DiscussionParams, probs, weights, rounds: int,
                      presentation: str = "index") -> PredictiveMeasures:  # fmt: skip
    """:func:`posterior_predictive` on batched parameters (leading axis = draws).

    Args:
      params: parameters with a leading draws axis (:meth:`DiscussionPosterior.params`).
      probs: answer distributions, shape [questions, agents, answers].
      weights: how many times each question counts, shape [questions] (0 drops a padding row),
        or ``None`` (1 each).
      rounds: number of debate rounds.
      presentation: peer order.

    Returns:
      :class:`PredictiveMeasures`, shape [draws] per field.
    """

    def one_draw(one):
        per_question = jax.vmap(
            lambda p: predicted_groupthink_measures(p, one, rounds, presentation)
        )(probs)
        return _summarise(pool_measures(per_question, weights))

    return jax.vmap(one_draw)(params)


@partial(jax.jit, static_argnames=("rounds", "debates_per_question", "presentation"))
def posterior_predictive_simulated(
    key,
    posterior: DiscussionPosterior,
    probs,
    rounds: int,
    debates_per_question: int = 1,
    presentation: str = "index",
) -> PredictiveMeasures:
    """Measures of simulated held-out transcripts, one simulated set per posterior draw.

    Unlike :func:`posterior_predictive`, this includes the sampling noise of observing only
    ``debates_per_question`` debates per question, so its spread is what an actual held-out run
    would show.

    Args:
      key: jax.random key.
      posterior: fitted draws.
      probs: held-out answer distributions, shape [questions, agents, answers].
      rounds: number of debate rounds.
      debates_per_question: simulated debates per question.
      presentation: peer order.
    """
    num_answers = probs.shape[-1]
    draws = posterior.conformity.shape[0]

    def one_draw(draw_key, params):
        keys = jax.random.split(draw_key, probs.shape[0])
        answers = jax.vmap(
            lambda k, p: simulate_debates(k, p, params, rounds, debates_per_question, presentation)
        )(keys, probs)
        per_question = jax.vmap(lambda a: groupthink_measures(a, num_answers))(answers)
        return _summarise(pool_measures(per_question))

    return jax.vmap(one_draw)(jax.random.split(key, draws), posterior.params())
