"""``slmmux debate predict`` / ``check``: a frozen prediction for NEW questions, then its check.

The held-out half of one question set can only test the groupthink model on questions of the
set it was fitted on, and the ``easy`` arithmetic preset has only 81 questions. This is the
transfer test: fit the conformity parameters on every debate of one study, then, from nothing
but the independent samples of the same agents' models on **new** questions, predict what
debates on those questions will show; write the prediction to a file (``prediction.json``) that
is committed before the new debates are analysed. ``check`` reads that file (it never refits)
and the new transcripts and reports measured against predicted.

Predictions are stored for prefixes of the target questions (first 20, 40, ... in question-id
order, and all), so a debate run that stopped early is checked on the largest prefix it
completed, against the prediction made for exactly those questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from slmmux_run.commands import debate as report
from slmmux_run.sampling.discussion import TranscriptStore, transcript_slots
from slmmux_theory.discussion.measures import classify_failures
from slmmux_run.errors import UserError
from slmmux_run.data.records import RecordStore

__all__ = [
    "CHECKED_MEASURES",
    "check_prediction",
    "predict_new_questions",
    "register_actions",
    "run_check",
    "run_predict",
    "sample_slot_probs",
]

# The issue's target measures (debate accuracy and the flip rates) and the other held-out ones.
CHECKED_MEASURES = ("debate_accuracy", "independent_accuracy", "flip_correct_to_wrong",
                    "flip_wrong_to_correct", "lost_correct", "final_consensus_on_wrong")
PREFIX_STEP = 20


def sample_slot_probs(answers_by_key, golds: dict, question_ids, agent_models,
                      max_answers: int, smoothing: float) -> np.ndarray:  # fmt: skip
    """Each agent's answer distribution on each question, from independent samples only.

    The slot layout follows :func:`slmmux_run.sampling.discussion.transcript_slots` without debates:
    slot 0 is the gold answer, wrong answers get slots 1.. by total frequency over the agents'
    models' samples (first appearance breaks ties; beyond ``max_answers - 2`` the rarer ones
    share the last wrong slot), the last slot is ⊥; ``smoothing`` is added to every slot seen
    in the question's samples and to the correct slot.

    Args:
      answers_by_key: ``(question_id, model) -> list of answers`` (None for ⊥).
      golds: ``question_id -> gold answer string``.
      question_ids: the questions, length Q.
      agent_models: model of each agent, length N.
      max_answers: A.
      smoothing: pseudo-count.

    Returns:
      probs, shape [Q, N, A].

    Example:
      >>> p = sample_slot_probs({("q", "m"): ["2", "3", None, "3"]}, {"q": "2"}, ["q"], ["m"],
      ...                       4, 0.0)
      >>> p[0, 0].tolist()
      [0.25, 0.5, 0.0, 0.25]
    """
    if max_answers < 3:
        raise ValueError("max_answers must be >= 3 (correct, one wrong, ⊥)")
    bottom = max_answers - 1
    models = list(dict.fromkeys(agent_models))
    probs = np.zeros((len(question_ids), len(agent_models), max_answers))
    for q, question in enumerate(question_ids):
        gold = golds[question]
        own = {m: list(answers_by_key.get((question, m), ())) for m in models}
        missing = [m for m in models if not own[m]]
        if missing:
            raise UserError(f"no independent samples of model(s) {missing} on question {question!r}")
        wrong = Counter(a for m in models for a in own[m] if a is not None and a != gold)
        order = sorted(wrong, key=lambda a: -wrong[a])
        slot_of = {a: min(1 + i, bottom - 1) for i, a in enumerate(order)}
        seen = np.zeros(max_answers, dtype=bool)
        per_model = {}
        for m in models:
            counts = np.zeros(max_answers)
            for a in own[m]:
                counts[bottom if a is None else 0 if a == gold else slot_of[a]] += 1
            per_model[m] = counts
            seen |= counts > 0
        seen[0] = True
        for i, m in enumerate(agent_models):
            counts = per_model[m] + smoothing * seen
            probs[q, i] = counts / counts.sum()
    return probs


def _golds(records) -> dict[str, str]:
    golds = {}
    for record in records:
        gold = (record.extra or {}).get("gold")
        if gold is not None:
            golds.setdefault(record.question_id, str(gold))
    return golds


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _prefixes(count: int) -> list[int]:
    sizes = list(range(PREFIX_STEP, count, PREFIX_STEP))
    return sizes + [count]


def predict_new_questions(fit_turns, fit_records, target_records, settings: dict,
                          debates_per_question: int) -> dict[str, Any]:  # fmt: skip
    """Fit on every debate of ``fit_turns``; predict debates on the target questions.

    The pseudo-count and the model variant are chosen on the fit study exactly as the report
    chooses them on its fit half (:func:`~slmmux_run.commands.debate.choose_smoothing`,
    :func:`~slmmux_run.commands.debate.select_variant`), here with every fit question.

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
    from slmmux_theory.discussion.measures import groupthink_measures
    from slmmux_theory.discussion.fit import fit_svi, posterior_predictive_simulated

    all_in = settings | {"fit_fraction": 1.0, "swap_halves": False}
    debates = report.complete_discussions(fit_turns, "debate")
    if len(debates) < 4:
        raise UserError(f"need at least 4 complete debates to fit, found {len(debates)}")
    debate_turns = [t for group in debates.values() for t in group]
    fit_answers, _ = report.sample_answers(fit_records)
    slots, smoothing = report.choose_smoothing(debate_turns, fit_answers, all_in)
    first = sorted((t for t in debate_turns if t.round == 1
                    and t.discussion_id == debate_turns[0].discussion_id), key=lambda t: t.agent)
    agent_models = [t.model for t in first]
    names = list(dict.fromkeys(agent_models))
    agent_groups = tuple(names.index(m) for m in agent_models)
    rounds = slots.answers.shape[1]
    answers, probs = jnp.asarray(slots.answers), jnp.asarray(slots.probs)
    measured_fit = report._measure_dict(groupthink_measures(answers, slots.num_answers))
    key = jax.random.PRNGKey(int(settings["fit_seed"]))
    fit_key, sim_key = jax.random.split(key)
    wanted = settings.get("variants") or tuple(report.VARIANTS)
    variants = {}
    for name in (n for n in report.VARIANTS if n in wanted):
        options = report._with_groups(dict(report.VARIANTS[name]), agent_groups)
        posterior = fit_svi(fit_key, answers, probs, num_steps=int(settings["fit_steps"]),
                            num_draws=int(settings["variant_draws"]), presentation="index",
                            **options)  # fmt: skip
        in_sample = report._exact_draws(posterior, probs, rounds)
        variants[name] = {"fit_half": {k: float(np.nanmean(v)) for k, v in in_sample.items()}}
    selection = report.select_variant(variants, measured_fit)
    options = report._with_groups(dict(report.VARIANTS[selection["name"]]), agent_groups)
    started = time.perf_counter()
    posterior = fit_svi(fit_key, answers, probs, num_steps=int(settings["fit_steps"]),
                        num_draws=int(settings["draws"]), presentation="index", **options)
    fit_seconds = time.perf_counter() - started

    target_answers, _ = report.sample_answers(target_records)
    golds = _golds(target_records)
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
    predictions = {}
    for size in _prefixes(len(question_ids)):
        part = jnp.asarray(target_probs[:size])
        exact = report._exact_draws(posterior, part, rounds)
        simulated = posterior_predictive_simulated(sim_key, posterior, part, rounds,
                                                   debates_per_question)  # fmt: skip
        rows = report.prediction_summary(exact, simulated)
        predictions[str(size)] = {"question_ids": question_ids[:size], "measures": rows}
    return {
        "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()},
        "fit_debates": len(debates),
        "fit_questions": len(set(slots.question_ids)),
        "fit_measured": measured_fit,
        "smoothing": smoothing,
        "selection": selection,
        "variants": variants,
        "options": {k: v for k, v in options.items() if k != "agent_groups"},
        "agent_models": agent_models,
        "rounds": int(rounds),
        "num_answers": int(slots.num_answers),
        "fit_seconds": fit_seconds,
        "parameters": report._parameter_summary(posterior),
        "private_law": report._private_law_summary(posterior),
        "debates_per_question": debates_per_question,
        "target_questions": len(question_ids),
        "skipped_questions": skipped,
        "target_round_one_probability_correct": np.asarray(target_probs[:, :, 0].mean(0)).tolist(),
        "predictions": predictions,
    }


