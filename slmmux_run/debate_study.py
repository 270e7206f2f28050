"""The debate study as library functions: read transcripts and samples, call the theory, return results.

Runner layer (glue, no computation of its own): every measure, fit, prediction and check comes
from :mod:`slmmux_theory.discussion`; this module reads files, builds slot arrays
(:func:`~slmmux_run.sampling.discussion.transcript_slots`,
:func:`~slmmux_run.sampling.discussion_samples.sample_slot_probs`), splits questions, and
assembles JSON-ready result dicts. One function per action of ``slmmux debate``:

* :func:`report` (``debate report``): fit on a seeded half of the questions, predict the other
  half, compare debate with SLM-MUX, Agent Forest and single models at equal tokens
  (:func:`analyse` on loaded data);
* :func:`crossfit` (``debate crossfit``): pool two reports fitted on complementary halves;
* :func:`predict` (``debate predict``): a frozen prediction for new questions from their
  independent samples only (:func:`predict_new_questions` on loaded data);
* :func:`check` (``debate check``): new debates against a frozen prediction, never refitting
  (:func:`check_prediction` on loaded data);
* ``debate run`` (live discussions against served models) is :mod:`slmmux_run.debate_live`.

:mod:`slmmux_run.debate_report` formats the results; the command only parses and prints.

Example:
  >>> fit, held = split_questions(["a", "b", "c", "d"], 0.5, 0)
  >>> sorted(fit + held), len(fit)
  (['a', 'b', 'c', 'd'], 2)
"""

from __future__ import annotations

import hashlib
import math
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from slmmux_run.data.papers import reference_value
from slmmux_run.data.record_samples import load_records
from slmmux_run.data.text_files import read_text
from slmmux_run.debate_files import FOLD_FIELDS, existing, latest_records, load_json_object
from slmmux_run.errors import UserError
from slmmux_run.sampling.discussion import Turn, final_answer, spend_of, transcript_slots
from slmmux_run.sampling.discussion_files import load_turns
from slmmux_run.sampling.discussion_samples import (
    complete_discussions, golds_of, sample_answers, sample_slot_probs,
)
from slmmux_theory.discussion import checks, prediction, variants
from slmmux_theory.discussion.independent import (
    independent_comparison, round_one_correct_probability,
)
from slmmux_theory.discussion.measures import (
    classify_failures, failure_label_shares, groupthink_measures, measure_values,
)
from slmmux_theory.discussion.standard_errors import per_debate_standard_errors
from slmmux_theory.engines.replay import mean_and_standard_error

__all__ = [
    "DEFAULT_SETTINGS",
    "MODELS",
    "analyse",
    "check",
    "check_prediction",
    "choose_smoothing",
    "clean",
    "crossfit",
    "fit_studies",
    "halves",
    "parse_variants",
    "pool_folds",
    "predict",
    "predict_new_questions",
    "report",
    "report_settings",
    "samples_beside",
    "split_questions",
]

DEFAULT_SETTINGS = {"fit_fraction": 0.5, "split_seed": 0, "max_answers": 7, "fit_steps": 2000,
                    "draws": 200, "simulated_debates": 100, "fit_seed": 0,
                    "recognition": True, "revision": False, "private_law": False,
                    "private_law_by_group": False, "select_on_fit_half": False,
                    "variant_draws": 40,
                    "smoothing": 0.5, "smoothing_grid": None, "swap_halves": False,
                    "comparison_samples": None}  # fmt: skip
"""The ``[report]`` settings of a study config, and their defaults."""
MODELS = ("smollm2", "gemma3")
PREFIX_STEP = 20  # frozen predictions are stored for the first 20, 40, ... new questions


# Settings and question splits


def report_settings(config: Path, named: bool = False) -> dict[str, Any]:
    """:data:`DEFAULT_SETTINGS` overridden by the ``[report]`` table of ``config`` if it exists
    (``named``: given as ``--config``, so it must exist and hold the table)."""
    settings = dict(DEFAULT_SETTINGS)
    if config.exists() or named:
        try:
            table = tomllib.loads(read_text(config, "--config")).get("report")
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"{config}: not valid TOML ({error})") from None
        if not isinstance(table, dict) and (named or table is not None):
            raise UserError(f"--config {config}: no [report] table of study settings")
        settings.update(table or {})
    return settings


