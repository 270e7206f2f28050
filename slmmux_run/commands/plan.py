"""``slmmux plan``: rank (subset, k, rule) candidates by predicted population accuracy from a pilot.

The pilot is ``--pilot-questions`` questions drawn at random (``--seed``) from a samples file,
with the first ``--pilot-samples`` recorded samples of every model. Predictions are for the
accuracy over ALL questions of the file, replayed over the recorded samples (see
:mod:`slmmux_theory.planning.plan`). With ``--budget`` the models-vs-samples split is printed with its
reason, and the Pareto front of accuracy vs cost is written as JSON (and ``--figure``).
"""

from __future__ import annotations

import json
from pathlib import Path

from slmmux_run.cli_args import LazyChoices, ListedStore
from slmmux_run.errors import UserError

__all__ = ["register", "run", "parse_costs"]


def _predictors() -> tuple[str, ...]:
    from slmmux_theory.planning.plan import PREDICTORS

    return PREDICTORS


def _plan_rules() -> tuple[str, ...]:
    from slmmux_theory.planning.plan import PLAN_RULES

    return PLAN_RULES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plan", help="predict the best model subset and the models-vs-samples split from a pilot",
        description="Rank (model subset, k, rule) candidates by their predicted accuracy over "
        "all questions of a samples file, from a pilot of some questions and samples; with "
        "--budget, the models-vs-samples split and the Pareto front of accuracy vs cost.",
    )
    parser.add_argument("--records", "--samples", dest="records", required=True, metavar="FILE",
                        help="shared samples file or records of 'slmmux collect' (JSONL or .gz)")
    parser.add_argument("--pilot-questions", type=int, default=None,
                        help="questions in the pilot (default all)")
    parser.add_argument("--pilot-samples", type=int, default=None,
                        help="first S samples per model (default all)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pilot draw and the fit")
    parser.add_argument("--k", type=int, default=3,
                        help="samples per model of the ranked candidates")
    parser.add_argument("--subset-sizes", default="2,3", help="comma-separated subset sizes")
    parser.add_argument("--rules", default="slm-mux", action=ListedStore,
                        lists={"plan": _plan_rules},
                        help="comma-separated rules among %(plan)s (model-switch: pairs, "
                             "expected cost with early stopping)")
    parser.add_argument("--predictor", default="hierarchical", choices=LazyChoices(_predictors),
                        metavar="NAME", help="predictor: %(choices)s")
    parser.add_argument("--draws", type=int, default=100, help="posterior draws")
    parser.add_argument("--svi-steps", type=int, default=1000,
                        help="SVI steps of the answer-model fit")
    parser.add_argument("--unseen", default="stratified",
                        choices=("bootstrap", "stratified", "dirichlet-process", "population"),
                        help="hierarchical: unseen questions as a Bayesian bootstrap of the "
                             "pilot questions, the same bootstrap stratified by shared failures "
                             "(their share under a Beta posterior, so a small pilot without "
                             "one still allows some), new questions of the fitted population, "
                             "or the Dirichlet-process mix of bootstrap and population "
                             "(default: stratified)")
    parser.add_argument("--concentration", type=float, default=1.0,
                        help="Dirichlet-process concentration (--unseen dirichlet-process)")
    parser.add_argument("--models", default=None, help="comma-separated model names (default all)")
    parser.add_argument("--cost-per-sample", default=None,
                        help="one number for all models or NAME=COST,... (default 1 per sample)")
    parser.add_argument("--price-per-1k", default=None, help="NAME=PRICE,... per 1000 tokens")
    parser.add_argument("--mean-tokens", default=None,
                        help="NAME=TOKENS,... mean tokens per sample")
    parser.add_argument("--budget", default=None, help="comma-separated budgets per question")
    parser.add_argument("--max-budget-size", type=int, default=4,
                        help="largest subset in the split")
    parser.add_argument("--json", default=None, help="write the result JSON here")
    parser.add_argument("--figure", default=None,
                        help="write the Pareto front figure here (.png/.svg)")
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
        if not out[name.strip()] > 0:
            raise UserError(f"{flag}: {name.strip()} must be positive, got {value}")
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
            if not costs[0] > 0:
                raise UserError(f"--cost-per-sample must be positive, got {cost_per_sample}")
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


def run(args) -> int:
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_run.plan_study import PlanSettings, plan_result
    from slmmux_run.plots import pareto_figure
    from slmmux_run.progress import Progress

    sizes = _int_list(args.subset_sizes, "--subset-sizes")
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())
    budgets = tuple(float(b) for b in _int_list(args.budget, "--budget")) if args.budget else ()
    models = args.models.split(",") if args.models else None
    sample_set = load_sample_set(args.records, models=models)
    costs = parse_costs(list(sample_set.models), args.cost_per_sample, args.price_per_1k,
                        args.mean_tokens)
    settings = PlanSettings(
        pilot_questions=args.pilot_questions, pilot_samples=args.pilot_samples, seed=args.seed,
        k=args.k, subset_sizes=tuple(sizes), rules=rules, predictor=args.predictor,
        budgets=budgets, max_budget_size=args.max_budget_size, draws=args.draws,
        svi_steps=args.svi_steps, unseen=args.unseen, concentration=args.concentration)
    with Progress("plan: fit the answer model, predict every candidate"):  # stderr
        run_ = plan_result(sample_set, settings, costs, source=args.records)
    result, names = run_.plan, sample_set.models
    num_questions, recorded = sample_set.num_questions, sample_set.num_samples
    print(f"plan from a pilot of {run_.pilot_questions} of {num_questions} questions x "
          f"{run_.pilot_samples} of {recorded} samples ({sample_set.num_models} models, "
          f"{args.predictor} predictor); predicted accuracy over all {num_questions} questions")
    print(f"{'rank':>4} {'rule':16} {'k':>2} {'accuracy':>8} {'90% interval':>17} "
          f"{'p_best':>6}  models")
    for rank, c in enumerate(result.candidates[:10], start=1):
        print(f"{rank:4d} {c.rule:16} {c.k:2d} {c.predicted_accuracy:8.4f} "
              f"[{c.interval[0]:.4f}, {c.interval[1]:.4f}] {c.p_best:6.2f}  "
              f"{', '.join(names[i] for i in c.models)}")
    for line in result.warnings:
        print(f"WARNING: {line}")
    for b in result.budget:
        print(b.reason)
    if args.figure and result.front:
        pareto_figure(result.front, args.figure)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(run_.output, indent=1))
    return 0
