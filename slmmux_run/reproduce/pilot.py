"""Reproduce steps that plan from a pilot: the held-out check and the plan, against exact replay.

Runner layer: ``heldout`` runs the held-out test of the fitted answer model (the library behind
``slmmux check``) and ``plan`` the plan from a pilot (the library behind ``slmmux plan``); the
truth they are compared with is the theory's exact replay of all recorded samples.
"""

from __future__ import annotations

import json

import numpy as np

from slmmux_run.reproduce._cli_seam import run_command
from slmmux_run.reproduce.context import Context, StepResult, SummaryRow

__all__ = ["step_heldout", "step_plan"]


def step_heldout(context: Context) -> StepResult:
    """The held-out test of the fitted answer model (slmmux check) beside the plug-in."""
    path = context.samples_path()
    if path is None:
        return StepResult("heldout", note=context.cache["samples_error"])
    out = context.step_dir("heldout")
    draws = 20 if context.quick else 60
    run_command(["check", "--samples", path, "--fit-samples", 5, "--k", 3, "--predictor", "hierarchical",
          "--draws", draws, "--json", out / "check.json"]
         + (["--questions", 60] if context.quick else []))
    result = json.loads((out / "check.json").read_text())
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
    path = context.samples_path()
    if path is None:
        return StepResult("plan", note=context.cache["samples_error"])
    out = context.step_dir("plan")
    run_command(["plan", "--samples", path, "--pilot-questions", 250, "--pilot-samples", 1, "--seed", 0,
          "--k", 3, "--subset-sizes", "2", "--draws", 40 if context.quick else 100,
          "--json", out / "plan.json", "--figure", out / "pareto.png"])
    candidates = json.loads((out / "plan.json").read_text())["candidates"]
    sample_set = context.samples()
    pairs = [tuple(sample_set.models.index(m) for m in c["models"]) for c in candidates]
    from slmmux_theory.planning.heldout import default_priority
    from slmmux_theory.distributions import compact_slots_per_model
    from slmmux_theory.engines.exact import hypergeometric_counts, mux_levels, mux_subset_accuracy

    # Truth: exact replay of k = 3 of all 10 recorded samples, every question.
    counts = sample_set.counts
    levels = mux_levels(hypergeometric_counts(compact_slots_per_model(counts), 3))
    truth = np.asarray(mux_subset_accuracy(levels, np.array(pairs), default_priority(counts))).mean(axis=1)
    predicted = np.array([c["predicted_accuracy"] for c in candidates])
    low, high = np.array([c["interval"] for c in candidates]).T
    errors = np.abs(predicted - truth)
    covered = (low <= truth) & (truth <= high)
    regret = float(truth.max() - truth[int(np.argmax(predicted))])
    (out / "plan_vs_truth.json").write_text(json.dumps(
        {"mae": float(errors.mean()), "coverage": float(covered.mean()), "regret": regret}, indent=1))
    summary = [SummaryRow(
        "pick the best pair from a 10 % pilot (250 q x 1 sample)",
        "search on a full 500-question validation run",
        f"MAE {100 * errors.mean():.2f} pt, coverage {covered.mean():.2f}",
        f"regret of the chosen pair {100 * regret:.2f} pt (exact replay, all 10 samples)",
    )]
    return StepResult("plan", figures=[out / "pareto.png"], tables=[out / "plan.json", out / "plan_vs_truth.json"],
                      summary=summary)