def _clustered_se(answers, num_answers, question_ids, measure: str) -> float:
    """Standard error of a pooled rate with debates clustered by question (ratio estimator)."""
    from slmmux_theory.discussion.measures import groupthink_measures

    by_question: dict[str, list[int]] = {}
    for d, q in enumerate(question_ids):
        by_question.setdefault(q, []).append(d)
    events, chances = [], []
    for rows in by_question.values():
        m = groupthink_measures(answers[np.array(rows)], num_answers)
        if measure.startswith("flip_"):
            rate = getattr(m.flips, measure[len("flip_"):])
        else:
            rate = getattr(m, measure)
        events.append(float(rate.events))
        chances.append(float(rate.opportunities))
    return report.ratio_standard_error(events, chances)


def check_prediction(prediction: dict, turns, target_records, tolerance: float = 0.03
                     ) -> dict[str, Any]:  # fmt: skip
    """Measured against a frozen prediction on the largest fully debated prefix.

    A question counts as debated when it has at least ``prediction["debates_per_question"]``
    complete debates; only that many (the first, by discussion id) are used per question.

    Returns:
      JSON-ready dict: the prefix used, debates, and per measure measured, se (per debate and
      clustered by question), predicted mean and intervals, |diff| and ``within``.
    """
    from slmmux_theory.discussion.measures import groupthink_measures

    wanted = int(prediction["debates_per_question"])
    debates = report.complete_discussions(turns, "debate")
    per_question: dict[str, list[str]] = {}
    for discussion_id in sorted(debates):
        per_question.setdefault(debates[discussion_id][0].question_id, []).append(discussion_id)
    sizes = sorted(prediction["predictions"], key=int, reverse=True)
    chosen = None
    for size in sizes:
        ids = prediction["predictions"][size]["question_ids"]
        if all(len(per_question.get(q, ())) >= wanted for q in ids):
            chosen = size
            break
    if chosen is None:
        done = sum(len(v) >= wanted for v in per_question.values())
        raise UserError(f"no predicted question prefix is fully debated ({done} questions have "
                        f"{wanted} complete debates; the smallest prefix needs "
                        f"{min(map(int, sizes))})")
    ids = prediction["predictions"][chosen]["question_ids"]
    used = [d for q in ids for d in per_question[q][:wanted]]
    debate_turns = [t for d in used for t in debates[d]]
    answers_by_key, _ = report.sample_answers(target_records)
    slots = transcript_slots(debate_turns, samples=answers_by_key,
                             agent_models=prediction["agent_models"],
                             max_answers=int(prediction["num_answers"]),
                             smoothing=float(prediction["smoothing"]["chosen"]))  # fmt: skip
    answers = np.asarray(slots.answers)
    measured = report._measure_dict(groupthink_measures(answers, slots.num_answers))
    se = report._standard_errors(answers, slots.num_answers)
    rows = {}
    for measure in CHECKED_MEASURES:
        predicted = prediction["predictions"][chosen]["measures"][measure]
        diff = abs(measured[measure] - predicted["mean"])
        low, high = predicted["predictive90"]
        rows[measure] = {
            "measured": measured[measure], "se": se[measure],
            "se_clustered": _clustered_se(answers, slots.num_answers, slots.question_ids, measure),
            "predicted": predicted["mean"], "interval90": predicted["interval90"],
            "predictive90": predicted["predictive90"], "abs_diff": diff,
            "within_tolerance": bool(diff <= tolerance),
            "inside_predictive90": bool(low <= measured[measure] <= high),
        }  # fmt: skip
    return {"prefix": int(chosen), "questions": len(ids), "debates": len(used),
            "debates_per_question": wanted, "tolerance": tolerance, "rows": rows,
            "failure_labels": report._label_shares(
                classify_failures(answers, slots.num_answers))}  # fmt: skip


