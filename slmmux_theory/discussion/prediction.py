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
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_theory.discussion.fit import (
    EXTENSION_NAMES,
    PARAMETER_NAMES,
    PredictiveMeasures,
    fit_svi_guide,
    params_predictive,
    posterior_intervals,
    posterior_predictive_simulated,
    svi_posterior,
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
    "QUESTION_BLOCK",
    "QUESTION_DRAWS_PER_BLOCK",
    "canonical_wrong_slots",
    "compare_variants",
    "exact_draws",
    "fit_and_predict",
    "parameter_summary",
    "predict_new_questions",
    "prediction_summary",
    "private_law_summary",
]


# Question-draws per compiled block of exact predictions: each holds a few A**N x A**N
# transition matrices (343 x 343 floats ~ 1 MB for 3 agents and 7 slots), so ~200 stay well
# under a GB; questions are padded to a multiple of QUESTION_BLOCK so that sets of nearby
# sizes (a report's two halves) share one compiled program.
QUESTION_DRAWS_PER_BLOCK = 192
QUESTION_BLOCK = 16


def canonical_wrong_slots(probs) -> np.ndarray:
    """Each row with its wrong slots ``1..A-2`` sorted by their probabilities (agent 0 first).

    The discussion chain treats wrong slots as exchangeable labels (only "correct", "⊥" and
    "equal or not" matter), so every measure is the same for rows that differ by a relabelling
    of the wrong slots; sorting them makes such rows equal.

    Args:
      probs: answer distributions, shape [rows, agents, A].

    Returns:
      The same shape, wrong columns of each row permuted (the same permutation for all agents).

    >>> p = np.array([[[0.5, 0.1, 0.3, 0.1], [0.4, 0.2, 0.2, 0.2]]])
    >>> canonical_wrong_slots(p)[0].tolist()
    [[0.5, 0.3, 0.1, 0.1], [0.4, 0.2, 0.2, 0.2]]
    """
    probs = np.asarray(probs, dtype=np.float64)
    wrong = probs[:, :, 1:-1]
    # lexsort's last key is the primary one: agent 0 first, then 1, ...; descending.
    order = np.stack([np.lexsort(-row[::-1]) for row in wrong])
    return np.concatenate([probs[:, :, :1], np.take_along_axis(wrong, order[:, None, :], axis=2),
                           probs[:, :, -1:]], axis=2)  # fmt: skip


