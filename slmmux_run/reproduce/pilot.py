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
    import jax

    from slmmux_run.data.datasets import split_samples
    from slmmux_theory.planning.heldout import heldout_test, summarise
    from slmmux_theory.planning.predictors import heldout_predictor

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("heldout", note=context.cache["samples_error"])
    out = context.step_dir("heldout")
    draws = 20 if context.quick else 60
    if context.quick:
        sample_set = sample_set.select(questions=list(range(min(60, sample_set.num_questions))))
    fit_set, heldout_set = split_samples(sample_set, 5)
    test = heldout_test(jax.random.PRNGKey(0), fit_set.counts, heldout_set.counts, 3,
                        heldout_predictor("hierarchical", method="svi"), num_draws=draws,
                        rules=HELDOUT_RULES, model_names=sample_set.models)
    result = {
        "predictor": "hierarchical", "method": "svi", "k": 3, "fit_samples": 5, "draws": draws,
        "by_rule": {rule: summarise(test.rows, rule) for rule in HELDOUT_RULES},
        "baseline": {rule: summarise(test.baseline, rule) for rule in HELDOUT_RULES},
        "pairs": [{"models": list(r.models), "rule": r.rule, "predicted": r.predicted,
                   "interval": list(r.interval), "observed": r.observed} for r in test.rows],
    }
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
    import jax

    from slmmux_run.plots import pareto_figure
    from slmmux_theory.planning import plan as planning
    from slmmux_theory.planning.heldout import (
        default_priority,
        replayed_subset_accuracy,
        score_plan,
    )

    sample_set = context.samples()
    if sample_set is None:
        return StepResult("plan", note=context.cache["samples_error"])
    out = context.step_dir("plan")
    num_questions, recorded = sample_set.num_questions, sample_set.num_samples
    questions = planning.draw_pilot(num_questions, 250, 0)
    pilot = sample_set.select(questions=questions.tolist(), samples=slice(0, 1))
    result = planning.plan(
        jax.random.PRNGKey(0), np.asarray(pilot.counts), num_questions, replay_samples=recorded,
        k=3, subset_sizes=[2], rules=("slm-mux",), predictor="hierarchical",
        cost_per_sample=np.ones(sample_set.num_models), budgets=[],
        max_budget_size=min(4, sample_set.num_models), num_draws=40 if context.quick else 100,
        svi_steps=1000, names=sample_set.models, unseen="stratified", concentration=1.0)
    candidates = result.candidates
    (out / "plan.json").write_text(json.dumps({"candidates": [
        {"models": [sample_set.models[m] for m in c.models], "k": c.k, "rule": c.rule,
         "predicted_accuracy": c.predicted_accuracy, "interval": list(c.interval),
         "p_best": c.p_best} for c in candidates]}, indent=1))
    if result.front:
        pareto_figure(result.front, out / "pareto.png")
    pairs = [tuple(c.models) for c in candidates]

    # Truth: exact replay of k = 3 of all 10 recorded samples, every question.
    counts = sample_set.counts
    truth = replayed_subset_accuracy(counts, pairs, 3, default_priority(counts))
    score = score_plan([c.predicted_accuracy for c in candidates], [c.interval for c in candidates],
                       truth)
    (out / "plan_vs_truth.json").write_text(json.dumps(
        {"mae": score.mae, "coverage": score.coverage, "regret": score.regret}, indent=1))
    summary = [SummaryRow(
        "pick the best pair from a 10 % pilot (250 q x 1 sample)",
        "search on a full 500-question validation run",
        f"MAE {100 * score.mae:.2f} pt, coverage {score.coverage:.2f}",
        f"regret of the chosen pair {100 * score.regret:.2f} pt (exact replay, all 10 samples)",
    )]
    return StepResult("plan", figures=[out / "pareto.png"], tables=[out / "plan.json", out / "plan_vs_truth.json"],
                      summary=summary)
