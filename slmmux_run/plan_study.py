"""Runner glue for planning: a loaded sample set in, the plan or the held-out check out.

``slmmux plan``, ``slmmux check`` and the main job (``slmmux reproduce``) all go through these
functions, so the three write the same JSON. Two ways to plan: :func:`plan_result` subsamples a
pilot out of a file that already holds the full run (the population is the file's questions,
replayed over its recorded samples: the way to test a plan against the truth), and
:func:`pilot_plan_result` plans from a file that holds only the pilot, for a population of
``N`` questions of which the pilot saw some, when each model draws ``k`` fresh samples per
question (the way to plan before spending). They validate the user's settings against the
file (one :class:`~slmmux_run.errors.UserError` sentence naming the flag), draw the pilot, call
:mod:`slmmux_theory.planning` and name the models in the JSON-ready result; every number comes
from the theory.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from slmmux_run.errors import UserError

__all__ = ["P_BEST_MEANING", "PlanSettings", "PlanRun", "heldout_result", "pilot_plan_result",
           "plan_result"]

P_BEST_MEANING = (
    "p_best: the share of posterior draws in which the candidate is the best of its (rule, "
    "subset size, k) group; candidates tied in a draw share that draw equally")


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
      svi_steps: most SVI steps of the answer-model fit (it stops earlier once its loss
        levels off: ``inference.answer_fit.PLAN_SVI_TOLERANCE``).
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

    from slmmux_theory.planning import plan as planning

    _check_common(settings, sample_set)
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
    if settings.budgets and min(settings.budgets) < costs.min():
        raise UserError(
            f"--budget {min(settings.budgets):g} is below the cost of one sample ({costs.min():g})")
    questions = planning.draw_pilot(num_questions, pilot_questions, settings.seed)
    pilot = sample_set.select(questions=questions.tolist(), samples=slice(0, pilot_samples))
    result = _planned(
        planning.plan,
        jax.random.PRNGKey(settings.seed), np.asarray(pilot.counts), num_questions,
        replay_samples=recorded, k=settings.k, subset_sizes=list(settings.subset_sizes),
        rules=settings.rules, predictor=settings.predictor, cost_per_sample=costs,
        budgets=list(settings.budgets),
        max_budget_size=min(settings.max_budget_size, sample_set.num_models),
        num_draws=settings.draws, svi_steps=settings.svi_steps, names=sample_set.models,
        unseen=settings.unseen, concentration=settings.concentration,
        tokens_per_sample=pilot.mean_tokens(), note=(
            f"it replays k of the {recorded} recorded samples of {source}; plan from a pilot "
            "file with --population (each model draws k fresh samples: nothing enumerated) "
            "or with a smaller --k"),
    )
    pilot_json = {"questions": pilot_questions, "samples_per_model": pilot_samples,
                  "seed": settings.seed, "question_ids": list(pilot.question_ids),
                  "population_questions": num_questions, "replayed_samples": recorded}
    output = _output(result, sample_set, settings, pilot_json)
    return PlanRun(result, output, pilot_questions, pilot_samples)


def _finite(value):
    """A float for JSON, or None where it is unknown (NaN): the JSON holds no NaN literal."""
    value = float(value)
    return value if np.isfinite(value) else None


def _output(result, sample_set, settings: PlanSettings, pilot_json: dict,
            money_per_sample=None) -> dict:
    """The JSON of ``slmmux plan --json``: the plan's numbers with the models named."""
    names = sample_set.models

    def named(indices):
        return [names[i] for i in indices]

    def money(c):
        # The plan was priced with money_per_sample, so its cost is money per question.
        return None if money_per_sample is None else _finite(c.cost)

    output = {
        "task": sample_set.task,
        "pilot": pilot_json,
        "predictor": settings.predictor,
        "unseen": settings.unseen if settings.predictor == "hierarchical" else None,
        "p_best_means": P_BEST_MEANING,
        "candidates": [
            {"models": named(c.models), "k": c.k, "rule": c.rule,
             "predicted_accuracy": c.predicted_accuracy, "interval": list(c.interval),
             "p_best": c.p_best, "expected_tokens": _finite(c.expected_tokens),
             "expected_cost": money(c), "cost": c.cost}
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
    return output


def pilot_plan_result(pilot_set, settings: PlanSettings, population: int, *,
                      money_per_sample=None, source="the pilot file") -> PlanRun:
    """Plan from a file that holds only the pilot, for a run over ``population`` questions.

    The target of every candidate is the accuracy over all ``population`` questions when each
    model draws ``settings.k`` fresh samples per question: one realisation, so the interval
    holds the sampling noise of the run besides the uncertainty about the models. The pilot's
    samples condition the answer model (its questions' laws are their posterior predictive);
    questions the pilot did not see follow the unseen-question law (``settings.unseen``). k may
    exceed the pilot's samples per question. Tie ranks come from the pilot
    (:func:`slmmux_theory.planning.plan.pilot_priority`). The budget split (``budgets``)
    considers at most k samples per model (each pool holds exactly the k samples of one run).

    Args:
      pilot_set: the loaded pilot (any questions, any number of samples per row, ≥ 1).
      settings: the plan's settings; ``pilot_questions`` and ``pilot_samples`` must be None
        (the file is the pilot, nothing is subsampled).
      population: N, the questions of the full run (N ≥ the pilot's questions).
      money_per_sample: money of one sample of each model, shape [models] (then candidates
        carry ``expected_cost``); None: costs count samples.
      source: the pilot file's name, for errors.

    Raises:
      UserError: a setting the pilot cannot satisfy, naming its flag or the file.
    """
    import jax

    from slmmux_theory.planning import plan as planning

    _check_common(settings, pilot_set)
    if settings.pilot_questions is not None or settings.pilot_samples is not None:
        raise UserError("--pilot-questions/--pilot-samples subsample a file holding the full "
                        "run; with --population the file is the pilot itself: drop them")
    if not settings.k >= 1:
        raise UserError(f"--k must be >= 1, got {settings.k}")
    pilot_questions = pilot_set.num_questions
    if not population >= pilot_questions:
        raise UserError(f"--population {population} is smaller than the pilot's "
                        f"{pilot_questions} questions ({source})")
    recorded = pilot_set.num_recorded
    if int(recorded.min()) < 1:
        m, q = np.argwhere(recorded < 1)[0]
        raise UserError(f"{source}: model {pilot_set.models[m]!r} has no sample of question "
                        f"{pilot_set.question_ids[q]!r}; a pilot needs at least one per row")
    costs = (np.ones(pilot_set.num_models) if money_per_sample is None
             else np.asarray(money_per_sample, dtype=np.float64))
    if settings.budgets and min(settings.budgets) < costs.min():
        raise UserError(
            f"--budget {min(settings.budgets):g} is below the cost of one sample ({costs.min():g})")
    result = _planned(
        planning.plan,
        jax.random.PRNGKey(settings.seed), np.asarray(pilot_set.counts), population,
        replay_samples=settings.k, k=settings.k, subset_sizes=list(settings.subset_sizes),
        rules=settings.rules, predictor=settings.predictor, cost_per_sample=costs,
        budgets=list(settings.budgets),
        max_budget_size=min(settings.max_budget_size, pilot_set.num_models),
        num_draws=settings.draws, svi_steps=settings.svi_steps, names=pilot_set.models,
        unseen=settings.unseen, concentration=settings.concentration,
        tokens_per_sample=pilot_set.mean_tokens(), fresh_samples=True,
        note="the --budget split replays fewer than k of each pool's k samples; drop "
             "model-switch from --rules or --budget",
    )
    pilot_json = {"questions": pilot_questions,
                  "samples_per_model": [int(recorded.min()), int(recorded.max())],
                  "seed": settings.seed, "question_ids": list(pilot_set.question_ids),
                  "population_questions": population,
                  "unseen_questions": population - pilot_questions,
                  "fresh_samples_per_model": settings.k,
                  "tie_priority": np.asarray(planning.pilot_priority(pilot_set.counts)).tolist(),
                  "mean_tokens": [_finite(t) for t in pilot_set.mean_tokens()]}
    output = _output(result, pilot_set, settings, pilot_json, money_per_sample)
    return PlanRun(result, output, pilot_questions, int(recorded.max()))


def _planned(plan, *args, note: str, **kwargs):
    """``plan(*args, **kwargs)``; an exact law out of reach becomes one UserError sentence."""
    from slmmux_theory.engines.replay import ExactOutOfReach

    try:
        return plan(*args, **kwargs)
    except ExactOutOfReach as error:
        raise UserError(f"--rules: {error}; {note}") from None


def _check_common(settings: PlanSettings, sample_set) -> None:
    """Checks shared by both ways to plan (rules, budgets, draws, subset sizes)."""
    from slmmux_theory.planning import plan as planning

    unknown = [r for r in settings.rules if r not in planning.PLAN_RULES]
    if unknown or not settings.rules:
        raise UserError(
            f"--rules: unknown rule(s) {unknown}; plan supports {list(planning.PLAN_RULES)}")
    if any(b <= 0 for b in settings.budgets):
        raise UserError(f"--budget must be positive, got {list(settings.budgets)}")
    if settings.draws < 2 or settings.svi_steps < 1:
        raise UserError("--draws must be >= 2 and --svi-steps >= 1")
    bad = [s for s in settings.subset_sizes if not 1 <= s <= sample_set.num_models]
    if bad:
        raise UserError(f"--subset-sizes: {bad[0]} is outside 1..{sample_set.num_models} models")


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
