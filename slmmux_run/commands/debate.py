"""``slmmux debate report`` / ``run``: the groupthink comparison table and figure from stored transcripts.

Reads debate transcripts (:class:`slmmux_run.sampling.discussion.TranscriptStore`) and the independent
samples of the same models on the same questions (a :class:`~slmmux_run.data.records.RecordStore`),
and without calling any model:

1. converts debates to shared slot arrays (:func:`slmmux_run.sampling.discussion.transcript_slots`), with
   each agent's answer distribution estimated from its model's independent samples;
2. splits the questions (seeded) into a fit half and a held-out half, fits the conformity
   parameters of :mod:`slmmux_theory.discussion.model` on the fit half by SVI
   (:func:`slmmux_theory.discussion.fit.fit_svi`), and predicts the held-out debate accuracy,
   flip rates, lost-correct and consensus-on-wrong rates (exact per posterior draw, plus a
   simulated predictive that includes the sampling noise of the held-out set); the main fit's
   later-round terms come from the ``[report]`` settings (``recognition``, ``revision``), and
   every variant (:data:`VARIANTS`) is also fitted and predicted on both halves for comparison;
3. on the held-out questions, compares debate with SLM-MUX, Agent Forest and the single models
   (exact hypergeometric replay of the independent samples, :func:`slmmux_run.orchestrate.exact_replay`,
   with the theory's plug-in prediction beside it) at the k whose tokens per question are closest
   to the debate's, and the independent (round-1 plurality) counterfactual;
4. labels every failed debate by the operational definition (:func:`slmmux_run.sampling.discussion.classify_failures`)
   and predicts the same shares by simulating the fitted model;
5. shows the SLM-MUX paper's A.1 and A.13 values as labelled references (MATH, other models:
   context, not targets).

Writes ``report.md``, ``result.json`` and ``figure.png`` into ``--out``. ``slmmux debate run``
runs debates (or MoA / MAV) against already-served models of a config, one per question, into a
transcript file (resumable); ``experiments/groupthink_real/run.py`` is the full study.
"""

from __future__ import annotations

import argparse
import json
import math
import tomllib
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_run.cli_args import add_task_arguments, task_options, tasks_for_models
from slmmux_run.sampling.config import load_config
from slmmux_run.sampling.discussion import (
    DiscussionAgent,
    TranscriptStore,
    Turn,
    final_answer,
    run_debate,
    run_mixture_of_agents,
    run_verification,
    spend_of,
    transcript_slots,
)
from slmmux_run.errors import UserError
from slmmux_theory.discussion.measures import FAILURE_KINDS, classify_failures
from slmmux_run.data.record_samples import load_records
from slmmux_run.orchestrate import (
    exact_replay,
    mean_and_standard_error,
    plug_in_prediction,
    validation_accuracy,
)
from slmmux_run.data.papers import reference_value
from slmmux_run.data.records import RecordStore

__all__ = [
    "DEFAULT_SETTINGS",
    "SELECTION_MEASURES",
    "VARIANTS",
    "analyse",
    "choose_smoothing",
    "complete_discussions",
    "format_crossfit",
    "format_report",
    "halves",
    "parse_variants",
    "pool_folds",
    "prediction_summary",
    "ratio_standard_error",
    "report_settings",
    "register",
    "run",
    "run_crossfit",
    "run_live",
    "sample_answers",
    "select_variant",
    "split_questions",
]

DEFAULT_SETTINGS = {"fit_fraction": 0.5, "split_seed": 0, "max_answers": 7, "fit_steps": 2000,
                    "draws": 200, "simulated_debates": 100, "fit_seed": 0,
                    "recognition": True, "revision": False, "private_law": False,
                    "private_law_by_group": False, "select_on_fit_half": False,
                    "variant_draws": 40,
                    "smoothing": 0.5, "smoothing_grid": None, "swap_halves": False,
                    "comparison_samples": None}  # fmt: skip
# The fitted-model variants compared in the report (name -> discussion_model options): the
# original four-parameter model, each later-round term alone, both, and the state-dependent
# private law (with recognition; one law shared by all agents, or one per model), and those two
# with ability links (recognition and the private law's success outcome scaled by the agent's own
# per-question log-odds of the correct answer).
VARIANTS = {"base": {}, "recognition": {"recognition": True},
            "revision": {"revision": True}, "both": {"recognition": True, "revision": True},
            "state_law": {"recognition": True, "private_law": True},
            "state_law_by_model": {"recognition": True, "private_law": True,
                                   "private_law_by_group": True},
            "state_law_ability": {"recognition": True, "private_law": True, "ability": True},
            "state_law_by_model_ability": {"recognition": True, "private_law": True,
                                           "private_law_by_group": True, "ability": True}}
# Measures whose largest in-sample (fit-half) miss selects a variant; never the held-out half.
SELECTION_MEASURES = ("debate_accuracy", "flip_correct_to_wrong", "flip_wrong_to_correct",
                      "lost_correct", "final_consensus_on_wrong")