def _existing(path: str, flag: str) -> Path:
    found = Path(path)
    if not found.exists():
        raise UserError(f"{flag} {found} does not exist")
    return found


def _fit_studies(transcripts_args, samples_args) -> list[tuple[Path, Path]]:
    """(transcripts, samples) of every fitted study; samples default to the sibling file."""
    transcripts = [_existing(t, "--transcripts") for t in transcripts_args]
    if samples_args and len(samples_args) != len(transcripts):
        raise UserError(f"--samples: give one file per --transcripts file ({len(transcripts)}), "
                        f"got {len(samples_args)}")
    samples = ([_existing(s, "--samples") for s in samples_args] if samples_args else
               [_existing(str(t.with_name("samples.jsonl")), "--samples") for t in transcripts])
    return list(zip(transcripts, samples))


def run_predict(args: argparse.Namespace) -> int:
    """Handler of ``slmmux debate predict``."""
    studies = _fit_studies(args.transcripts, args.samples)
    target = _existing(args.target_samples, "--target-samples")
    config = Path(args.config) if args.config else studies[0][0].with_name("config.toml")
    settings = report.report_settings(config)
    if args.fit_steps:
        settings["fit_steps"] = args.fit_steps
    if args.draws:
        settings["draws"] = args.draws
    if args.variants:
        settings["variants"] = report.parse_variants(args.variants)
    fit_turns = [t for transcripts, _ in studies for t in TranscriptStore(transcripts).turns()]
    fit_records = [r for _, samples in studies for r in RecordStore(samples).latest().values()]
    result = predict_new_questions(fit_turns, fit_records,
                                   list(RecordStore(target).latest().values()), settings,
                                   args.debates_per_question)  # fmt: skip
    result["inputs"] = {
        "fit_transcripts": [{"path": str(t), "sha256": _sha256(t)} for t, _ in studies],
        "fit_samples": [{"path": str(s), "sha256": _sha256(s)} for _, s in studies],
        "target_samples": {"path": str(target), "sha256": _sha256(target)},
        "written_at_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report._clean(result), indent=2, sort_keys=True) + "\n"
    (out / "prediction.json").write_text(text)
    summary = result["predictions"][str(result["target_questions"])]["measures"]
    lines = [f"prediction for {result['target_questions']} new questions, "
             f"{args.debates_per_question} debates each (variant {result['selection']['name']}, "
             f"pseudo-count {result['smoothing']['chosen']}, fitted on {result['fit_debates']} "
             f"debates / {result['fit_questions']} questions)"]
    for measure in CHECKED_MEASURES:
        row = summary[measure]
        lines.append(f"  {measure:26s} {100 * row['mean']:5.1f}  90% predictive "
                     f"[{100 * row['predictive90'][0]:.1f}, {100 * row['predictive90'][1]:.1f}]")
    print("\n".join(lines))
    return 0


def format_check(prediction: dict, checked: dict) -> str:
    """Markdown table of measured vs predicted (percentage points)."""
    lines = [
        "# Transfer check: frozen prediction vs new debates", "",
        f"Fitted on {prediction['fit_debates']} debates / {prediction['fit_questions']} questions "
        f"(variant {prediction['selection']['name']}, pseudo-count "
        f"{prediction['smoothing']['chosen']}); prediction written "
        f"{prediction.get('inputs', {}).get('written_at_utc', '?')} from the new questions' "
        "independent samples only.",
        f"Checked on the first {checked['questions']} new questions, {checked['debates']} debates "
        f"({checked['debates_per_question']} per question). Target: |diff| <= "
        f"{100 * checked['tolerance']:.0f} points.", "",
        "| measure | measured ± se (clustered se) | predicted | 90 % posterior | 90 % predictive "
        "| abs diff | within target |",
        "|---|---|---|---|---|---|---|",
    ]
    for measure, row in checked["rows"].items():
        lines.append(
            f"| {measure} | {100 * row['measured']:.1f} ± {100 * row['se']:.1f} "
            f"({100 * row['se_clustered']:.1f}) | {100 * row['predicted']:.1f} | "
            f"[{100 * row['interval90'][0]:.1f}, {100 * row['interval90'][1]:.1f}] | "
            f"[{100 * row['predictive90'][0]:.1f}, {100 * row['predictive90'][1]:.1f}] | "
            f"{100 * row['abs_diff']:.1f} | {'yes' if row['within_tolerance'] else 'no'} |")
    labels = checked["failure_labels"]
    lines += ["", f"Failed debates: {labels['failed']} of {labels['debates']}; groupthink share "
              f"of failures {100 * labels['groupthink_share_of_failures']:.1f} %."]
    return "\n".join(lines) + "\n"


def run_check(args: argparse.Namespace) -> int:
    """Handler of ``slmmux debate check`` (reads the frozen prediction; never refits)."""
    path = _existing(args.prediction, "--prediction")
    try:
        prediction = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from None
    for field in ("predictions", "debates_per_question", "agent_models", "num_answers", "smoothing"):
        if field not in prediction:
            raise UserError(f"{path}: field {field!r} missing; write it with `slmmux debate predict`")
    transcripts = _existing(args.transcripts, "--transcripts")
    samples = _existing(args.samples, "--samples") if args.samples else \
        _existing(str(transcripts.with_name("samples.jsonl")), "--samples")
    checked = check_prediction(prediction, TranscriptStore(transcripts).turns(),
                               list(RecordStore(samples).latest().values()),
                               args.tolerance / 100)  # fmt: skip
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "check.json").write_text(json.dumps(report._clean(checked), indent=2, sort_keys=True)
                                    + "\n")
    text = format_check(prediction, checked)
    (out / "check.md").write_text(text)
    print(text)
    return 0


