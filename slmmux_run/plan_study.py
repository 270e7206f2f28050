"""Runner glue for planning: a loaded sample set in, the plan or the held-out check out.

``slmmux plan``, ``slmmux check`` and the main job (``slmmux reproduce``) all go through these
two functions, so the three write the same JSON. They validate the user's settings against the
file (one :class:`~slmmux_run.errors.UserError` sentence naming the flag), draw the pilot, call
:mod:`slmmux_theory.planning` and name the models in the JSON-ready result; every number comes
from the theory.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from slmmux_run.errors import UserError

__all__ = ["PlanSettings", "PlanRun", "heldout_result", "plan_result"]


class PlanSettings(NamedTuple):
    """What a plan is asked for (the flags of ``slmmux plan``; None = the file's own size).

    Attributes:
      pilot_questions: questions of the pilot (None: every question of the file).
      pilot_samples: recorded samples per (model, question) the pilot keeps (None: all).
      seed: draws the pilot questions and seeds the predictor.
      k: samples per model of the predicted candidates.
      subset_sizes: model-subset sizes ranked.
      rules: rule names (a subset of ``planning.plan.PLAN_RULES``).
      predictor: ``planning.plan.PREDICTORS`` name.
      budgets: samples-per-question budgets of the models-vs-samples split (may be empty).
      max_budget_size: largest subset the budget split considers.
      draws: posterior draws.
      svi_steps: SVI steps of the answer-model fit.
      unseen: law of the unseen questions (hierarchical predictor).
      concentration: Dirichlet-process concentration.
    """

    pilot_questions: int | None
    pilot_samples: int | None
    seed: int
    k: int
    subset_sizes: tuple[int, ...]
    rules: tuple[str, ...]
    predictor: str
    budgets: tuple[float, ...] = ()
    max_budget_size: int = 3
    draws: int = 100
    svi_steps: int = 1000
    unseen: str = "stratified"
    concentration: float = 1.0


class PlanRun(NamedTuple):
    """A plan with its JSON-ready form.

    Attributes:
      plan: the theory's :class:`~slmmux_theory.planning.plan.Plan`.
      output: the JSON written by ``slmmux plan --json`` (models named, pilot described).
      pilot_questions: questions in the pilot.
      pilot_samples: samples per (model, question) in the pilot.
    """

    plan: object
    output: dict
    pilot_questions: int
    pilot_samples: int


def plan_result(sample_set, settings: PlanSettings, costs, *, source="the samples file") -> PlanRun:
    """Draw the pilot from ``sample_set``, plan on it, and name the result.

    Args:
      sample_set: the loaded :class:`~slmmux_run.data.sample_set.SampleSet` (the full file: the
        population the plan predicts for, replayed over its recorded samples).
      settings: the plan's settings.
      costs: cost of one sample of each model, shape [models].
      source: the file's name, for errors.

    Raises:
      UserError: a setting the file cannot satisfy, naming its flag.
    """
    import jax
    import numpy as np

    from slmmux_theory.planning import plan as planning

    unknown = [r for r in settings.rules if r not in planning.PLAN_RULES]
    if unknown or not settings.rules:
        raise UserError(
            f"--rules: unknown rule(s) {unknown}; plan supports {list(planning.PLAN_RULES)}")
    if any(b <= 0 for b in settings.budgets):
        raise UserError(f"--budget must be positive, got {list(settings.budgets)}")
    if settings.draws < 2 or settings.svi_steps < 1:
        raise UserError("--draws must be >= 2 and --svi-steps >= 1")
    num_questions, recorded = sample_set.num_questions, sample_set.num_samples
    if int(sample_set.num_recorded.min()) < recorded:
        raise UserError(f"{source}: some (model, question) has fewer than {recorded} samples")
    pilot_questions = num_questions if settings.pilot_questions is None else settings.pilot_questions
    if not 1 <= pilot_questions <= num_questions:
        raise UserError(f"--pilot-questions must lie in 1..{num_questions}, got {pilot_questions}")
    pilot_samples = recorded if settings.pilot_samples is None else settings.pilot_samples
    if not 1 <= pilot_samples <= recorded:
        raise UserError(f"--pilot-samples must lie in 1..{recorded}, got {pilot_samples}")
    if not 1 <= settings.k <= recorded:
        raise UserError(f"--k must lie in 1..{recorded} (the recorded samples), got {settings.k}")
    bad = [s for s in settings.subset_sizes if not 1 <= s <= sample_set.num_models]
    if bad:
        raise UserError(f"--subset-sizes: {bad[0]} is outside 1..{sample_set.num_models} models")
    if settings.budgets and min(settings.budgets) < costs.min():
        raise UserError(
            f"--budget {min(settings.budgets):g} is below the cost of one sample ({costs.min():g})")
    questions = planning.draw_pilot(num_questions, pilot_questions, settings.seed)
    pilot = sample_set.select(questions=questions.tolist(), samples=slice(0, pilot_samples))
    result = planning.plan(
        jax.random.PRNGKey(settings.seed), np.asarray(pilot.counts), num_questions,
        replay_samples=recorded, k=settings.k, subset_sizes=list(settings.subset_sizes),
        rules=settings.rules, predictor=settings.predictor, cost_per_sample=costs,
        budgets=list(settings.budgets),
        max_budget_size=min(settings.max_budget_size, sample_set.num_models),
        num_draws=settings.draws, svi_steps=settings.svi_steps, names=sample_set.models,
        unseen=settings.unseen, concentration=settings.concentration,
    )
    names = sample_set.models

    def named(indices):
        return [names[i] for i in indices]

    output = {
        "task": sample_set.task,
        "pilot": {"questions": pilot_questions, "samples_per_model": pilot_samples,
                  "seed": settings.seed, "question_ids": list(pilot.question_ids),
                  "population_questions": num_questions, "replayed_samples": recorded},
        "predictor": settings.predictor,
        "candidates": [
            {"models": named(c.models), "k": c.k, "rule": c.rule,
             "predicted_accuracy": c.predicted_accuracy, "interval": list(c.interval),
             "p_best": c.p_best, "cost": c.cost}
            for c in result.candidates
        ],
        "too_small_to_tell": any(result.indistinct.values()),
        "indistinct_groups": result.indistinct,
        "warnings": list(result.warnings),
        "budget": [
            {"budget": b.budget, "models": named(b.models), "K": len(b.models), "k": b.k,
             "predicted_accuracy": b.predicted_accuracy, "interval": list(b.interval),
             "more_models_gain": b.more_models_gain, "more_samples_gain": b.more_samples_gain,
             "rule": b.rule, "expected_cost": b.expected_cost, "reason": b.reason}
            for b in result.budget
        ],
        "pareto_front": [
            {"cost": cost, "predicted_accuracy": acc, "models": named(members), "k": k,
             "rule": rule}
            for cost, acc, members, k, rule in result.front
        ],
    }
    return PlanRun(result, output, pilot_questions, pilot_samples)


def heldout_result(sample_set, *, fit_samples, k, predictor, method="svi", draws=100,
                   rules=("slm-mux",), seed=0) -> dict:
    """The held-out test on a loaded sample set; returns the JSON of ``slmmux check --json``.

    Raises:
      UserError: ``fit_samples`` or ``k`` the file cannot satisfy, naming the flag.
    """
    import jax

    from slmmux_run.data.datasets import split_samples
    from slmmux_theory.planning.heldout import heldout_test, summarise
    from slmmux_theory.planning.predictors import heldout_predictor

    if not 1 <= fit_samples < sample_set.num_samples:
        raise UserError(
            f"--fit-samples must lie in 1..{sample_set.num_samples - 1} for files with "
            f"{sample_set.num_samples} samples per model, got {fit_samples}"
        )
    fit_set, heldout_set = split_samples(sample_set, fit_samples)
    fit_counts, heldout_counts = fit_set.counts, heldout_set.counts
    sizes = heldout_counts.sum(-1)
    if sizes.min() < k:
        raise UserError(f"some (model, question) has only {sizes.min()} held-out samples, fewer than --k {k}")
    start = time.perf_counter()
    test = heldout_test(jax.random.PRNGKey(seed), fit_counts, heldout_counts, k,
                        heldout_predictor(predictor, method=method), num_draws=draws,
                        rules=rules, model_names=sample_set.models)
    seconds = time.perf_counter() - start
    summary = summarise(test.rows, "slm-mux" if "slm-mux" in rules else rules[0])
    return {
        "task": sample_set.task,
        "predictor": predictor,
        "method": method if predictor == "hierarchical" else None,
        "k": k,
        "fit_samples": fit_samples,
        "pairs": [
            {"models": list(r.models), "rule": r.rule, "predicted": r.predicted,
             "interval": list(r.interval), "observed": r.observed}
            for r in test.rows
        ],
        "mae": summary["mae"],
        "coverage": summary["coverage"],
        "by_rule": {rule: summarise(test.rows, rule) for rule in rules},
        "baseline": {rule: summarise(test.baseline, rule) for rule in rules},
        "seconds": seconds,
    }
