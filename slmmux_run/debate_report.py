"""Presentation of the debate study: Markdown tables and the figure (runner layer, no computation).

Reads the JSON-ready results of :mod:`slmmux_run.debate_study` (which calls the theory in
:mod:`slmmux_theory.discussion`) and turns them into text: :func:`format_report` (the groupthink
report), :func:`plot` (its figure), :func:`format_crossfit` (a 2-fold cross-fit),
:func:`format_check` (a frozen prediction against new debates) and
:func:`format_prediction` (the one-screen summary of a frozen prediction). Only differences
and percentages for display are formed here.

Example:
  >>> _pct(0.1234), _pct(float("nan"))
  ('12.3', '—')
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from slmmux_theory.discussion.checks import CHECKED_MEASURES
from slmmux_theory.discussion.measures import FAILURE_KINDS
from slmmux_theory.discussion.model import PRIVATE_OUTCOMES, PRIVATE_STATES

__all__ = ["format_check", "format_crossfit", "format_prediction", "format_report", "plot",
           "write_check", "write_crossfit", "write_json", "write_report"]


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
             r"| pseudo-count | round-1 plurality predicted | measured | \|diff\| | per agent |",
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
        "# Groupthink with real small models: debate vs SLM-MUX vs Agent Forest",
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
        f"{result['model'].get('options', {})}, fit {result['model'].get('fit_seconds', math.nan):.0f} s"
        + (f", the fit of variant {result['model']['fit_reused_from']} drawn again)"
           if result["model"].get("fit_reused_from") else ")"),
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
        r"| measure | measured ± se | predicted | 90 % (param) | 90 % (predictive) | \|diff\| "
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
                     f"{_pct(abs(measured[name] - at_mean[name]))} | |")
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
    """Write :func:`debate_figure` to ``path``."""
    from slmmux_run.figures import save

    return save(debate_figure(result), path)


def debate_figure(result: dict):
    """Accuracy by method with predictions, and groupthink measures measured vs predicted."""
    from slmmux_run.figures import PAPER_MARK, figure, place_legend

    fig, (left, middle, right) = figure(1, 3, figsize=(18, 4.6), layout="constrained")
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
    left.set_title(f"Equal-token comparison: {result['held_out_questions']} held-out questions")
    place_legend(left, fontsize=7)
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
    middle.set_title(f"Held-out groupthink measures: {result['held_out_debates']} debates")
    place_legend(middle, fontsize=7)
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
    right.set_title(f"Failure labels: {result['failure_labels_all']['failed']} failed debates (all)")
    place_legend(right, fontsize=7)
    return fig


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
    header = " | ".join(f"{n}: measured ± se / predicted / \\|diff\\|" for n in names)
    lines += ["", f"| measure | {header} | pooled measured ± se | pooled predicted | \\|diff\\| | "
              "≤ 3? | mean fold \\|diff\\| |", "|---|" + "---|" * (len(folds) + 5)]
    for measure in CHECKED_MEASURES:
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


def format_prediction(result: dict, debates_per_question: int) -> str:
    """One-screen summary of a frozen prediction (``slmmux debate predict``), percent."""
    summary = result["predictions"][str(result["target_questions"])]["measures"]
    lines = [f"prediction for {result['target_questions']} new questions, "
             f"{debates_per_question} debates each (variant {result['selection']['name']}, "
             f"pseudo-count {result['smoothing']['chosen']}, fitted on {result['fit_debates']} "
             f"debates / {result['fit_questions']} questions)"]
    for measure in CHECKED_MEASURES:
        row = summary[measure]
        lines.append(f"  {measure:26s} {100 * row['mean']:5.1f}  90% predictive "
                     f"[{100 * row['predictive90'][0]:.1f}, {100 * row['predictive90'][1]:.1f}]")
    return "\n".join(lines)


def write_json(path: Path, value) -> dict:
    """Write a debate result as ``slmmux debate`` does (sorted keys); return it as read back."""
    from slmmux_run.debate_study import clean

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(value), indent=2, sort_keys=True) + "\n")
    return json.loads(path.read_text())


def write_report(result: dict, out: Path) -> tuple[dict, str]:
    """``result.json``, ``report.md`` and ``figure.png`` of a debate report; (written, text)."""
    out = Path(out)
    written = write_json(out / "result.json", result)
    text = format_report(result)
    (out / "report.md").write_text(text)
    plot(result, out / "figure.png")
    return written, text


def write_crossfit(folds, pooled: dict, names, out: Path) -> str:
    """``crossfit.json`` and ``crossfit.md`` of a cross-fit; returns the text."""
    out = Path(out)
    write_json(out / "crossfit.json", pooled)
    text = format_crossfit(folds, pooled, names)
    (out / "crossfit.md").write_text(text)
    return text


def write_check(frozen: dict, checked: dict, out: Path) -> tuple[dict, str]:
    """``check.json`` and ``check.md`` of a frozen prediction's check; (written, text)."""
    out = Path(out)
    written = write_json(out / "check.json", checked)
    text = format_check(frozen, checked)
    (out / "check.md").write_text(text)
    return written, text
