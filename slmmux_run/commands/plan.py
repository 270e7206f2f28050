"""``slmmux plan``: rank (subset, k, rule) candidates by predicted population accuracy from a pilot.

Two ways, one command:

* **Plan before spending** (``--population N``, ``--questions N|FILE`` or ``--task`` with
  ``--config``): ``--records`` holds only the pilot (any questions, any samples each). The
  prediction is the accuracy over all N questions when each model draws k fresh samples per
  question (k may exceed the pilot's samples), with expected tokens and, with ``--config``,
  money per question; ``--json`` writes a frozen plan that ``slmmux run --plan`` executes and
  ``slmmux check --plan`` checks (:mod:`slmmux_run.frozen_plan`).
* **Test a plan** (no population flag): the pilot is ``--pilot-questions`` questions drawn at
  random (``--seed``) from a file that holds the full run, with the first ``--pilot-samples``
  recorded samples of every model; predictions are for the accuracy over ALL questions of the
  file, replayed over its recorded samples (see :mod:`slmmux_theory.planning.plan`).

With ``--budget`` the models-vs-samples split is printed with its reason, and the Pareto front
of accuracy vs cost is written as JSON (and ``--figure``).
"""

from __future__ import annotations

import json
from pathlib import Path

import os

from slmmux_run.cli_args import (
    MAX_POSTERIOR_DRAWS, MAX_SAMPLES, MAX_STEPS, ListedStore, add_task_arguments,
    check_output_file, int_in, names_in, number_in, task_options,
)
from slmmux_run.cli_catalog import PLAN_PREDICTORS, PLAN_UNSEEN, plan_rules
from slmmux_run.errors import UserError

__all__ = ["register", "run", "parse_costs", "count_or_file"]


def count_or_file(text: str):
    """``--questions``: a count N >= 1 or a question file's path.

    >>> count_or_file("12")
    12
    """
    import argparse

    if text.strip().isdigit():
        if int(text) < 1:
            raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
        return int(text)
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(f"{text!r} is neither a count nor an existing file")
    return text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plan", help="predict the best model subset and the models-vs-samples split from a pilot",
        description="Rank (model subset, k, rule) candidates by their predicted accuracy. "
        "With --population/--questions/--task the file is your pilot and the prediction is "
        "for the full run with k fresh samples per model and question (--json then writes a "
        "frozen plan for 'slmmux run --plan'); without, a pilot is subsampled from a file that "
        "holds the full run and predictions are for all its questions. With --budget, the "
        "models-vs-samples split and the Pareto front of accuracy vs cost.",
    )
    parser.add_argument("--records", "--samples", dest="records", required=True, metavar="FILE",
                        help="shared samples file or records of 'slmmux collect' (JSONL or .gz)")
    parser.add_argument("--population", type=int_in(1), default=None, metavar="N",
                        help="questions of the full run; the file is then the pilot only")
    parser.add_argument("--config", default=None,
                        help="models TOML: prices (money per question) and endpoints (frozen)")
    parser.add_argument("--pilot-questions", type=int_in(1), default=None,
                        help="questions in the pilot (default all)")
    parser.add_argument("--pilot-samples", type=int_in(1), default=None,
                        help="first S samples per model (default all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pilot draw and the fit")
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), default=3,
                        help="samples per model of the ranked candidates")
    parser.add_argument("--subset-sizes", default=None,
                        help="comma-separated subset sizes (default 2,3; with fewer than 3 "
                             "models, 1 up to their number)")
    parser.add_argument("--rules", default="slm-mux", action=ListedStore,
                        type=names_in(plan_rules, what="rule"), lists={"plan": plan_rules},
                        help="comma-separated rules among %(plan)s (model-switch: pairs, "
                             "expected cost with early stopping)")
    parser.add_argument("--predictor", default="hierarchical", choices=PLAN_PREDICTORS,
                        metavar="NAME", help="predictor: %(choices)s")
    parser.add_argument("--draws", type=int_in(2, MAX_POSTERIOR_DRAWS), default=100,
                        help="posterior draws")
    parser.add_argument("--svi-steps", type=int_in(1, MAX_STEPS), default=1000,
                        help="SVI steps of the answer-model fit")
    parser.add_argument("--unseen", default="stratified",
                        choices=PLAN_UNSEEN,
                        help="hierarchical: unseen questions as a Bayesian bootstrap of the "
                             "pilot questions, the same bootstrap stratified by shared failures "
                             "(their share under a Beta posterior, so a small pilot without "
                             "one still allows some), new questions of the fitted population, "
                             "or the Dirichlet-process mix of bootstrap and population "
                             "(default: stratified)")
    parser.add_argument("--concentration", type=number_in(0, above=True), default=1.0,
                        help="Dirichlet-process concentration (--unseen dirichlet-process)")
    parser.add_argument("--models", default=None, help="comma-separated model names (default all)")
    parser.add_argument("--cost-per-sample", default=None,
                        help="one number for all models or NAME=COST,... (default 1 per sample)")
    parser.add_argument("--price-per-1k", default=None, help="NAME=PRICE,... per 1000 tokens")
    parser.add_argument("--mean-tokens", default=None,
                        help="NAME=TOKENS,... mean tokens per sample")
    parser.add_argument("--budget", default=None, help="comma-separated budgets per question")
    parser.add_argument("--max-budget-size", type=int_in(1), default=4,
                        help="largest subset in the split")
    parser.add_argument("--json", default=None, help="write the result JSON here")
    parser.add_argument("--figure", default=None,
                        help="write the Pareto front figure here (.png/.svg)")
    add_task_arguments(parser, task_required=False, questions_type=count_or_file,
                       task_note=" (optional, with --config: the full run's questions and "
                       "prompts, frozen into the plan)",
                       questions_help="the full run's questions: a count N, or a file of "
                       "question ids (one per line, or JSONL with question_id); the file is "
                       "then the pilot only")
    parser.set_defaults(handler=run)