def exact_draws(posterior, probs, rounds: int, count: int | None = None,
                on_block: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Exact predictive measures per posterior draw on ``probs``.

    Rows of ``probs`` that are equal up to the labels of the wrong slots (debates of one
    question, whose wrong answers get slots in each debate's own order) are computed once and
    counted with their multiplicity (:func:`canonical_wrong_slots`); draws go through one compiled program in blocks of a fixed size
    (questions padded with weight-0 rows), so the A**N-state transition matrices of a block
    fit in memory while every block reuses the compilation.

    Args:
      posterior: a fitted :class:`~slmmux_theory.discussion.fit.DiscussionPosterior`.
      probs: answer distributions, shape [questions, agents, A].
      rounds: debate rounds.
      count: use only the first ``count`` draws (default all).
      on_block: called as ``on_block(draws done, draws)`` after each block (progress).

    Returns:
      measure -> values, shape [draws].

    >>> import jax.numpy as jnp
    >>> from slmmux_theory.discussion.fit import DiscussionPosterior
    >>> point = DiscussionPosterior(*(jnp.array([0.0]),) * 4)  # no social move, stubbornness 0
    >>> p = jnp.array([[[0.6, 0.4, 0.0]] * 3] * 2)
    >>> [round(float(v), 6) for v in exact_draws(point, p, 3)["debate_accuracy"]]
    [0.648]
    """
    probs = np.asarray(probs, dtype=np.float64)
    total = int(posterior.conformity.shape[0])
    total = total if count is None else min(int(count), total)
    flat = canonical_wrong_slots(probs).reshape(probs.shape[0], -1)
    unique, weights = np.unique(flat, axis=0, return_counts=True)
    padded = -(-unique.shape[0] // QUESTION_BLOCK) * QUESTION_BLOCK
    rows = np.concatenate([unique, np.repeat(unique[:1], padded - unique.shape[0], axis=0)])
    rows = jnp.asarray(rows.reshape((padded,) + probs.shape[1:]))
    weights = jnp.asarray(np.concatenate([weights, np.zeros(padded - unique.shape[0])]))
    block = max(1, QUESTION_DRAWS_PER_BLOCK // padded)
    params = jax.tree_util.tree_map(lambda value: np.asarray(value)[:total], posterior.params())
    parts = []
    for start in range(0, total, block):
        # The last block is filled up with its last draw (dropped below): one shape, one program.
        take = np.minimum(np.arange(start, start + block), total - 1)
        values = params_predictive(jax.tree_util.tree_map(lambda value: value[take], params),
                                   rows, weights, rounds)  # fmt: skip
        parts.append(jax.tree_util.tree_map(np.asarray, values))
        if on_block is not None:
            on_block(min(start + block, total), total)
    return {field: np.concatenate([np.asarray(getattr(part, field)) for part in parts])[:total]
            for field in PredictiveMeasures._fields}  # fmt: skip


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


def _fit_key_of(options: Mapping[str, Any]) -> tuple:
    """What identifies a fit of one data set with one key and step count: its options."""
    return tuple(sorted(options.items()))


def _phase(on_phase: Callable[[str], None] | None, text: str) -> None:
    if on_phase is not None:
        on_phase(text)


def _draws_progress(on_phase, label: str):
    if on_phase is None:
        return None
    return lambda done, total: on_phase(f"{label}: draws {done}/{total}")


def compare_variants(answers, probs, fit_rows, held_rows, rounds: int,
                     settings: Mapping[str, Any], agent_groups: Sequence[int],
                     fit_key, fits: dict | None = None,
                     on_phase: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
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
      fits: if given, filled with each fitted guide (:class:`~slmmux_theory.discussion.fit.SviFit`
        and its seconds) by its options, so the main fit can reuse the chosen variant's.
      on_phase: called with a short status at each phase (progress).
    """
    answers, probs = jnp.asarray(answers), jnp.asarray(probs)
    out = {}
    wanted = _wanted(settings)
    for number, name in enumerate(wanted, 1):
        label = f"variant {name} ({number}/{len(wanted)})"
        _phase(on_phase, f"{label}: fit")
        options = variant_options(VARIANTS[name], agent_groups)
        started = time.perf_counter()
        fitted = fit_svi_guide(fit_key, answers[fit_rows], probs[fit_rows],
                               num_steps=int(settings["fit_steps"]), presentation="index",
                               **options)  # fmt: skip
        posterior = svi_posterior(fitted, int(settings["variant_draws"]))
        posterior.conformity.block_until_ready()
        seconds = time.perf_counter() - started
        if fits is not None:
            fits[_fit_key_of(options)] = (fitted, seconds)
        held = exact_draws(posterior, probs[held_rows], rounds,
                           on_block=_draws_progress(on_phase, f"{label} held-out"))
        fit = exact_draws(posterior, probs[fit_rows], rounds,
                          on_block=_draws_progress(on_phase, f"{label} fit half"))
        out[name] = {"options": {k: v for k, v in options.items() if k != "agent_groups"},
                     "fit_seconds": seconds, "parameters": parameter_summary(posterior),
                     "private_law": private_law_summary(posterior),
                     "held_out": {k: float(np.nanmean(v)) for k, v in held.items()},
                     "fit_half": {k: float(np.nanmean(v)) for k, v in fit.items()}}  # fmt: skip
    return out


def fit_and_predict(answers, probs, num_answers: int, fit_rows, held_rows, rounds: int,
                    settings: Mapping[str, Any], agent_groups: Sequence[int] | None = None,
                    on_phase: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Fit on the fit half's debates and predict the held-out half (a report's model section).

    The main fit is the same SVI fit as the variant of equal options (same data, key and
    steps), so when the variant table fitted it, its guide is reused and only drawn from
    ``draws`` times (``fit_reused_from``).

    Args:
      answers: slot indices, shape [debates, rounds, agents].
      probs: answer distributions, shape [debates, agents, A].
      num_answers: A.
      fit_rows / held_rows: debate indices of each half.
      rounds: debate rounds.
      settings: the report settings (``fit_seed``, ``fit_steps``, ``draws``, ``variant_draws``,
        ``simulated_debates``, ``select_on_fit_half``, the main fit's options).
      agent_groups: group (model) of each agent (default: one group per agent).
      on_phase: called with a short status at each phase (fit, draws, simulation: progress).

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
    fits: dict = {}
    variants = (compare_variants(answers, probs, fit_rows, held_rows, rounds, settings,
                                 agent_groups, fit_key, fits, on_phase)
                if settings.get("variant_draws") else {})  # fmt: skip
    selection = select_variant(variants, measured_fit) if variants else None
    if selection and settings.get("select_on_fit_half"):
        # The main fit is the variant the fit half chose; the held-out half never enters.
        options = variant_options(VARIANTS[selection["name"]], agent_groups)
    reused = fits.get(_fit_key_of(options))
    started = time.perf_counter()
    if reused is None:
        _phase(on_phase, "main fit")
        fitted = fit_svi_guide(fit_key, answers[fit_rows], probs[fit_rows],
                               num_steps=int(settings["fit_steps"]), presentation="index",
                               **options)  # fmt: skip
    else:
        fitted = reused[0]
    posterior = svi_posterior(fitted, int(settings["draws"]))
    posterior.conformity.block_until_ready()
    # A reused fit's time is the variant's fit (its draws included) plus these draws.
    fit_seconds = time.perf_counter() - started + (0.0 if reused is None else reused[1])
    reused_from = (None if reused is None else
                   next(name for name in variants
                        if _fit_key_of(variant_options(VARIANTS[name], agent_groups))
                        == _fit_key_of(options)))  # fmt: skip
    parameters = parameter_summary(posterior)
    held_probs = probs[held_rows]
    exact = exact_draws(posterior, held_probs, rounds,
                        on_block=_draws_progress(on_phase, "main fit held-out"))
    _phase(on_phase, "simulated held-out sets")
    simulated = posterior_predictive_simulated(sim_key, posterior, held_probs, rounds, 1)
    predicted = prediction_summary(exact, simulated)
    mean_params = posterior.mean_params()
    # Expected recency/capitulation at the posterior mean (extra, not in PredictiveMeasures).
    per_question = jax.vmap(lambda p: predicted_groupthink_measures(p, mean_params, rounds))(
        held_probs)
    at_mean = measure_values(pool_measures(per_question))
    # Predicted failure labels: simulate the fitted model on the held-out questions.
    _phase(on_phase, "failure labels")
    keys = jax.random.split(fail_key, held_probs.shape[0])
    simulated_answers = jax.vmap(lambda k, p: simulate_debates(
        k, p, mean_params, rounds, int(settings["simulated_debates"])))(keys, held_probs)
    labels = classify_failures(np.asarray(simulated_answers).reshape(-1, rounds,
                                                                    held_probs.shape[1]),
                               num_answers)  # fmt: skip
    return {"options": {k: v for k, v in options.items() if k != "agent_groups"},
            "agent_groups": list(agent_groups), "fit_seconds": fit_seconds,
            "fit_reused_from": reused_from,
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
    variants, fits = {}, {}
    for name in _wanted(settings):
        options = variant_options(VARIANTS[name], agent_groups)
        started = time.perf_counter()
        fitted = fit_svi_guide(fit_key, answers, probs, num_steps=int(settings["fit_steps"]),
                               presentation="index", **options)  # fmt: skip
        posterior = svi_posterior(fitted, int(settings["variant_draws"]))
        posterior.conformity.block_until_ready()
        fits[name] = (fitted, time.perf_counter() - started)
        in_sample = exact_draws(posterior, probs, rounds)
        variants[name] = {"fit_half": {k: float(np.nanmean(v)) for k, v in in_sample.items()}}
    selection = select_variant(variants, measured_fit)
    options = variant_options(VARIANTS[selection["name"]], agent_groups)
    # The chosen variant's fit (same data, key, steps and options) is reused: only drawn again.
    fitted, variant_seconds = fits[selection["name"]]
    started = time.perf_counter()
    posterior = svi_posterior(fitted, int(settings["draws"]))
    posterior.conformity.block_until_ready()
    fit_seconds = time.perf_counter() - started + variant_seconds
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