def parse_variants(text: str) -> tuple[str, ...]:
    """``--variants`` as a tuple of known :data:`~slmmux_theory.discussion.variants.VARIANTS` names.

    >>> parse_variants("state_law, base")
    ('state_law', 'base')
    """
    wanted = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in wanted if v not in variants.VARIANTS]
    if unknown or not wanted:
        raise UserError(f"--variants: unknown variant(s) {unknown}; choose from "
                        f"{list(variants.VARIANTS)}")
    return wanted


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

    Builds the slots at every value of ``settings["smoothing_grid"]`` (or just
    ``settings["smoothing"]``) and lets :func:`slmmux_theory.discussion.variants.choose_smoothing`
    choose on the fit half only (the held-out half never enters).

    Returns:
      (slots at the chosen value, {"chosen", "rows"}), all on the fit half.
    """
    grid = settings.get("smoothing_grid")
    values = [float(v) for v in grid] if grid else [float(settings["smoothing"])]
    candidates, slots_of = [], {}
    for value in values:
        slots = transcript_slots(debate_turns, samples=answers_by_key,
                                 max_answers=int(settings["max_answers"]), smoothing=value)
        fit_ids, _ = halves(slots.question_ids, settings)
        fit_rows = np.array([q in set(fit_ids) for q in slots.question_ids])
        candidates.append((value, np.asarray(slots.probs)[fit_rows],
                           np.asarray(slots.answers)[fit_rows]))
        slots_of[value] = slots
    choice = variants.choose_smoothing(candidates, int(settings["max_answers"]))
    return slots_of[choice["chosen"]], choice


def _agent_models(debate_turns: Sequence[Turn]) -> list[str]:
    """Model of each agent of the first debate, in agent order."""
    first = sorted((t for t in debate_turns if t.round == 1 and t.discussion_id ==
                    debate_turns[0].discussion_id), key=lambda t: t.agent)  # fmt: skip
    return [t.model for t in first]


# The report (held-out check and equal-token comparison)


def analyse(turns: list[Turn], sample_records, settings: dict, models=MODELS,
            on_phase: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Everything the report shows, as JSON-ready values.

    Args:
      turns: all stored turns (debates, and MoA/MAV if any).
      sample_records: the independent samples' records (latest per key).
      settings: :data:`DEFAULT_SETTINGS` overridden by the config's ``[report]`` table.
      models: the models of the independent samples, in SLM-MUX tie order.
      on_phase: called with a short status at each phase (e.g. ``Progress.advance``'s status).
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
    held_answers = slots.answers[held_rows]
    measured = measure_values(groupthink_measures(held_answers, slots.num_answers))
    measured_se = per_debate_standard_errors(held_answers, slots.num_answers)
    # Revision-law shifts are shared by agents of one model (group = model, in agent order).
    agent_groups = variants.agent_groups_of(_agent_models(debate_turns))
    model = prediction.fit_and_predict(slots.answers, slots.probs, slots.num_answers,
                                       np.flatnonzero(fit_rows), np.flatnonzero(held_rows),
                                       rounds, settings, agent_groups, on_phase)  # fmt: skip
    if on_phase is not None:
        on_phase("comparison with independent sampling")
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
        "failure_labels_all": failure_label_shares(all_labels),
        "failure_labels_held_out": failure_label_shares(all_labels[held_rows]),
        "other_methods": {m: {k: v for k, v in s.items() if k != "questions"} | {
            "questions": len(s["questions"])} for m, s in others.items()},
        "paper": _paper_references(),
    }


def _independent_rows(sample_records, models, fit_ids, held_ids, debate_tokens) -> dict[str, Any]:
    """SLM-MUX, Agent Forest and single models on the held-out questions, every k.

    The accuracies are the theory's
    (:func:`slmmux_theory.discussion.independent.independent_comparison`); this adds the token
    bookkeeping and the k whose tokens match the debate's.
    """
    records = [r for r in sample_records if r.model in models]
    record_set = load_records(records, None, list(models))
    sample_set = record_set.sample_set
    index = {q: i for i, q in enumerate(sample_set.question_ids)}
    fit_q = np.array([index[q] for q in fit_ids if q in index], dtype=int)
    held_q = [index[q] for q in held_ids if q in index]
    try:
        comparison = independent_comparison(sample_set.samples, sample_set.num_answers, fit_q,
                                            held_q)  # fmt: skip
    except ValueError as error:
        raise UserError(str(error)) from None
    _, tokens = sample_answers(records)
    per_model = {m: float(np.mean([np.mean(tokens[(q, m)]) for q in held_ids
                                   if (q, m) in tokens])) for m in models}  # fmt: skip
    rows = []
    for row in comparison.rows:
        used = models if row.model is None else (models[row.model],)
        name = (_METHOD_NAMES[row.rule] if row.model is None
                else f"{models[row.model]} self-consistency")
        rows.append({"method": name, "k": row.k, "accuracy": row.accuracy, "se": row.se,
                     "questions": row.questions, "predicted": row.predicted,
                     "tokens_per_question": row.k * sum(per_model[m] for m in used),
                     "calls_per_question": row.k * len(used)})  # fmt: skip
    matched = {}
    for name in {row["method"] for row in rows}:
        options = [row for row in rows if row["method"] == name]
        matched[name] = min(options, key=lambda row: abs(row["tokens_per_question"]
                                                          - debate_tokens))["k"]
    return {"rows": rows, "matched_k": matched, "tokens_per_sample": per_model,
            "validation_accuracy": dict(zip(models, map(float, comparison.validation))),
            "k_max": comparison.k_max}  # fmt: skip


_METHOD_NAMES = {"slm-mux": "SLM-MUX", "agent-forest": "Agent Forest"}


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


def pool_folds(folds: list[dict]) -> dict[str, Any]:
    """:func:`slmmux_theory.discussion.checks.pool_folds`, its errors as :class:`UserError`."""
    try:
        return checks.pool_folds(folds)
    except ValueError as error:
        raise UserError(str(error)) from None
    except (KeyError, TypeError, AttributeError) as error:  # a field of the wrong shape
        raise UserError(f"--folds: a result.json has a malformed field ({error!r})") from None


# Transfer: frozen prediction for new questions, then its check


def _prefixes(count: int) -> list[int]:
    sizes = list(range(PREFIX_STEP, count, PREFIX_STEP))
    return sizes + [count]


def predict_new_questions(fit_turns, fit_records, target_records, settings: dict,
                          debates_per_question: int) -> dict[str, Any]:  # fmt: skip
    """Fit on every debate of ``fit_turns``; predict debates on the target questions.

    The pseudo-count and the model variant are chosen on the fit study exactly as the report
    chooses them on its fit half, here with every fit question.

    Args:
      fit_turns: transcripts of the fitted study (debates used).
      fit_records: independent samples of the fitted study.
      target_records: independent samples on the new questions (no debate is read).
      settings: the report settings (``[report]`` of the study's config).
      debates_per_question: debates planned per new question (the simulated predictive
        interval uses it).

    Returns:
      JSON-ready dict: choices, fitted parameters, and per question prefix the predicted mean,
      the 90 % posterior interval and the 90 % predictive interval of every measure.
    """
    all_in = settings | {"fit_fraction": 1.0, "swap_halves": False}
    debates = complete_discussions(fit_turns, "debate")
    if len(debates) < 4:
        raise UserError(f"need at least 4 complete debates to fit, found {len(debates)}")
    debate_turns = [t for group in debates.values() for t in group]
    fit_answers, _ = sample_answers(fit_records)
    slots, smoothing = choose_smoothing(debate_turns, fit_answers, all_in)
    agent_models = _agent_models(debate_turns)
    target_answers, _ = sample_answers(target_records)
    golds = golds_of(target_records)
    every = sorted({q for q, _ in target_answers})
    # A question some agent's model has no sample on cannot be predicted; it is listed, not
    # guessed (the check then never uses it).
    question_ids = [q for q in every if all(target_answers.get((q, m)) for m in agent_models)]
    skipped = [q for q in every if q not in set(question_ids)]
    if not question_ids:
        raise UserError("no target question has independent samples of every agent's model "
                        f"{sorted(set(agent_models))}")
    target_probs = sample_slot_probs(target_answers, golds, question_ids, agent_models,
                                     slots.num_answers, smoothing["chosen"])  # fmt: skip
    sizes = _prefixes(len(question_ids))
    fitted = prediction.predict_new_questions(
        slots.answers, slots.probs, slots.num_answers, variants.agent_groups_of(agent_models),
        settings, target_probs, sizes, debates_per_question)  # fmt: skip
    return {
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
        "fit_debates": len(debates),
        "fit_questions": len(set(slots.question_ids)),
        "fit_measured": fitted["fit_measured"],
        "smoothing": smoothing,
        "selection": fitted["selection"],
        "variants": fitted["variants"],
        "options": fitted["options"],
        "agent_models": agent_models,
        "rounds": fitted["rounds"],
        "num_answers": int(slots.num_answers),
        "fit_seconds": fitted["fit_seconds"],
        "parameters": fitted["parameters"],
        "private_law": fitted["private_law"],
        "debates_per_question": debates_per_question,
        "target_questions": len(question_ids),
        "skipped_questions": skipped,
        "target_round_one_probability_correct":
            round_one_correct_probability(target_probs).tolist(),
        "predictions": {str(size): {"question_ids": question_ids[:size],
                                    "measures": fitted["predictions"][str(size)]}
                        for size in sizes},
    }  # fmt: skip


def check_prediction(frozen: dict, turns, target_records, tolerance: float = 0.03
                     ) -> dict[str, Any]:  # fmt: skip
    """Measured against a frozen prediction on the largest fully debated prefix.

    A question counts as debated when it has at least ``frozen["debates_per_question"]``
    complete debates; only that many (the first, by discussion id) are used per question.

    Returns:
      JSON-ready dict: the prefix used, debates, and per measure measured, se (per debate and
      clustered by question), predicted mean and intervals, |diff| and ``within``.
    """
    wanted = int(frozen["debates_per_question"])
    debates = complete_discussions(turns, "debate")
    per_question: dict[str, list[str]] = {}
    for discussion_id in sorted(debates):
        per_question.setdefault(debates[discussion_id][0].question_id, []).append(discussion_id)
    sizes = sorted(frozen["predictions"], key=int, reverse=True)
    chosen = None
    for size in sizes:
        ids = frozen["predictions"][size]["question_ids"]
        if all(len(per_question.get(q, ())) >= wanted for q in ids):
            chosen = size
            break
    if chosen is None:
        done = sum(len(v) >= wanted for v in per_question.values())
        raise UserError(f"no predicted question prefix is fully debated ({done} questions have "
                        f"{wanted} complete debates; the smallest prefix needs "
                        f"{min(map(int, sizes))})")
    ids = frozen["predictions"][chosen]["question_ids"]
    used = [d for q in ids for d in per_question[q][:wanted]]
    debate_turns = [t for d in used for t in debates[d]]
    answers_by_key, _ = sample_answers(target_records)
    slots = transcript_slots(debate_turns, samples=answers_by_key,
                             agent_models=frozen["agent_models"],
                             max_answers=int(frozen["num_answers"]),
                             smoothing=float(frozen["smoothing"]["chosen"]))  # fmt: skip
    checked = checks.check_against_prediction(
        np.asarray(slots.answers), slots.num_answers, slots.question_ids,
        frozen["predictions"][chosen]["measures"], tolerance)  # fmt: skip
    return {"prefix": int(chosen), "questions": len(ids), "debates": len(used),
            "debates_per_question": wanted, "tolerance": tolerance} | checked


# Files in, result dicts out (one per action)


def samples_beside(transcripts: Path) -> Path:
    """The independent samples stored beside a transcripts file: ``samples.jsonl`` if it
    exists, else ``samples.jsonl.gz`` if that exists, else ``samples.jsonl`` (named in the
    error about the missing file).

    >>> samples_beside(Path("/no/such/study/transcripts.jsonl.gz")).name
    'samples.jsonl'
    """
    plain = Path(transcripts).with_name("samples.jsonl")
    compressed = plain.with_name("samples.jsonl.gz")
    return compressed if not plain.exists() and compressed.exists() else plain


def report(transcripts, samples=None, config=None, *, models: Sequence[str] = MODELS,
           fit_steps: int | None = None, draws: int | None = None, swap_halves: bool = False,
           variant_names: str | None = None,
           on_phase: Callable[[str], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """``slmmux debate report`` as a function: the report's result (:func:`analyse`).

    Args:
      transcripts: debate transcripts (JSONL, or ``.jsonl.gz``).
      samples: independent samples (default :func:`samples_beside` the transcripts:
        ``samples.jsonl``, else ``samples.jsonl.gz``).
      config: TOML with a ``[report]`` table (default ``config.toml`` beside the transcripts).
      models: models of the independent samples, in SLM-MUX tie order.
      fit_steps / draws: overrides of the settings.
      swap_halves: fit on the complementary half (second fold of a cross-fit).
      variant_names: comma-separated variants to fit and compare (default all).
      on_phase: called with a short status at each phase of the fit (progress).
    """
    transcripts = Path(transcripts)
    if not transcripts.exists():
        raise UserError(f"--transcripts {transcripts} does not exist")
    samples = Path(samples) if samples else samples_beside(transcripts)
    if not samples.exists():
        raise UserError(f"independent samples {samples} do not exist (give --samples)")
    settings = report_settings(Path(config) if config else transcripts.with_name("config.toml"),
                               named=bool(config))
    if fit_steps:
        settings["fit_steps"] = fit_steps
    if draws:
        settings["draws"] = draws
    if swap_halves:
        settings["swap_halves"] = True
    if variant_names:
        settings["variants"] = parse_variants(variant_names)
    records = latest_records(samples, models)  # --models checked before any fit
    return analyse(load_turns(transcripts), records, settings, tuple(models), on_phase)


def crossfit(fold_paths: Sequence[str]) -> tuple[list[dict], dict[str, Any], list[str]]:
    """``slmmux debate crossfit`` as a function: (folds, pooled result, fold names)."""
    folds = [load_json_object(path, "--folds", FOLD_FIELDS) for path in fold_paths]
    pooled = pool_folds(folds)
    names = [("swapped" if fold["settings"].get("swap_halves") else "pre-registered")
             for fold in folds]  # fmt: skip
    pooled["folds"] = [str(path) for path in fold_paths]
    return folds, pooled, names


def fit_studies(transcripts_args, samples_args) -> list[tuple[Path, Path]]:
    """(transcripts, samples) of every fitted study; samples default to the sibling file
    (:func:`samples_beside`)."""
    transcripts = [existing(t, "--transcripts") for t in transcripts_args]
    if samples_args and len(samples_args) != len(transcripts):
        raise UserError(f"--samples: give one file per --transcripts file ({len(transcripts)}), "
                        f"got {len(samples_args)}")
    samples = ([existing(s, "--samples") for s in samples_args] if samples_args else
               [existing(samples_beside(t), "--samples") for t in transcripts])
    return list(zip(transcripts, samples))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def predict(transcripts: Sequence[str], target_samples, samples: Sequence[str] | None = None,
            config=None, *, debates_per_question: int = 2, variant_names: str | None = None,
            fit_steps: int | None = None, draws: int | None = None) -> dict[str, Any]:  # fmt: skip
    """``slmmux debate predict`` as a function: the frozen prediction (with its inputs' hashes)."""
    studies = fit_studies(transcripts, samples)
    target = existing(target_samples, "--target-samples")
    settings = report_settings(Path(config) if config else studies[0][0].with_name("config.toml"),
                               named=bool(config))
    if fit_steps:
        settings["fit_steps"] = fit_steps
    if draws:
        settings["draws"] = draws
    if variant_names:
        settings["variants"] = parse_variants(variant_names)
    fit_turns = [t for path, _ in studies for t in load_turns(path)]
    fit_records = [r for _, path in studies for r in latest_records(path)]
    target_records = latest_records(target, flag="--target-samples")
    result = predict_new_questions(fit_turns, fit_records, target_records, settings,
                                   debates_per_question)  # fmt: skip
    result["inputs"] = {
        "fit_transcripts": [{"path": str(t), "sha256": _sha256(t)} for t, _ in studies],
        "fit_samples": [{"path": str(s), "sha256": _sha256(s)} for _, s in studies],
        "target_samples": {"path": str(target), "sha256": _sha256(target)},
        "written_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    return result


def load_prediction(path) -> dict[str, Any]:
    """A frozen ``prediction.json``, its required fields checked (errors name the file)."""
    return load_json_object(path, "--prediction", ("predictions", "debates_per_question",
                                                    "agent_models", "num_answers", "smoothing"))


def check(prediction_path, transcripts, samples=None, *, tolerance: float = 0.03
          ) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    """``slmmux debate check`` as a function: (frozen prediction, check result); never refits.

    Args:
      prediction_path: ``prediction.json`` of :func:`predict`.
      transcripts: the new debates.
      samples: independent samples on the new questions (default :func:`samples_beside` the
        transcripts: ``samples.jsonl``, else ``samples.jsonl.gz``).
      tolerance: target |measured − predicted| (a fraction, 0.03 = 3 points).
    """
    frozen = load_prediction(prediction_path)
    turns = load_turns(transcripts)  # before the samples beside it: its errors come first
    records = latest_records(samples or samples_beside(Path(transcripts)))
    checked = check_prediction(frozen, turns, records, tolerance)
    return frozen, checked


def clean(value):
    """JSON-ready copy: NaN -> None, NumPy scalars -> Python, tuples -> lists, keys -> str."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return clean(value.item())
    return value