def register_actions(actions) -> None:
    """Add ``predict`` and ``check`` to the ``debate`` subcommand's actions."""
    predict = actions.add_parser(
        "predict", help="fit on every debate of a study; predict debates on new questions from "
        "their independent samples only (frozen prediction.json)")
    predict.add_argument("--transcripts", required=True, nargs="+",
                         help="fitted studies' transcripts (JSONL; several studies are pooled)")
    predict.add_argument("--samples", default=None, nargs="+",
                         help="fitted studies' independent samples, one per transcripts file "
                         "(default samples.jsonl beside each)")  # fmt: skip
    predict.add_argument("--target-samples", required=True,
                         help="independent samples of the same models on the new questions")
    predict.add_argument("--config", default=None,
                         help="TOML with a [report] table (default config.toml beside the "
                         "transcripts)")  # fmt: skip
    predict.add_argument("--debates-per-question", type=int, default=2,
                         help="debates planned per new question (for the predictive interval)")
    predict.add_argument("--variants", default=None,
                         help="variants to choose among (by the largest in-sample miss)")
    predict.add_argument("--fit-steps", type=int, default=None)
    predict.add_argument("--draws", type=int, default=None)
    predict.add_argument("--out", required=True, help="output folder (prediction.json)")
    check = actions.add_parser("check", help="new debates against a frozen prediction.json")
    check.add_argument("--prediction", required=True, help="prediction.json of `debate predict`")
    check.add_argument("--transcripts", required=True, help="the new debates (JSONL)")
    check.add_argument("--samples", default=None,
                       help="independent samples on the new questions (default samples.jsonl "
                       "beside the transcripts)")  # fmt: skip
    check.add_argument("--tolerance", type=float, default=3.0, help="target, percentage points")
    check.add_argument("--out", required=True, help="output folder (check.md, check.json)")