MODELS = ("smollm2", "gemma3")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``debate`` subcommand (``slmmux debate report``)."""
    parser = subparsers.add_parser(
        "debate",
        help="discussion methods: groupthink report from stored debate transcripts",
        description="Reproduce the debate vs SLM-MUX vs Agent Forest table and figure from "
        "stored transcripts and independent samples, without calling any model.",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    report = actions.add_parser("report", help="fit, predict, compare; write table and figure")
    report.add_argument("--transcripts", required=True, help="debate transcripts (JSONL)")
    report.add_argument("--samples", default=None,
                        help="independent samples (record JSONL; default samples.jsonl beside "
                        "the transcripts)")  # fmt: skip
    report.add_argument("--config", default=None,
                        help="TOML with a [report] table (default config.toml beside the "
                        "transcripts, if any)")  # fmt: skip
    report.add_argument("--models", default=",".join(MODELS),
                        help="models of the independent samples, in SLM-MUX tie order")
    report.add_argument("--out", required=True, help="output folder")
    report.add_argument("--fit-steps", type=int, default=None, help="SVI steps (override)")
    report.add_argument("--draws", type=int, default=None, help="posterior draws used")
    report.add_argument("--swap-halves", action="store_true",
                        help="fit on the complementary half of the seeded split and predict the "
                        "usual fit half (second fold of a 2-fold cross-fit; the smoothing and "
                        "the variant are then chosen on that fold's own fit half)")
    report.add_argument("--variants", default=None,
                        help="comma-separated model variants to fit and compare (default all: "
                             + ", ".join(VARIANTS) + ")")
    crossfit = actions.add_parser(
        "crossfit", help="pool the held-out checks of two reports fitted on complementary halves")
    crossfit.add_argument("--folds", nargs="+", required=True,
                          help="result.json of each fold (e.g. a report and its --swap-halves "
                          "twin)")  # fmt: skip
    crossfit.add_argument("--out", required=True, help="output folder (crossfit.md, .json)")
    live = actions.add_parser("run", help="run debates (or MoA / MAV) against served models")
    live.add_argument("--config", required=True, help="model config TOML")
    live.add_argument("--agents", required=True,
                      help="model of each agent, comma-separated (a model may repeat)")
    live.add_argument("--method", choices=("debate", "moa", "mav"), default="debate")
    live.add_argument("--rounds", type=int, default=3,
                      help="debate rounds / MoA layers + 1 / MAV candidates")
    live.add_argument("--temperature", type=float, default=0.7)
    live.add_argument("--seed", type=int, default=0)
    live.add_argument("--max-tokens", type=int, default=20)
    live.add_argument("--presentation", choices=("index", "shuffled"), default="index")
    live.add_argument("--transcripts", required=True, help="transcript JSONL (appended to)")
    add_task_arguments(live)
    from slmmux_run.commands.debate_transfer import register_actions

    register_actions(actions)
    parser.set_defaults(handler=run)


# --------------------------------------------------------------------------- inputs


def complete_discussions(turns: list[Turn], method: str) -> dict[str, list[Turn]]:
    """Discussions of one method that have every turn of the most common shape.

    Returns:
      discussion id -> turns, in file order.
    """
    groups: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        if turn.method == method:
            groups[turn.discussion_id].append(turn)
    if not groups:
        return {}
    shape = Counter(len(g) for g in groups.values()).most_common(1)[0][0]
    return {key: group for key, group in groups.items() if len(group) == shape}


def sample_answers(records) -> tuple[dict, dict]:
    """Answers and token spend of independent samples per (question, model).

    Returns:
      (answers: (question_id, model) -> list of answer strings (None for ⊥ or failure),
       tokens: (question_id, model) -> list of per-sample tokens: completion tokens plus the
       request's prompt tokens divided by the choices it returned).
    """
    answers: dict = defaultdict(list)
    tokens: dict = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.question_id, r.model, r.sample_index)):
        key = (record.question_id, record.model)
        answers[key].append(record.answer if record.error is None else None)
        usage = record.usage or {}
        share = (usage.get("prompt_tokens") or 0) / max(usage.get("call_choices") or 1, 1)
        tokens[key].append(share + (usage.get("completion_tokens") or 0))
    return dict(answers), dict(tokens)


def split_questions(question_ids, fit_fraction: float, seed: int) -> tuple[list, list]:
    """Seeded split of distinct question ids into (fit, held-out).

    >>> fit, held = split_questions(["a", "b", "c", "d"], 0.5, 0)
    >>> sorted(fit + held), len(fit)
    (['a', 'b', 'c', 'd'], 2)
    """
    unique = sorted(set(question_ids))
    order = np.random.default_rng(seed).permutation(len(unique))
    count = int(round(fit_fraction * len(unique)))
    return [unique[i] for i in order[:count]], [unique[i] for i in order[count:]]


def halves(question_ids, settings: dict) -> tuple[list, list]:
    """(fit, held-out) question ids of the report's settings; swapped when ``swap_halves``.

    The swapped split is the second fold of a 2-fold cross-fit: every question is held out
    exactly once over the two folds.

    >>> settings = {"fit_fraction": 0.5, "split_seed": 0, "swap_halves": False}
    >>> fit, held = halves(["a", "b", "c", "d"], settings)
    >>> halves(["a", "b", "c", "d"], settings | {"swap_halves": True}) == (held, fit)
    True
    """
    fit, held = split_questions(question_ids, float(settings["fit_fraction"]),
                                int(settings["split_seed"]))  # fmt: skip
    return (held, fit) if settings.get("swap_halves") else (fit, held)


def choose_smoothing(debate_turns, answers_by_key, settings: dict) -> tuple[Any, dict[str, Any]]:
    """Slot arrays at the pseudo-count that fits the FIT half's round-1 plurality best.

    For every value of ``settings["smoothing_grid"]`` (or just ``settings["smoothing"]``), the
    plug-in round-1 (no-communication) plurality accuracy predicted from the answer
    distributions is compared with the measured one on the fit half only; the value with the
    smallest |predicted − measured| wins (first in grid order on ties). The held-out half never
    enters. Measured values do not depend on the pseudo-count (it changes ``probs`` only).

    Returns:
      (slots at the chosen value, {"chosen", "rows": [{"smoothing", "predicted", "measured",
      "agent_mean_correct_probability", "agent_round_one_accuracy"}]}), all on the fit half.
    """
    from slmmux_theory.discussion.measures import groupthink_measures
    from slmmux_theory.discussion.model import independent_plurality_accuracy_exact

    grid = settings.get("smoothing_grid")
    values = [float(v) for v in grid] if grid else [float(settings["smoothing"])]
    rows, slots_of = [], {}
    for value in values:
        slots = transcript_slots(debate_turns, samples=answers_by_key,
                                 max_answers=int(settings["max_answers"]), smoothing=value)
        fit_ids, _ = halves(slots.question_ids, settings)
        fit_rows = np.array([q in set(fit_ids) for q in slots.question_ids])
        probs = jnp.asarray(slots.probs)[fit_rows]
        answers = np.asarray(slots.answers)[fit_rows]
        predicted = float(jnp.mean(jax.vmap(independent_plurality_accuracy_exact)(probs)))
        measured = float(groupthink_measures(jnp.asarray(answers), slots.num_answers)
                         .independent_accuracy.rate)  # fmt: skip
        rows.append({"smoothing": value, "predicted": predicted, "measured": measured,
                     "agent_mean_correct_probability": np.asarray(probs[:, :, 0].mean(0)).tolist(),
                     "agent_round_one_accuracy": (answers[:, 0, :] == 0).mean(0).tolist()})
        slots_of[value] = slots
    chosen = min(rows, key=lambda row: abs(row["predicted"] - row["measured"]))["smoothing"]
    return slots_of[chosen], {"chosen": chosen, "rows": rows}


# --------------------------------------------------------------------------- analysis


def _measure_dict(measures) -> dict[str, float]:
    return {
        "debate_accuracy": float(measures.debate_accuracy.rate),
        "independent_accuracy": float(measures.independent_accuracy.rate),
        "flip_correct_to_wrong": float(measures.flips.correct_to_wrong.rate),
        "flip_wrong_to_correct": float(measures.flips.wrong_to_correct.rate),
        "lost_correct": float(measures.lost_correct.rate),
        "final_consensus_on_wrong": float(measures.final_consensus_on_wrong.rate),
        "capitulation_to_wrong": float(measures.capitulation.to_wrong_plurality.rate),
        "capitulation_to_correct": float(measures.capitulation.to_correct_plurality.rate),
        "recency_adoption": float(measures.recency_adoption.rate),
        "round_one_union": float(measures.round_one_union.rate),
    }


def _standard_errors(answers, num_answers) -> dict[str, float]:
    """Bootstrap-free standard errors: per-debate values for the debate-level rates."""
    from slmmux_theory.discussion.measures import groupthink_measures

    per = [groupthink_measures(answers[d:d + 1], num_answers) for d in range(answers.shape[0])]
    out = {}
    for name, pick in (("debate_accuracy", lambda m: m.debate_accuracy.rate),
                       ("independent_accuracy", lambda m: m.independent_accuracy.rate),
                       ("lost_correct", lambda m: m.lost_correct.rate),
                       ("final_consensus_on_wrong", lambda m: m.final_consensus_on_wrong.rate)):
        out[name] = mean_and_standard_error(np.array([float(pick(m)) for m in per]))[1]
    # Flip rates: ratio estimator; delta-method SE over debates.
    for name, pick in (("flip_correct_to_wrong", lambda m: m.flips.correct_to_wrong),
                       ("flip_wrong_to_correct", lambda m: m.flips.wrong_to_correct)):
        out[name] = ratio_standard_error([float(pick(m).events) for m in per],
                                         [float(pick(m).opportunities) for m in per])
    return out


def ratio_standard_error(events, opportunities) -> float:
    """Delta-method standard error of sum(events) / sum(opportunities) over independent units.

    >>> round(ratio_standard_error([1, 0, 1, 0], [1, 1, 1, 1]), 4)
    0.2887
    """
    events, opportunities = np.asarray(events, float), np.asarray(opportunities, float)
    total, units = opportunities.sum(), len(events)
    if total <= 0 or units < 2:
        return math.nan
    residual = events - events.sum() / total * opportunities
    return float(math.sqrt(units / (units - 1) * (residual ** 2).sum()) / total)


def _model_options(settings: dict, agent_groups) -> dict[str, Any]:
    """discussion_model options of the report's main fit (from the ``[report]`` settings)."""
    options = {"recognition": bool(settings["recognition"]), "revision": bool(settings["revision"]),
               "private_law": bool(settings.get("private_law", False)),
               "private_law_by_group": bool(settings.get("private_law_by_group", False))}
    return _with_groups(options, agent_groups)


def _with_groups(options: dict, agent_groups) -> dict[str, Any]:
    """Add ``agent_groups`` when an option is per group (revision shifts, per-model law)."""
    per_group = options.get("revision") or options.get("private_law_by_group")
    return options | ({"agent_groups": tuple(agent_groups)} if per_group else {})


def _exact_draws(posterior, probs, rounds, count=None) -> dict[str, np.ndarray]:
    """Exact predictive measures per posterior draw on ``probs``, field -> [draws]."""
    from slmmux_theory.discussion.fit import posterior_predictive

    # One draw at a time: the A**N-state transition matrices of every question at once per draw
    # fit in memory, all draws at once would not.
    total = posterior.conformity.shape[0]
    draws = [posterior_predictive(posterior.draw(i), probs, rounds)
             for i in range(total if count is None else min(count, total))]  # fmt: skip
    return {field: np.concatenate([np.asarray(getattr(d, field)) for d in draws])
            for field in draws[0]._fields}  # fmt: skip


def prediction_summary(exact: dict, simulated) -> dict[str, dict[str, Any]]:
    """Per measure: posterior mean, 90 % posterior interval, 90 % predictive interval.

    Args:
      exact: field -> exact predictive values per posterior draw (:func:`_exact_draws`).
      simulated: PredictiveMeasures of simulated held-out sets (sampling noise included).
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


def _parameter_summary(posterior) -> dict[str, Any]:
    """Posterior mean and 90 % interval of every fitted parameter (per agent for shifts)."""
    from slmmux_theory.discussion.fit import EXTENSION_NAMES, PARAMETER_NAMES, posterior_intervals

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


def _private_law_summary(posterior) -> dict[str, Any] | None:
    """Mean and 90 % interval of the state-dependent private law, [agents, 3, 4] each."""
    if posterior.private_law is None:
        return None
    law = np.asarray(posterior.private_law)
    return {"mean": law.mean(axis=0).tolist(),
            "low90": np.quantile(law, 0.05, axis=0).tolist(),
            "high90": np.quantile(law, 0.95, axis=0).tolist()}  # fmt: skip


def select_variant(variants: dict, measured_fit: dict) -> dict[str, Any]:
    """The variant with the smallest largest fit-half miss over :data:`SELECTION_MEASURES`.

    Uses only the fit half (in-sample predictions against fit-half measurements).

    >>> select_variant({"a": {"fit_half": {m: 0.1 for m in SELECTION_MEASURES}},
    ...                 "b": {"fit_half": {m: 0.4 for m in SELECTION_MEASURES}}},
    ...                {m: 0.2 for m in SELECTION_MEASURES})["name"]
    'a'
    """
    worst = {name: max(abs(v["fit_half"][m] - measured_fit[m]) for m in SELECTION_MEASURES)
             for name, v in variants.items()}  # fmt: skip
    name = min(worst, key=worst.get)
    return {"name": name, "largest_fit_half_miss": worst}


def _variant_comparison(slots, fit_rows, held_rows, rounds, settings, agent_groups,
                        fit_key) -> dict[str, Any]:  # fmt: skip
    """Every model variant fitted on the fit half; predictions on both halves (fewer draws).

    The in-sample (fit-half) check is what chooses a variant without looking at the held-out
    half; the held-out predictions are what each variant is judged by.
    """
    import time

    from slmmux_theory.discussion.fit import fit_svi

    answers, probs = jnp.asarray(slots.answers), jnp.asarray(slots.probs)
    out = {}
    wanted = settings.get("variants") or tuple(VARIANTS)
    for name, options in ((n, o) for n, o in VARIANTS.items() if n in wanted):
        options = _with_groups(options, agent_groups)
        started = time.perf_counter()
        posterior = fit_svi(fit_key, answers[fit_rows], probs[fit_rows],
                            num_steps=int(settings["fit_steps"]),
                            num_draws=int(settings["variant_draws"]), presentation="index",
                            **options)  # fmt: skip
        seconds = time.perf_counter() - started
        held = _exact_draws(posterior, probs[held_rows], rounds)
        fit = _exact_draws(posterior, probs[fit_rows], rounds)
        out[name] = {"options": {k: v for k, v in options.items() if k != "agent_groups"},
                     "fit_seconds": seconds, "parameters": _parameter_summary(posterior),
                     "private_law": _private_law_summary(posterior),
                     "held_out": {k: float(np.nanmean(v)) for k, v in held.items()},
                     "fit_half": {k: float(np.nanmean(v)) for k, v in fit.items()}}  # fmt: skip
    return out


def _fit_and_predict(slots, fit_rows, held_rows, rounds, settings,
                     agent_groups=None) -> dict[str, Any]:  # fmt: skip
    import time

    from slmmux_theory.discussion.measures import (
        groupthink_measures,
        predicted_groupthink_measures,
        pool_measures,
    )
    from slmmux_theory.discussion.model import simulate_debates
    from slmmux_theory.discussion.fit import fit_svi, posterior_predictive_simulated

    answers = jnp.asarray(slots.answers)
    probs = jnp.asarray(slots.probs)
    num_answers = slots.num_answers
    if agent_groups is None:
        agent_groups = tuple(range(answers.shape[2]))
    options = _model_options(settings, agent_groups)
    key = jax.random.PRNGKey(int(settings["fit_seed"]))
    fit_key, sim_key, fail_key = jax.random.split(key, 3)
    measured_fit = _measure_dict(groupthink_measures(answers[fit_rows], num_answers))
    variants = (_variant_comparison(slots, fit_rows, held_rows, rounds, settings, agent_groups,
                                    fit_key) if settings.get("variant_draws") else {})  # fmt: skip
    selection = select_variant(variants, measured_fit) if variants else None
    if selection and settings.get("select_on_fit_half"):
        # The main fit is the variant the fit half chose; the held-out half never enters.
        options = _with_groups(dict(VARIANTS[selection["name"]]), agent_groups)
    started = time.perf_counter()
    posterior = fit_svi(fit_key, answers[fit_rows], probs[fit_rows],
                        num_steps=int(settings["fit_steps"]), num_draws=int(settings["draws"]),
                        presentation="index", **options)  # fmt: skip
    posterior.conformity.block_until_ready()
    fit_seconds = time.perf_counter() - started
    parameters = _parameter_summary(posterior)
    held_probs = probs[held_rows]
    exact = _exact_draws(posterior, held_probs, rounds)
    simulated = posterior_predictive_simulated(sim_key, posterior, held_probs, rounds, 1)
    predicted = prediction_summary(exact, simulated)
    mean_params = posterior.mean_params()
    # Expected recency/capitulation at the posterior mean (extra, not in PredictiveMeasures).
    per_question = jax.vmap(lambda p: predicted_groupthink_measures(p, mean_params, rounds))(
        held_probs)
    at_mean = _measure_dict(pool_measures(per_question))
    # Predicted failure labels: simulate the fitted model on the held-out questions.
    keys = jax.random.split(fail_key, held_probs.shape[0])
    simulated_answers = jax.vmap(lambda k, p: simulate_debates(
        k, p, mean_params, rounds, int(settings["simulated_debates"])))(keys, held_probs)
    labels = classify_failures(np.asarray(simulated_answers).reshape(-1, rounds,
                                                                    held_probs.shape[1]),
                               num_answers)  # fmt: skip
    return {"options": {k: v for k, v in options.items() if k != "agent_groups"},
            "agent_groups": list(agent_groups), "fit_seconds": fit_seconds,
            "parameters": parameters, "private_law": _private_law_summary(posterior),
            "predicted": predicted, "at_posterior_mean": at_mean, "selection": selection,
            "predicted_failure_labels": _label_shares(labels),
            "fit_measured": measured_fit, "variants": variants}  # fmt: skip


def _label_shares(labels) -> dict[str, Any]:
    counts = Counter(labels.tolist())
    failed = sum(counts[k] for k in FAILURE_KINDS)
    shares = {k: (counts[k] / failed if failed else math.nan) for k in FAILURE_KINDS}
    groupthink = counts["groupthink-capitulation"] + counts["groupthink-consensus"]
    return {"debates": int(len(labels)), "failed": int(failed), "counts": dict(counts),
            "shares_of_failures": shares,
            "groupthink_share_of_failures": groupthink / failed if failed else math.nan}  # fmt: skip


def _independent_rows(sample_records, models, fit_ids, held_ids, debate_tokens) -> dict[str, Any]:
    """SLM-MUX, Agent Forest and single models on the held-out questions, every k."""
    records = [r for r in sample_records if r.model in models]
    record_set = load_records(records, None, list(models))
    sample_set = record_set.sample_set
    index = {q: i for i, q in enumerate(sample_set.question_ids)}
    fit_q = np.array([index[q] for q in fit_ids if q in index], dtype=int)
    held_q = [index[q] for q in held_ids if q in index]
    held = sample_set.select(questions=held_q)
    validation = validation_accuracy(sample_set, fit_q)
    _, tokens = sample_answers(records)
    per_model = {m: float(np.mean([np.mean(tokens[(q, m)]) for q in held_ids
                                   if (q, m) in tokens])) for m in models}  # fmt: skip
    k_max = int(np.asarray(held.counts).sum(axis=2).min())
    rows = []
    for rule, model_index, name, used in (
        [("slm-mux", None, "SLM-MUX", models), ("agent-forest", None, "Agent Forest", models)]
        + [("self-consistency", i, f"{m} self-consistency", (m,)) for i, m in enumerate(models)]
    ):
        for k in range(1, k_max + 1):
            exact, _ = exact_replay(held, rule, k, validation=validation, model=model_index)
            predicted, _ = plug_in_prediction(held, rule, k, validation=validation,
                                              model=model_index)  # fmt: skip
            mean, se, count = mean_and_standard_error(exact)
            rows.append({"method": name, "k": k, "accuracy": mean, "se": se, "questions": count,
                         "predicted": mean_and_standard_error(predicted)[0],
                         "tokens_per_question": k * sum(per_model[m] for m in used),
                         "calls_per_question": k * len(used)})  # fmt: skip
    matched = {}
    for name in {row["method"] for row in rows}:
        options = [row for row in rows if row["method"] == name]
        matched[name] = min(options, key=lambda row: abs(row["tokens_per_question"]
                                                          - debate_tokens))["k"]
    return {"rows": rows, "matched_k": matched, "tokens_per_sample": per_model,
            "validation_accuracy": dict(zip(models, map(float, validation))),
            "k_max": k_max}  # fmt: skip


def _samples_per_key(answers_by_key) -> dict[str, int]:
    """Smallest and largest number of independent samples per (question, model)."""
    counts = [len(v) for v in answers_by_key.values()] or [0]
    return {"min": int(min(counts)), "max": int(max(counts))}


def _paper_references() -> dict[str, Any]:
    refs = {}
    for series in ("Single-Model Max", "Mixture-of-Agents", "LLM-Debate",
                   "Multi-Agent Verification"):
        refs[f"A.1 SLMs MATH {series}"] = reference_value(
            "A01-small-large-accuracy", benchmark="MATH", setting="SLMs", series=series)
    refs["A.2 SLM-MUX MATH"] = reference_value(
        "A02-composition-combined", benchmark="MATH", series="SLM-MUX", quantity="accuracy",
        setting="")
    refs["A.13 groupthink share of failed debates"] = reference_value(
        "A13-label", series="Failures attributed to groupthink", quantity="share")
    refs["A.13 failed share of debates"] = reference_value(
        "A13-label", series="Failed debates", quantity="share")
    return refs


def _discussion_accuracy(groups: dict[str, list[Turn]]) -> dict[str, Any]:
    correct = np.array([final_answer(turns)[1] for turns in groups.values()], dtype=float)
    spends = [spend_of(turns) for turns in groups.values()]
    mean, se, count = mean_and_standard_error(correct)
    return {"accuracy": mean, "se": se, "discussions": count,
            "questions": sorted({t[0].question_id for t in groups.values()}),
            "tokens_per_question": float(np.mean([s.tokens for s in spends])),
            "calls_per_question": float(np.mean([s.calls for s in spends]))}  # fmt: skip


def analyse(turns: list[Turn], sample_records, settings: dict, models=MODELS) -> dict[str, Any]:
    """Everything the report shows, as JSON-ready values (see the module docstring).

    Args:
      turns: all stored turns (debates, and MoA/MAV if any).
      sample_records: the independent samples' records (latest per key).
      settings: :data:`DEFAULT_SETTINGS` overridden by the config's ``[report]`` table.
      models: the models of the independent samples, in SLM-MUX tie order.
    """
    debates = complete_discussions(turns, "debate")
    if len(debates) < 4:
        raise UserError(f"need at least 4 complete debates, found {len(debates)}")
    debate_turns = [t for group in debates.values() for t in group]
    answers_by_key, _ = sample_answers(sample_records)
    # The pseudo-count is chosen on this report's fit half only (a grid, or the one value).
    slots, smoothing = choose_smoothing(debate_turns, answers_by_key, settings)
    rounds = slots.answers.shape[1]
    fit_ids, held_ids = halves(slots.question_ids, settings)
    fit_rows = np.array([q in set(fit_ids) for q in slots.question_ids])
    held_rows = ~fit_rows
    from slmmux_theory.discussion.measures import groupthink_measures

    held_answers = slots.answers[held_rows]
    measured = _measure_dict(groupthink_measures(held_answers, slots.num_answers))
    measured_se = _standard_errors(held_answers, slots.num_answers)
    # Revision-law shifts are shared by agents of one model (group = model, in agent order).
    first = sorted((t for t in debate_turns if t.round == 1 and t.discussion_id ==
                    debate_turns[0].discussion_id), key=lambda t: t.agent)  # fmt: skip
    model_names = list(dict.fromkeys(t.model for t in first))
    agent_groups = tuple(model_names.index(t.model) for t in first)
    model = _fit_and_predict(slots, np.flatnonzero(fit_rows), np.flatnonzero(held_rows), rounds,
                             settings, agent_groups)  # fmt: skip
    held_debates = {k: v for k, v in debates.items() if v[0].question_id in set(held_ids)}
    debate_summary = _discussion_accuracy(held_debates)
    # The comparison may use only the first n samples per key (``comparison_samples``): the
    # model's answer distributions use them all, but exact replay of agent-forest / SLM-MUX over
    # many samples enumerates too many slot combinations (16 samples: > 4 GB at k = 8).
    limit = settings.get("comparison_samples")
    compared = [r for r in sample_records if limit is None or r.sample_index < int(limit)]
    independent = _independent_rows(compared, models, fit_ids, held_ids,
                                    debate_summary["tokens_per_question"])  # fmt: skip
    all_labels = classify_failures(slots.answers, slots.num_answers)
    others = {}
    for method in ("moa", "mav"):
        groups = complete_discussions(turns, method)
        if groups:
            summary = _discussion_accuracy(groups)
            same = {k: v for k, v in debates.items() if v[0].question_id in set(summary["questions"])}
            summary["debate_on_same_questions"] = (_discussion_accuracy(same) if same else None)
            others[method] = summary
    return {
        "settings": settings,
        "smoothing": smoothing,
        "samples_per_model_question": _samples_per_key(answers_by_key),
        "agents": [t.agent_name for t in sorted(next(iter(debates.values())), key=lambda t: t.agent)
                   if t.round == 1],
        "rounds": rounds,
        "num_answers": slots.num_answers,
        "debates": len(debates),
        "fit_questions": len(fit_ids),
        "held_out_questions": len(held_ids),
        "held_out_question_ids": sorted(held_ids),
        "held_out_debates": int(held_rows.sum()),
        "measured_held_out": measured,
        "measured_held_out_se": measured_se,
        "model": model,
        "debate_held_out": {k: v for k, v in debate_summary.items() if k != "questions"},
        "independent": independent,
        "failure_labels_all": _label_shares(all_labels),
        "failure_labels_held_out": _label_shares(all_labels[held_rows]),
        "other_methods": {m: {k: v for k, v in s.items() if k != "questions"} | {
            "questions": len(s["questions"])} for m, s in others.items()},
        "paper": _paper_references(),
    }


# --------------------------------------------------------------------------- output


def _pct(value, digits=1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{100 * value:.{digits}f}"


VARIANT_MEASURES = ("debate_accuracy", "flip_correct_to_wrong", "flip_wrong_to_correct",
                    "lost_correct", "final_consensus_on_wrong")


def _variant_lines(result: dict) -> list[str]:
    """Markdown table: every model variant's predictions, in-sample (fit half) and held out."""
    variants = result["model"].get("variants") or {}
    if not variants:
        return []
    measured_fit, measured = result["model"]["fit_measured"], result["measured_held_out"]
    head = " | ".join(name.replace("_", " ") for name in VARIANT_MEASURES)
    lines = [
        "",
        "## Model variants: predicted (|measured − predicted|) in points",
        "",
        "Each variant fitted by SVI on the fit half (same key; "
        f"{result['settings'].get('variant_draws')} draws). `base`: the four conformity "
        "parameters; `recognition`: + a wrong agent shown the correct answer by a peer adopts it "
        "outright with a fitted probability; `revision`: + a per-model log-odds shift of the "
        "correct slot and of ⊥ in answers re-derived in rounds ≥ 2; `both`; `state_law`: "
        "recognition + a private move whose law over {keep, correct, ⊥, fresh wrong} depends on "
        "the agent's own previous state (correct / wrong / ⊥), one law for all agents; "
        "`state_law_by_model`: the same, one law per model; `…_ability`: the same with the "
        "recognition probability and the private law's success outcome scaled, on the odds "
        "scale, by the agent's own per-question log-odds of the correct answer (fitted slopes). "
        "The fit-half rows are an in-sample "
        "check (they choose the variant without the held-out half).",
        "",
        f"| variant | half | fit s | {head} |",
        "|---|---|---|" + "---|" * len(VARIANT_MEASURES),
        "| measured | fit | | " + " | ".join(_pct(measured_fit[m]) for m in VARIANT_MEASURES) + " |",
        "| measured | held-out | | " + " | ".join(_pct(measured[m]) for m in VARIANT_MEASURES)
        + " |",
    ]
    for name, variant in variants.items():
        for half, reference in (("fit", measured_fit), ("held-out", measured)):
            values = variant["fit_half" if half == "fit" else "held_out"]
            cells = [f"{_pct(values[m])} ({_pct(abs(values[m] - reference[m]))})"
                     for m in VARIANT_MEASURES]  # fmt: skip
            lines.append(f"| {name} | {half} | {variant['fit_seconds']:.0f} | "
                         + " | ".join(cells) + " |")
    selection = result["model"].get("selection")
    if selection:
        chosen = selection["name"]
        held = variants[chosen]["held_out"]
        worst = ", ".join(f"{n} {_pct(v)}" for n, v in selection["largest_fit_half_miss"].items())
        within = all(abs(held[m] - measured[m]) <= 0.03 for m in VARIANT_MEASURES)
        lines += [
            "",
            f"Selected on the fit half (smallest largest in-sample miss over these measures; "
            f"largest misses: {worst}): **{chosen}**; its held-out misses are "
            + ", ".join(f"{m.replace('_', ' ')} {_pct(abs(held[m] - measured[m]))}"
                        for m in VARIANT_MEASURES)
            + f" — {'all' if within else 'not all'} within 3 points.",
        ]
    return lines


def _private_law_lines(law: dict | None, agents: list[str]) -> list[str]:
    """Markdown table of a fitted state-dependent private law (mean [90 % interval])."""
    from slmmux_theory.discussion.model import PRIVATE_OUTCOMES, PRIVATE_STATES

    if not law:
        return []
    lines = ["", "State-dependent private law (probability of each outcome of a private move, "
             "mean [90 %]; rows: own previous state):", "",
             "| agent | previous | " + " | ".join(PRIVATE_OUTCOMES) + " |",
             "|---|---|" + "---|" * len(PRIVATE_OUTCOMES)]  # fmt: skip
    for agent, name in enumerate(agents):
        for row, state in enumerate(PRIVATE_STATES):
            cells = [f"{law['mean'][agent][row][k]:.2f} [{law['low90'][agent][row][k]:.2f}, "
                     f"{law['high90'][agent][row][k]:.2f}]" for k in range(len(PRIVATE_OUTCOMES))]
            lines.append(f"| {agent} {name} | {state} | " + " | ".join(cells) + " |")
    return lines


def _smoothing_lines(result: dict) -> list[str]:
    """The pseudo-count choice on the fit half (round-1 plurality, predicted vs measured)."""
    smoothing = result.get("smoothing")
    if not smoothing:
        return []
    count = result.get("samples_per_model_question", {})
    lines = [(f"Answer distributions: {count.get('min')}–{count.get('max')} independent samples "
              f"per (model, question), plus a pseudo-count on every slot seen on the question, "
              f"chosen on the fit half: **{smoothing['chosen']}** (fit half, percent; per agent: "
              "mean plug-in p(correct) / measured round-1 accuracy)."), "",
             "| pseudo-count | round-1 plurality predicted | measured | |diff| | per agent |",
             "|---|---|---|---|---|"]  # fmt: skip
    for row in smoothing["rows"]:
        agents = ", ".join(f"{_pct(p)}/{_pct(a)}" for p, a in
                           zip(row["agent_mean_correct_probability"],
                               row["agent_round_one_accuracy"]))  # fmt: skip
        lines.append(f"| {row['smoothing']} | {_pct(row['predicted'])} | "
                     f"{_pct(row['measured'])} | {_pct(abs(row['predicted'] - row['measured']))} "
                     f"| {agents} |")
    return lines + [""]


def format_report(result: dict) -> str:
    """Markdown tables of :func:`analyse`'s result."""
    measured, se = result["measured_held_out"], result["measured_held_out_se"]
    predicted, at_mean = result["model"]["predicted"], result["model"]["at_posterior_mean"]
    lines = [
        f"# Groupthink with real small models: debate vs SLM-MUX vs Agent Forest",
        "",
        f"Agents {', '.join(result['agents'])}; {result['rounds']} rounds; "
        f"{result['debates']} complete debates; fit on {result['fit_questions']} questions, "
        f"held out {result['held_out_questions']} questions ({result['held_out_debates']} debates). "
        f"Slots per question A = {result['num_answers']}."
        + (" **Halves swapped** (`--swap-halves`: fit on the complement of the seeded fit "
           "half; second fold of the cross-fit)." if result["settings"].get("swap_halves") else ""),
        "",
    ]
    lines += _smoothing_lines(result)
    lines += [
        f"## Fitted parameters (SVI, 90 % intervals; model options "
        f"{result['model'].get('options', {})}, fit {result['model'].get('fit_seconds', math.nan):.0f} s)",
        "",
        "| parameter | mean | 90 % interval |",
        "|---|---|---|",
    ]
    for name, value in result["model"]["parameters"].items():
        if isinstance(value["mean"], list):  # per agent (revision-law shifts)
            for agent, (mean, (low, high)) in enumerate(zip(value["mean"], value["interval90"])):
                lines.append(f"| {name} (agent {agent}) | {mean:.3f} | [{low:.3f}, {high:.3f}] |")
            continue
        low, high = value["interval90"]
        lines.append(f"| {name} | {value['mean']:.3f} | [{low:.3f}, {high:.3f}] |")
    lines += _private_law_lines(result["model"].get("private_law"), result["agents"])
    lines += [
        "",
        "## Held-out check: measured vs predicted (percent)",
        "",
        "`predicted`: posterior mean of the exact expectation on the held-out questions "
        "(answer distributions from the independent samples); `90 % (param)`: over posterior "
        "draws; `90 % (predictive)`: simulated held-out sets of the same size (adds sampling "
        "noise); `|diff|`: |measured − predicted|, target ≤ 3 points.",
        "",
        "| measure | measured ± se | predicted | 90 % (param) | 90 % (predictive) | |diff| "
        "| ≤ 3? |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("debate_accuracy", "independent_accuracy", "flip_correct_to_wrong",
                 "flip_wrong_to_correct", "lost_correct", "final_consensus_on_wrong"):
        p = predicted[name]
        diff = abs(measured[name] - p["mean"])
        lines.append(
            f"| {name} | {_pct(measured[name])} ± {_pct(se.get(name))} | {_pct(p['mean'])} | "
            f"[{_pct(p['interval90'][0])}, {_pct(p['interval90'][1])}] | "
            f"[{_pct(p['predictive90'][0])}, {_pct(p['predictive90'][1])}] | {_pct(diff)} | "
            f"{'yes' if diff <= 0.03 else '**no**'} |")
    for name in ("capitulation_to_wrong", "capitulation_to_correct", "recency_adoption"):
        lines.append(f"| {name} | {_pct(measured[name])} | {_pct(at_mean[name])} (at mean) | | | "
                     f"{_pct(abs(measured[name] - at_mean[name]))} |")
    lines += _variant_lines(result)
    debate = result["debate_held_out"]
    independent = result["independent"]
    lines += [
        "",
        "## Comparison on the held-out questions at equal token budget",
        "",
        f"Debate spends {debate['tokens_per_question']:.0f} tokens and "
        f"{debate['calls_per_question']:.1f} calls per question (prompt + completion, all "
        f"rounds). Independent methods: per sample, completion tokens plus the request's prompt "
        f"tokens shared over its choices ({', '.join(f'{m} {t:.1f}' for m, t in independent['tokens_per_sample'].items())} "
        f"tokens per sample); `k*` is the k (≤ {independent['k_max']}) whose tokens are "
        "closest to the debate's. Accuracy: exact expectation over drawing k of the recorded "
        "samples; `predicted`: the theory's plug-in (multinomial) value, in-sample. SLM-MUX ties "
        f"by validation accuracy on the fit questions {independent['validation_accuracy']}. "
        "Debate accuracy: plurality of the last round, ties by expectation (as the theory); "
        f"final-answer rule with lowest-index tie-break gives {_pct(debate['accuracy'])}."
        + (f" The independent methods replay only the first {limit} samples per (model, "
           "question); the groupthink model's answer distributions use all of them."
           if (limit := result["settings"].get("comparison_samples")) else ""),
        "",
        "| method | k | tokens/q | calls/q | accuracy ± se | predicted |",
        "|---|---|---|---|---|---|",
        f"| LLM-Debate ({len(result['agents'])} agents, {result['rounds']} rounds) | — | "
        f"{debate['tokens_per_question']:.0f} | {debate['calls_per_question']:.1f} | "
        f"{_pct(measured['debate_accuracy'])} ± {_pct(se['debate_accuracy'])} | "
        f"{_pct(predicted['debate_accuracy']['mean'])} (fitted groupthink model) |",
        f"| independent round-1 plurality (no communication) | 1 per agent | — | "
        f"{len(result['agents'])} | {_pct(measured['independent_accuracy'])} ± "
        f"{_pct(se['independent_accuracy'])} | {_pct(predicted['independent_accuracy']['mean'])} |",
    ]
    for row in independent["rows"]:
        if row["k"] in (1, independent["matched_k"][row["method"]], independent["k_max"]):
            star = ""
            if row["k"] == independent["matched_k"][row["method"]]:
                below = row["tokens_per_question"] < 0.9 * debate["tokens_per_question"]
                star = " (k*, fewer tokens than debate)" if below else " (k*)"
            lines.append(
                f"| {row['method']}{star} | {row['k']} | {row['tokens_per_question']:.0f} | "
                f"{row['calls_per_question']} | {_pct(row['accuracy'])} ± {_pct(row['se'])} | "
                f"{_pct(row['predicted'])} |")
    for method, summary in result["other_methods"].items():
        label = {"moa": "Mixture-of-Agents", "mav": "Multi-Agent Verification"}[method]
        same = summary.get("debate_on_same_questions")
        lines.append(
            f"| {label} (its first {summary['questions']} questions; debate there: "
            f"{_pct(same['accuracy']) if same else '—'}) | — | "
            f"{summary['tokens_per_question']:.0f} | {summary['calls_per_question']:.1f} | "
            f"{_pct(summary['accuracy'])} ± {_pct(summary['se'])} | no model |")
    labels_all, labels_held = result["failure_labels_all"], result["failure_labels_held_out"]
    predicted_labels = result["model"]["predicted_failure_labels"]
    paper = result["paper"]
    lines += [
        "",
        "## Groupthink share of failed debates (operational, METHODS §6.3)",
        "",
        "A failure is `groupthink-capitulation` when an agent that held the correct answer "
        "moved to a wrong answer a peer held, `groupthink-consensus` when the last round is "
        "unanimous on a wrong answer that round 1 was not unanimous on, else `other`. "
        "`predicted`: the same labels on debates simulated from the fitted model (posterior "
        "mean) on the held-out questions.",
        "",
        "| set | debates | failed | capitulation | consensus | other | groupthink share |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, labels in (("all debates", labels_all), ("held-out debates", labels_held),
                         ("predicted (held-out, simulated)", predicted_labels)):
        shares = labels["shares_of_failures"]
        lines.append(
            f"| {name} | {labels['debates']} | {labels['failed']} | "
            f"{_pct(shares['groupthink-capitulation'])} | {_pct(shares['groupthink-consensus'])} "
            f"| {_pct(shares['other'])} | {_pct(labels['groupthink_share_of_failures'])} |")
    lines += [
        "",
        "## Paper reference values (SLM-MUX paper; MATH with 7–27B models — context, not "
        "targets)",
        "",
        "| reference | value |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value} |" for name, value in paper.items()]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> Path:
    """Accuracy by method with predictions, and groupthink measures measured vs predicted."""
    from slmmux_run.figures import PAPER_MARK, figure, save

    fig, (left, middle, right) = figure(1, 3, figsize=(15, 4.6))
    measured, predicted = result["measured_held_out"], result["model"]["predicted"]
    se = result["measured_held_out_se"]
    independent = result["independent"]
    names = ["Debate", "Indep. plurality"]
    values = [measured["debate_accuracy"], measured["independent_accuracy"]]
    errors = [se["debate_accuracy"], se["independent_accuracy"]]
    preds = [predicted["debate_accuracy"]["mean"], predicted["independent_accuracy"]["mean"]]
    for method in ("SLM-MUX", "Agent Forest", "smollm2 self-consistency",
                   "gemma3 self-consistency"):
        k = independent["matched_k"].get(method)
        row = next((r for r in independent["rows"] if r["method"] == method and r["k"] == k), None)
        if row is None:
            continue
        names.append(f"{method.replace(' self-consistency', ' SC')}\nk={k}")
        values.append(row["accuracy"])
        errors.append(row["se"])
        preds.append(row["predicted"])
    x = np.arange(len(names))
    left.bar(x, 100 * np.array(values), yerr=100 * np.nan_to_num(errors), color="0.7",
             label="measured (held-out)")
    left.plot(x, 100 * np.array(preds), "o", color="C3", label="model prediction")
    left.plot([0], [result["paper"]["A.1 SLMs MATH LLM-Debate"]], **PAPER_MARK,
              label="paper A.1 (MATH, other SLMs)")
    left.set_xticks(x, names, rotation=30, ha="right", fontsize=7)
    left.set_ylabel("accuracy (%)")
    left.set_title("Equal-token comparison")
    left.legend(fontsize=7)
    keys = ["flip_correct_to_wrong", "flip_wrong_to_correct", "lost_correct",
            "final_consensus_on_wrong"]
    x = np.arange(len(keys))
    middle.bar(x, [100 * measured[k] for k in keys],
               yerr=[100 * np.nan_to_num(se.get(k, 0.0)) for k in keys], color="0.7",
               label="measured")
    low = [100 * predicted[k]["predictive90"][0] for k in keys]
    high = [100 * predicted[k]["predictive90"][1] for k in keys]
    mid = [100 * predicted[k]["mean"] for k in keys]
    middle.errorbar(x, mid, yerr=[np.subtract(mid, low), np.subtract(high, mid)], fmt="o",
                    color="C3", label="predicted (90 % predictive)")
    middle.set_xticks(x, [k.replace("_", " ") for k in keys], rotation=30, ha="right",
                      fontsize=7)
    middle.set_ylabel("rate (%)")
    middle.set_title("Held-out groupthink measures")
    middle.legend(fontsize=7)
    sets = [("measured\n(all)", result["failure_labels_all"]),
            ("measured\n(held-out)", result["failure_labels_held_out"]),
            ("predicted\n(held-out)", result["model"]["predicted_failure_labels"])]
    x = np.arange(len(sets))
    bottom = np.zeros(len(sets))
    for kind, color in zip(FAILURE_KINDS, ("C3", "C1", "0.7")):
        heights = np.array([100 * np.nan_to_num(s["shares_of_failures"][kind]) for _, s in sets])
        right.bar(x, heights, bottom=bottom, color=color, label=kind)
        bottom += heights
    right.plot([0], [result["paper"]["A.13 groupthink share of failed debates"]], **PAPER_MARK,
               label="paper A.13 groupthink share")
    right.set_xticks(x, [name for name, _ in sets])
    right.set_ylabel("share of failed debates (%)")
    right.set_title("Failure labels")
    right.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


POOLED_MEASURES = ("debate_accuracy", "independent_accuracy", "flip_correct_to_wrong",
                   "flip_wrong_to_correct", "lost_correct", "final_consensus_on_wrong")


def pool_folds(folds: list[dict]) -> dict[str, Any]:
    """Pool the held-out checks of reports fitted on complementary halves (cross-fitting).

    Each fold's held-out measurement and prediction are weighted by its held-out debates; the
    folds' held-out debates are disjoint, so the pooled measurement's standard error is
    ``sqrt(sum((w * se) ** 2))``. Misses of opposite sign cancel in the pooled difference, so
    the debate-weighted mean of the folds' |measured − predicted| is reported beside it. Flip rates are pooled the same way (a debate-weighted mean of
    the folds' ratio estimates, not the ratio over all debates).

    Args:
      folds: :func:`analyse` results (``result.json``), one per fold.

    Raises:
      UserError: if two folds hold out the same question.

    >>> fold = lambda ids, m, p: {"held_out_question_ids": ids, "held_out_debates": 4,
    ...     "measured_held_out": dict.fromkeys(POOLED_MEASURES, m),
    ...     "measured_held_out_se": dict.fromkeys(POOLED_MEASURES, 0.1),
    ...     "model": {"predicted": {k: {"mean": p} for k in POOLED_MEASURES}}}
    >>> pooled = pool_folds([fold(["a"], 0.2, 0.3), fold(["b"], 0.4, 0.3)])["pooled"]
    >>> [round(pooled["debate_accuracy"][k], 4) for k in ("measured", "se", "predicted")]
    [0.3, 0.0707, 0.3]
    """
    if len(folds) < 2:
        raise UserError("--folds: give at least two result.json files")
    seen: set = set()
    for fold in folds:
        ids = set(fold.get("held_out_question_ids") or ())
        if not ids:
            raise UserError("--folds: a result.json has no held_out_question_ids (rerun the "
                            "report with this version)")
        if ids & seen:
            raise UserError(f"--folds: the folds hold out {len(ids & seen)} question(s) twice; "
                            "give a report and its --swap-halves twin")
        seen |= ids
    debates = np.array([float(fold["held_out_debates"]) for fold in folds])
    weights = debates / debates.sum()
    pooled = {}
    for name in POOLED_MEASURES:
        measured = np.array([fold["measured_held_out"][name] for fold in folds], dtype=float)
        se = np.array([fold["measured_held_out_se"].get(name, math.nan) for fold in folds],
                      dtype=float)  # fmt: skip
        predicted = np.array([fold["model"]["predicted"][name]["mean"] for fold in folds],
                             dtype=float)  # fmt: skip
        pooled[name] = {"measured": float(weights @ measured),
                        "se": float(math.sqrt(float(((weights * se) ** 2).sum()))),
                        "predicted": float(weights @ predicted),
                        "difference": float(weights @ (measured - predicted)),
                        # Opposite fold misses cancel in the pooled difference; this does not.
                        "mean_abs_fold_difference": float(weights @ np.abs(measured - predicted))}

    return {"questions": len(seen), "debates": int(debates.sum()),
            "weights": weights.tolist(), "pooled": pooled}  # fmt: skip


def format_crossfit(folds: list[dict], pooled: dict, names: list[str]) -> str:
    """Markdown: each fold's held-out check and the pooled cross-fit result (percent)."""
    lines = ["# Groupthink model: 2-fold cross-fit of the held-out check", "",
             f"{len(folds)} folds, each fitted on one half and predicting the other; every "
             f"question held out once ({pooled['questions']} questions, {pooled['debates']} "
             "debates). Pooled = debate-weighted mean of the folds; se of the pooled "
             "measurement = sqrt(sum (w·se)²) over disjoint folds. Predicted: posterior mean of "
             "the exact expectation of each fold's main fit. Target |measured − predicted| ≤ 3.",
             "", "| fold | fit/held-out questions | pseudo-count | main variant |",
             "|---|---|---|---|"]  # fmt: skip
    for name, fold in zip(names, folds):
        selection = fold["model"].get("selection") or {}
        smoothing = (fold.get("smoothing") or {}).get("chosen", fold["settings"].get("smoothing"))
        lines.append(f"| {name} | {fold['fit_questions']}/{fold['held_out_questions']} | "
                     f"{smoothing} | {selection.get('name', fold['model'].get('options'))} |")
    header = " | ".join(f"{n}: measured ± se / predicted / |diff|" for n in names)
    lines += ["", f"| measure | {header} | pooled measured ± se | pooled predicted | |diff| | "
              "≤ 3? | mean fold |diff| |", "|---|" + "---|" * (len(folds) + 5)]
    for measure in POOLED_MEASURES:
        cells = []
        for fold in folds:
            m = fold["measured_held_out"][measure]
            p = fold["model"]["predicted"][measure]["mean"]
            cells.append(f"{_pct(m)} ± {_pct(fold['measured_held_out_se'].get(measure))} / "
                         f"{_pct(p)} / {_pct(abs(m - p))}")
        row = pooled["pooled"][measure]
        diff = abs(row["difference"])
        lines.append(f"| {measure} | " + " | ".join(cells) + f" | {_pct(row['measured'])} ± "
                     f"{_pct(row['se'])} | {_pct(row['predicted'])} | {_pct(diff)} | "
                     f"{'yes' if diff <= 0.03 else '**no**'} | "
                     f"{_pct(row['mean_abs_fold_difference'])} |")
    return "\n".join(lines) + "\n"


def run_crossfit(args: argparse.Namespace) -> int:
    """Handler of ``slmmux debate crossfit``: pool two folds' ``result.json``."""
    folds = []
    for path in map(Path, args.folds):
        if not path.is_file():
            raise UserError(f"--folds: {path} does not exist")
        try:
            folds.append(json.loads(path.read_text()))
        except json.JSONDecodeError as error:
            raise UserError(f"--folds: {path} is not JSON ({error})") from None
    pooled = pool_folds(folds)
    names = [("swapped" if fold["settings"].get("swap_halves") else "pre-registered")
             for fold in folds]  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pooled["folds"] = [str(path) for path in args.folds]
    (out / "crossfit.json").write_text(json.dumps(_clean(pooled), indent=2, sort_keys=True) + "\n")
    report = format_crossfit(folds, pooled, names)
    (out / "crossfit.md").write_text(report)
    print(report)
    return 0


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return _clean(value.item())
    return value


def run_live(args: argparse.Namespace) -> int:
    """Handler of ``slmmux debate run``: one discussion per question, resumable."""
    import asyncio

    from slmmux_run.sampling.client import Client

    config = load_config(args.config)
    models = [m.strip() for m in args.agents.split(",") if m.strip()]
    if len(models) < 2:
        raise UserError("--agents needs at least two agents, e.g. smollm2,smollm2,gemma3")
    tasks = tasks_for_models(config, args.task, task_options(args), sorted(set(models)))
    agents = [DiscussionAgent(f"{m}-{i}", m, tasks[m], args.temperature)
              for i, m in enumerate(models)]  # fmt: skip
    store = TranscriptStore(args.transcripts)
    done = store.done_ids()
    items = tasks[models[0]].items

    async def main():
        async with Client(config) as client:
            for item in items:
                discussion_id = f"{args.method}-{item.question_id}-r0"
                if discussion_id in done:
                    continue
                common = dict(discussion_id=discussion_id, seed=args.seed,
                              max_tokens=args.max_tokens)  # fmt: skip
                if args.method == "debate":
                    turns = await run_debate(client, agents, item, rounds=args.rounds,
                                             presentation=args.presentation, **common)
                elif args.method == "moa":
                    turns = await run_mixture_of_agents(client, agents, agents[0], item,
                                                        layers=args.rounds - 1, **common)
                else:
                    turns = await run_verification(client, agents[0], agents[1:], item,
                                                   candidates=args.rounds, **common)
                store.append_discussion(turns)
                answer, correct = final_answer(turns)
                print(f"{discussion_id}: {answer} ({'correct' if correct else 'wrong'}), "
                      f"{spend_of(turns).tokens} tokens", flush=True)

    asyncio.run(main())
    return 0


def report_settings(config: Path) -> dict[str, Any]:
    """:data:`DEFAULT_SETTINGS` overridden by the ``[report]`` table of ``config`` if it exists."""
    settings = dict(DEFAULT_SETTINGS)
    if config.exists():
        try:
            settings.update(tomllib.loads(config.read_text()).get("report", {}))
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"{config}: not valid TOML ({error})") from None
    return settings


