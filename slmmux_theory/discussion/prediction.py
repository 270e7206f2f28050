"""Fit the discussion model on some debates and predict debates on other questions.

Theory layer (``slmmux_theory.discussion``; JAX/NumPyro, no I/O). Arrays in, JSON-ready summaries
out (posterior means and 90 % intervals). Three uses:

* :func:`fit_and_predict`: a report's held-out check: fit on the fit half's debates, predict the
  held-out half (exact expectation per posterior draw, a simulated predictive with the sampling
  noise of the held-out set, the expected capitulation/recency measures and failure labels at
  the posterior mean), with every :data:`~slmmux_theory.discussion.variants.VARIANTS` entry
  fitted and predicted on both halves for comparison (:func:`compare_variants`);
* :func:`predict_new_questions`: a frozen transfer prediction: fit on every debate of a study
  (variant chosen in-sample), predict debates on new questions from their answer distributions
  alone, for prefixes of the new questions;
* the summaries both share (:func:`exact_draws`, :func:`prediction_summary`,
  :func:`parameter_summary`, :func:`private_law_summary`).

Answer arrays are slot indices of shape [debates, rounds, agents] (slot 0 correct, ``A-1`` ⊥);
answer distributions are of shape [debates or questions, agents, A].
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.discussion.fit import (
    EXTENSION_NAMES,
    PARAMETER_NAMES,
    fit_svi,
    posterior_intervals,
    posterior_predictive,
    posterior_predictive_simulated,
)
from slmmux_theory.discussion.measures import (
    classify_failures,
    failure_label_shares,
    groupthink_measures,
    measure_values,
    pool_measures,
    predicted_groupthink_measures,
)
from slmmux_theory.discussion.model import simulate_debates
from slmmux_theory.discussion.variants import (
    VARIANTS,
    main_fit_options,
    select_variant,
    variant_options,
)

__all__ = [
    "compare_variants",
    "exact_draws",
    "fit_and_predict",
    "parameter_summary",
    "predict_new_questions",
    "prediction_summary",
    "private_law_summary",
]


def exact_draws(posterior, probs, rounds: int, count: int | None = None) -> dict[str, np.ndarray]:
    """Exact predictive measures per posterior draw on ``probs``.

    Args:
      posterior: a fitted :class:`~slmmux_theory.discussion.fit.DiscussionPosterior`.
      probs: answer distributions, shape [questions, agents, A].
      rounds: debate rounds.
      count: use only the first ``count`` draws (default all).

    Returns:
      measure -> values, shape [draws].
    """
    # One draw at a time: the A**N-state transition matrices of every question at once per draw
    # fit in memory, all draws at once would not.
    total = posterior.conformity.shape[0]
    draws = [posterior_predictive(posterior.draw(i), probs, rounds)
             for i in range(total if count is None else min(count, total))]  # fmt: skip
    return {field: np.concatenate([np.asarray(getattr(d, field)) for d in draws])
            for field in draws[0]._fields}  # fmt: skip


def prediction_summary(exact: Mapping[str, np.ndarray], simulated) -> dict[str, dict[str, Any]]:
    """Per measure: posterior mean, 90 % posterior interval, 90 % predictive interval.

    Args:
      exact: measure -> exact predictive values per posterior draw (:func:`exact_draws`).
      simulated: :class:`~slmmux_theory.discussion.fit.PredictiveMeasures` of simulated
        question sets (sampling noise included), shape [draws] per field.

    >>> from slmmux_theory.discussion.fit import PredictiveMeasures
    >>> noisy = PredictiveMeasures(*[np.array([0.2, 0.4])] * 6)
    >>> prediction_summary({"debate_accuracy": np.array([0.3, 0.3])}, noisy)["debate_accuracy"]
    {'mean': 0.3, 'interval90': [0.3, 0.3], 'predictive90': [0.21000000000000002, 0.39]}
    """
    summary = {}
    for field, values in exact.items():
        noisy = np.asarray(getattr(simulated, field))
        noisy = noisy[np.isfinite(noisy)]
        summary[field] = {
            "mean": float(np.nanmean(values)),
            "interval90": [float(np.nanquantile(values, 0.05)), float(np.nanquantile(values, 0.95))],
            "predictive90": ([float(np.quantile(noisy, 0.05)), float(np.quantile(noisy, 0.95))]
                             if noisy.size else [math.nan, math.nan]),
        }  # fmt: skip
    return summary


def parameter_summary(posterior) -> dict[str, Any]:
    """Posterior mean and 90 % interval of every fitted parameter (per agent for shifts)."""
    intervals = posterior_intervals(posterior, 0.9)
    summary = {}
    for name in PARAMETER_NAMES + EXTENSION_NAMES:
        values = getattr(posterior, name)
        if values is None:
            continue
        mean = np.asarray(jnp.mean(values, axis=0))
        summary[name] = {"mean": mean.tolist() if mean.ndim else float(mean),
                         "interval90": [list(x) for x in getattr(intervals, name)]
                         if mean.ndim else list(getattr(intervals, name))}  # fmt: skip
    return summary


def private_law_summary(posterior) -> dict[str, Any] | None:
    """Mean and 90 % interval of the state-dependent private law, [agents, 3, 4] each."""
    if posterior.private_law is None:
        return None
    law = np.asarray(posterior.private_law)
    return {"mean": law.mean(axis=0).tolist(),
            "low90": np.quantile(law, 0.05, axis=0).tolist(),
            "high90": np.quantile(law, 0.95, axis=0).tolist()}  # fmt: skip


def _wanted(settings: Mapping[str, Any]) -> list[str]:
    wanted = settings.get("variants") or tuple(VARIANTS)
    return [name for name in VARIANTS if name in wanted]


def compare_variants(answers, probs, fit_rows, held_rows, rounds: int,
                     settings: Mapping[str, Any], agent_groups: Sequence[int],
                     fit_key) -> dict[str, Any]:  # fmt: skip
    """Every wanted variant fitted on the fit half; predictions on both halves (fewer draws).

    The in-sample (fit-half) check is what chooses a variant without looking at the held-out
    half; the held-out predictions are what each variant is judged by.

    Args:
      answers: slot indices, shape [debates, rounds, agents].
      probs: answer distributions, shape [debates, agents, A].
      fit_rows / held_rows: debate indices of each half.
      rounds: debate rounds.
      settings: ``fit_steps``, ``variant_draws`` and optional ``variants`` (names).
      agent_groups: group (model) of each agent.
      fit_key: jax.random key of the fits (the same for every variant).
    """
    answers, probs = jnp.asarray(answers), jnp.asarray(probs)
    out = {}
    for name in _wanted(settings):
        options = variant_options(VARIANTS[name], agent_groups)
        started = time.perf_counter()
        posterior = fit_svi(fit_key, answers[fit_rows], probs[fit_rows],
                            num_steps=int(settings["fit_steps"]),
                            num_draws=int(settings["variant_draws"]), presentation="index",
                            **options)  # fmt: skip
        seconds = time.perf_counter() - started
        held = exact_draws(posterior, probs[held_rows], rounds)
        fit = exact_draws(posterior, probs[fit_rows], rounds)
        out[name] = {"options": {k: v for k, v in options.items() if k != "agent_groups"},
                     "fit_seconds": seconds, "parameters": parameter_summary(posterior),
                     "private_law": private_law_summary(posterior),
                     "held_out": {k: float(np.nanmean(v)) for k, v in held.items()},
                     "fit_half": {k: float(np.nanmean(v)) for k, v in fit.items()}}  # fmt: skip
    return out


def fit_and_predict(answers, probs, num_answers: int, fit_rows, held_rows, rounds: int,
                    settings: Mapping[str, Any], agent_groups: Sequence[int] | None = None
                    ) -> dict[str, Any]:  # fmt: skip
    """Fit on the fit half's debates and predict the held-out half (a report's model section).

    Args:
      answers: slot indices, shape [debates, rounds, agents].
      probs: answer distributions, shape [debates, agents, A].
      num_answers: A.
      fit_rows / held_rows: debate indices of each half.
      rounds: debate rounds.
      settings: the report settings (``fit_seed``, ``fit_steps``, ``draws``, ``variant_draws``,
        ``simulated_debates``, ``select_on_fit_half``, the main fit's options).
      agent_groups: group (model) of each agent (default: one group per agent).

    Returns:
      JSON-ready dict: options, fitted parameters, predicted measures (mean and intervals),
      measures at the posterior mean, predicted failure labels, the fit half's measures, the
      variant comparison and the fit-half selection.
    """
    answers = jnp.asarray(answers)
    probs = jnp.asarray(probs)
    if agent_groups is None:
        agent_groups = tuple(range(answers.shape[2]))
    options = main_fit_options(settings, agent_groups)
    key = jax.random.PRNGKey(int(settings["fit_seed"]))
    fit_key, sim_key, fail_key = jax.random.split(key, 3)
    measured_fit = measure_values(groupthink_measures(answers[fit_rows], num_answers))
    variants = (compare_variants(answers, probs, fit_rows, held_rows, rounds, settings,
                                 agent_groups, fit_key)
                if settings.get("variant_draws") else {})  # fmt: skip
    selection = select_variant(variants, measured_fit) if variants else None
    if selection and settings.get("select_on_fit_half"):
        # The main fit is the variant the fit half chose; the held-out half never enters.
        options = variant_options(VARIANTS[selection["name"]], agent_groups)
    started = time.perf_counter()
    posterior = fit_svi(fit_key, answers[fit_rows], probs[fit_rows],
                        num_steps=int(settings["fit_steps"]), num_draws=int(settings["draws"]),
                        presentation="index", **options)  # fmt: skip
    posterior.conformity.block_until_ready()
    fit_seconds = time.perf_counter() - started
    parameters = parameter_summary(posterior)
    held_probs = probs[held_rows]
    exact = exact_draws(posterior, held_probs, rounds)
    simulated = posterior_predictive_simulated(sim_key, posterior, held_probs, rounds, 1)
    predicted = prediction_summary(exact, simulated)
    mean_params = posterior.mean_params()
    # Expected recency/capitulation at the posterior mean (extra, not in PredictiveMeasures).
    per_question = jax.vmap(lambda p: predicted_groupthink_measures(p, mean_params, rounds))(
        held_probs)
    at_mean = measure_values(pool_measures(per_question))
    # Predicted failure labels: simulate the fitted model on the held-out questions.
    keys = jax.random.split(fail_key, held_probs.shape[0])
    simulated_answers = jax.vmap(lambda k, p: simulate_debates(
        k, p, mean_params, rounds, int(settings["simulated_debates"])))(keys, held_probs)
    labels = classify_failures(np.asarray(simulated_answers).reshape(-1, rounds,
                                                                    held_probs.shape[1]),
                               num_answers)  # fmt: skip
    return {"options": {k: v for k, v in options.items() if k != "agent_groups"},
            "agent_groups": list(agent_groups), "fit_seconds": fit_seconds,
            "parameters": parameters, "private_law": private_law_summary(posterior),
            "predicted": predicted, "at_posterior_mean": at_mean, "selection": selection,
            "predicted_failure_labels": failure_label_shares(labels),
            "fit_measured": measured_fit, "variants": variants}  # fmt: skip


def predict_new_questions(answers, probs, num_answers: int, agent_groups: Sequence[int],
                          settings: Mapping[str, Any], target_probs,
                          prefix_sizes: Sequence[int],
                          debates_per_question: int) -> dict[str, Any]:  # fmt: skip
    """Fit on every given debate (variant chosen in-sample); predict debates on new questions.

    Args:
      answers: slot indices of the fitted debates, shape [debates, rounds, agents].
      probs: their answer distributions, shape [debates, agents, A].
      num_answers: A.
      agent_groups: group (model) of each agent.
      settings: the report settings (``fit_seed``, ``fit_steps``, ``draws``,
        ``variant_draws``, optional ``variants``).
      target_probs: the new questions' answer distributions from independent samples only,
        shape [questions, agents, A].
      prefix_sizes: predict for the first n questions, for every n here.
      debates_per_question: debates planned per new question (the predictive interval's
        sampling noise).

    Returns:
      JSON-ready dict: ``fit_measured``, ``variants`` (in-sample means), ``selection``,
      ``options``, ``fit_seconds``, ``parameters``, ``private_law`` and ``predictions``:
      str(n) -> measure -> mean and intervals.
    """
    answers, probs = jnp.asarray(answers), jnp.asarray(probs)
    rounds = answers.shape[1]
    measured_fit = measure_values(groupthink_measures(answers, num_answers))
    key = jax.random.PRNGKey(int(settings["fit_seed"]))
    fit_key, sim_key = jax.random.split(key)
    variants = {}
    for name in _wanted(settings):
        options = variant_options(VARIANTS[name], agent_groups)
        posterior = fit_svi(fit_key, answers, probs, num_steps=int(settings["fit_steps"]),
                            num_draws=int(settings["variant_draws"]), presentation="index",
                            **options)  # fmt: skip
        in_sample = exact_draws(posterior, probs, rounds)
        variants[name] = {"fit_half": {k: float(np.nanmean(v)) for k, v in in_sample.items()}}
    selection = select_variant(variants, measured_fit)
    options = variant_options(VARIANTS[selection["name"]], agent_groups)
    started = time.perf_counter()
    posterior = fit_svi(fit_key, answers, probs, num_steps=int(settings["fit_steps"]),
                        num_draws=int(settings["draws"]), presentation="index", **options)
    fit_seconds = time.perf_counter() - started
    predictions = {}
    for size in prefix_sizes:
        part = jnp.asarray(target_probs[:size])
        exact = exact_draws(posterior, part, rounds)
        simulated = posterior_predictive_simulated(sim_key, posterior, part, rounds,
                                                   debates_per_question)  # fmt: skip
        predictions[str(size)] = prediction_summary(exact, simulated)
    return {"fit_measured": measured_fit, "variants": variants, "selection": selection,
            "options": {k: v for k, v in options.items() if k != "agent_groups"},
            "rounds": int(rounds), "fit_seconds": fit_seconds,
            "parameters": parameter_summary(posterior),
            "private_law": private_law_summary(posterior), "predictions": predictions}
