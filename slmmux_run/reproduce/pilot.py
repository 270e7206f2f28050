"""Reproduce steps that plan from a pilot: the held-out check and the plan, against exact replay.

Runner layer: ``heldout`` runs the theory's held-out test of the fitted answer model
(:func:`slmmux_theory.planning.heldout.heldout_test`, what ``slmmux check`` runs) and ``plan`` the
plan from a pilot (:func:`slmmux_theory.planning.plan.plan`, what ``slmmux plan`` runs); the truth
they are compared with is the theory's exact replay of all recorded samples, and the plan's
score (MAE, coverage, regret) the theory's :func:`~slmmux_theory.planning.heldout.score_plan`.
This module loads, writes and formats.
"""

from __future__ import annotations

import json

import numpy as np

from slmmux_run.reproduce.context import Context, StepResult, SummaryRow

__all__ = ["step_heldout", "step_plan"]

#: The rules ``slmmux check`` tests by default.
HELDOUT_RULES = ("slm-mux", "agent-forest", "self-consistency")


def step_heldout(context: Context) -> StepResult:
    """The held-out test of the fitted answer model (slmmux check) beside the plug-in."""
    from slmmux_run.plan_study import heldout_result

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("heldout", note=context.cache["samples_error"])
    out = context.step_dir("heldout")
    draws = 20 if context.quick else 60
    if context.quick:
        sample_set = sample_set.select(questions=list(range(min(60, sample_set.num_questions))))
    # The same call and the same JSON as `slmmux check --fit-samples 5 --k 3 --draws N`.
    result = heldout_result(sample_set, fit_samples=5, k=3, predictor="hierarchical",
                            method="svi", draws=draws, rules=HELDOUT_RULES, seed=0)
    (out / "check.json").write_text(json.dumps(result, indent=1))
    ours, base = result["by_rule"]["slm-mux"], result["baseline"]["slm-mux"]
    summary = [SummaryRow(
        "held-out pair accuracy, SLM-MUX k=3 (fit 5 samples)",
        "— (the papers predict nothing)",
        f"MAE {100 * ours['mae']:.2f} pt, 90% coverage {ours['coverage']:.2f} ({draws} draws)",
        f"plug-in MAE {100 * base['mae']:.2f} pt; ratio {ours['mae'] / base['mae']:.2f}",
    )]
    return StepResult("heldout", tables=[out / "check.json"], summary=summary)


def step_plan(context: Context) -> StepResult:
    """Plan from a pilot (every question x 1 sample): predicted vs replayed pair accuracies."""
    from slmmux_run.figures import save
    from slmmux_run.plan_study import PlanSettings, plan_result
    from slmmux_run.plots import plan_figure
    from slmmux_theory.planning.heldout import (
        default_priority,
        replayed_subset_accuracy,
        score_plan,
    )

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("plan", note=context.cache["samples_error"])
    out = context.step_dir("plan")
    # The same call and the same JSON as `slmmux plan --pilot-questions 250 --pilot-samples 1
    # --seed 0 --k 3 --subset-sizes 2 --draws N` with its defaults.
    settings = PlanSettings(pilot_questions=250, pilot_samples=1, seed=0, k=3, subset_sizes=(2,),
                            rules=("slm-mux",), predictor="hierarchical",
                            max_budget_size=4, draws=40 if context.quick else 100)
    run = plan_result(sample_set, settings, np.ones(sample_set.num_models),
                      source=str(context.samples_path()))
    candidates = run.plan.candidates
    (out / "plan.json").write_text(json.dumps(run.output, indent=1))
    pairs = [tuple(c.models) for c in candidates]

    # Truth: exact replay of k = 3 of all 10 recorded samples, every question.
    counts = sample_set.counts
    truth = replayed_subset_accuracy(counts, pairs, 3, default_priority(counts))
    score = score_plan([c.predicted_accuracy for c in candidates], [c.interval for c in candidates],
                       truth)
    (out / "plan_vs_truth.json").write_text(json.dumps(
        {"mae": score.mae, "coverage": score.coverage, "regret": score.regret}, indent=1))
    figure_path = save(plan_figure(candidates, sample_set.models, truth=np.asarray(truth),
                                   front=run.plan.front), out / "plan.png")
    summary = [SummaryRow(
        "pick the best pair from a 10 % pilot (250 q x 1 sample)",
        "search on a full 500-question validation run",
        f"MAE {100 * score.mae:.2f} pt, coverage {score.coverage:.2f}",
        f"regret of the chosen pair {100 * score.regret:.2f} pt (exact replay, all 10 samples)",
    )]
    return StepResult("plan", figures=[figure_path], tables=[out / "plan.json", out / "plan_vs_truth.json"],
                      summary=summary)