def parse_variants(text: str) -> tuple[str, ...]:
    """``--variants`` as a tuple of known :data:`VARIANTS` names.

    >>> parse_variants("state_law, base")
    ('state_law', 'base')
    """
    wanted = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in wanted if v not in VARIANTS]
    if unknown or not wanted:
        raise UserError(f"--variants: unknown variant(s) {unknown}; choose from {list(VARIANTS)}")
    return wanted


def run(args: argparse.Namespace) -> int:
    """Handler of ``slmmux debate report`` and ``slmmux debate run``."""
    if getattr(args, "action", "report") == "run":
        return run_live(args)
    if getattr(args, "action", "report") == "crossfit":
        return run_crossfit(args)
    if getattr(args, "action", "report") in ("predict", "check"):
        from slmmux_run.commands import debate_transfer

        handler = debate_transfer.run_predict if args.action == "predict" else debate_transfer.run_check
        return handler(args)
    transcripts = Path(args.transcripts)
    if not transcripts.exists():
        raise UserError(f"--transcripts {transcripts} does not exist")
    samples = Path(args.samples) if args.samples else transcripts.with_name("samples.jsonl")
    if not samples.exists():
        raise UserError(f"independent samples {samples} do not exist (give --samples)")
    settings = report_settings(Path(args.config) if args.config
                               else transcripts.with_name("config.toml"))
    if args.fit_steps:
        settings["fit_steps"] = args.fit_steps
    if args.draws:
        settings["draws"] = args.draws
    if getattr(args, "swap_halves", False):
        settings["swap_halves"] = True
    if getattr(args, "variants", None):
        settings["variants"] = parse_variants(args.variants)
    turns = TranscriptStore(transcripts).turns()
    records = list(RecordStore(samples).latest().values())
    result = analyse(turns, records, settings, tuple(args.models.split(",")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(_clean(result), indent=2, sort_keys=True) + "\n")
    report = format_report(result)
    (out / "report.md").write_text(report)
    plot(result, out / "figure.png")
    print(report)
    return 0