def _int_list(text: str, flag: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{flag}: expected comma-separated integers, got {text!r}") from None
    if not values:
        raise UserError(f"{flag}: no value given")
    return values


def _name_values(text: str, models, flag: str) -> dict:
    out = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise UserError(f"{flag}: expected NAME=VALUE, got {item!r}")
        if name.strip() not in models:
            raise UserError(f"{flag}: unknown model {name.strip()!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UserError(f"{flag}: {value!r} is not a number") from None
        if not 0 < out[name.strip()] < float("inf"):
            raise UserError(f"{flag}: {name.strip()} must be positive and finite, got {value}")
    return out


def parse_costs(models, cost_per_sample=None, price_per_1k=None, mean_tokens=None):
    """Cost of one sample of each model (default 1); ``price × tokens / 1000`` when both given.

    >>> parse_costs(("a", "b"), "a=2").tolist()
    [2.0, 1.0]
    """
    import numpy as np

    from slmmux_theory.planning.budget import sample_cost

    costs = np.ones(len(models))
    if cost_per_sample is not None:
        try:
            costs[:] = float(cost_per_sample)
            if not 0 < costs[0] < float("inf"):
                raise UserError(
                    f"--cost-per-sample must be positive and finite, got {cost_per_sample}")
        except ValueError:
            for name, value in _name_values(cost_per_sample, models, "--cost-per-sample").items():
                costs[models.index(name)] = value
    if (price_per_1k is None) != (mean_tokens is None):
        raise UserError("--price-per-1k and --mean-tokens must be given together")
    if price_per_1k is not None:
        prices = _name_values(price_per_1k, models, "--price-per-1k")
        tokens = _name_values(mean_tokens, models, "--mean-tokens")
        missing = [m for m in models if m not in prices or m not in tokens]
        if missing:
            raise UserError(f"--price-per-1k/--mean-tokens: no value for model {missing[0]!r}")
        costs = np.asarray(sample_cost([prices[m] for m in models], [tokens[m] for m in models]))
    return costs


def _print_table(candidates, names_of, limit: int = 10) -> None:
    print(f"{'rank':>4} {'rule':16} {'k':>2} {'accuracy':>8} {'90% interval':>17} "
          f"{'p_best':>6} {'tokens/q':>9}  models")
    for rank, c in enumerate(candidates[:limit], start=1):
        tokens = "-" if c.get("expected_tokens") is None else f"{c['expected_tokens']:.0f}"
        print(f"{rank:4d} {c['rule']:16} {c['k']:2d} {c['predicted_accuracy']:8.4f} "
              f"[{c['interval'][0]:.4f}, {c['interval'][1]:.4f}] {c['p_best']:6.2f} "
              f"{tokens:>9}  {', '.join(names_of(c))}")


def _run_pilot(args, settings) -> int:
    from slmmux_run.frozen_plan import plan_from_pilot, write_plan
    from slmmux_run.plots import pareto_figure
    from slmmux_run.progress import Progress

    with Progress("plan: fit the answer model on the pilot, predict every candidate"):  # stderr
        frozen = plan_from_pilot(
            args.records, settings, population=args.population, questions=args.questions,
            config_path=args.config, task=args.task,
            task_options=task_options(args) if args.task else None,
            models=args.models.split(",") if args.models else None)
    document, pilot = frozen.document, frozen.document["pilot"]
    low, high = pilot["samples_per_model"]
    print(f"plan from a pilot of {pilot['questions']} questions x {low}-{high} samples per model "
          f"({len(pilot['models'])} models, {args.predictor} predictor); predicted accuracy of "
          f"the full run over {document['population']['questions']} questions "
          f"({pilot['unseen_questions']} unseen) with k = {args.k} fresh samples per model")
    _print_table(document["candidates"], lambda c: c["models"])
    chosen = document["chosen"]
    money = chosen.get("expected_cost")
    print(f"chosen: {chosen['rule']} k={chosen['k']} {', '.join(chosen['models'])}"
          + ("" if money is None else f"; expected money per question {money:.6g}"))
    print(document["p_best_means"])
    for line in document["warnings"]:
        print(f"WARNING: {line}")
    for b in frozen.run.plan.budget:
        print(b.reason)
    if args.figure and frozen.run.plan.front:
        pareto_figure(frozen.run.plan.front, args.figure, candidates=frozen.run.plan.candidates,
                      names=tuple(pilot["models"]))
    if args.json:
        write_plan(document, args.json)
        print(f"frozen plan -> {args.json}")
    return 0


def run(args) -> int:
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_run.jax_cache import enable_compilation_cache
    from slmmux_run.frozen_plan import default_subset_sizes
    from slmmux_run.plan_study import PlanSettings, plan_result
    from slmmux_run.plots import pareto_figure
    from slmmux_run.progress import Progress

    # Compiled programs kept on disk: a second `slmmux plan` skips most compiling (here, not in
    # cli.main, so commands that never compute do not import JAX). A cache JAX was already
    # given (JAX_COMPILATION_CACHE_DIR, the test suite's) is kept with its own settings: a plan
    # run inside a longer process must not re-point it and start serialising every small
    # program of what runs after.
    enable_compilation_cache(keep_existing=True)
    check_output_file(args.json, "--json")  # before the fit: a result is never lost to them
    check_output_file(args.figure, "--figure")
    # Empty: the default sizes, fitted to the file's number of models once it is read.
    sizes = (_int_list(args.subset_sizes, "--subset-sizes")
             if args.subset_sizes is not None else ())
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())
    budgets = tuple(float(b) for b in _int_list(args.budget, "--budget")) if args.budget else ()
    models = args.models.split(",") if args.models else None
    settings = PlanSettings(
        pilot_questions=args.pilot_questions, pilot_samples=args.pilot_samples, seed=args.seed,
        k=args.k, subset_sizes=tuple(sizes), rules=rules, predictor=args.predictor,
        budgets=budgets, max_budget_size=args.max_budget_size, draws=args.draws,
        svi_steps=args.svi_steps, unseen=args.unseen, concentration=args.concentration)
    if args.population is not None or args.questions is not None or args.task is not None:
        if args.cost_per_sample or args.price_per_1k or args.mean_tokens:
            raise UserError("--cost-per-sample/--price-per-1k/--mean-tokens price a full file; "
                            "a pilot is priced by --config and its own token counts")
        return _run_pilot(args, settings)
    if args.config:
        raise UserError("--config prices a plan from a pilot: give --population N as well")
    sample_set = load_sample_set(args.records, models=models)
    if not sizes:
        settings = settings._replace(subset_sizes=default_subset_sizes(sample_set.num_models))
    costs = parse_costs(list(sample_set.models), args.cost_per_sample, args.price_per_1k,
                        args.mean_tokens)
    with Progress("plan: fit the answer model, predict every candidate"):  # stderr
        run_ = plan_result(sample_set, settings, costs, source=args.records)
    result, names = run_.plan, sample_set.models
    num_questions, recorded = sample_set.num_questions, sample_set.num_samples
    print(f"plan from a pilot of {run_.pilot_questions} of {num_questions} questions x "
          f"{run_.pilot_samples} of {recorded} samples ({sample_set.num_models} models, "
          f"{args.predictor} predictor); predicted accuracy over all {num_questions} questions")
    _print_table(run_.output["candidates"], lambda c: c["models"])
    print(run_.output["p_best_means"])
    for line in result.warnings:
        print(f"WARNING: {line}")
    for b in result.budget:
        print(b.reason)
    if args.figure and result.front:
        pareto_figure(result.front, args.figure, candidates=result.candidates, names=names)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(run_.output, indent=1, allow_nan=False))
    return 0
