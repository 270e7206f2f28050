"""``slmmux check``: the held-out test of the fitted answer model on any samples file, or, with
``--plan``, a frozen plan against its full run (:mod:`slmmux_run.plan_check`).

Fits the answer distributions on the first ``--fit-samples`` samples of every model, predicts
the k-sample accuracy of SLM-MUX, Agent Forest and self-consistency for every model pair, and
compares with the exact replay of the held-out samples. The empirical plug-in is run in the
same process as the baseline whose error the model must beat.
"""

from __future__ import annotations

import json
from pathlib import Path

from slmmux_run.cli_args import (
    MAX_POSTERIOR_DRAWS, MAX_SAMPLES, ListedStore, check_output_file, int_in, names_in,
    question_count,
)
from slmmux_run.cli_catalog import HELDOUT_PREDICTORS, heldout_rules
from slmmux_run.errors import UserError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="held-out test: predict pair accuracies from some samples, observe on the rest",
        description="Fit the answer model on the first --fit-samples samples of every model, "
        "predict each model pair's k-sample accuracy under each rule, and compare with the exact "
        "replay of the held-out samples (beside the empirical plug-in's error). With --plan: "
        "compare the full run in --records with the frozen plan (realised accuracy inside the "
        "90% interval? error in points, tokens and money, regret against the best candidate "
        "replayed in hindsight).",
    )
    parser.add_argument("--plan", default=None,
                        help="plan.json of 'slmmux plan'; --records is then the full run")
    parser.add_argument("--records", "--samples", dest="records", required=True, metavar="FILE",
                        help="shared samples file or records of 'slmmux collect' (JSONL or .gz)")
    parser.add_argument("--fit-samples", type=int_in(1, MAX_SAMPLES), default=5,
                        help="samples per model used to fit")
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), default=3,
                        help="samples per model of the predicted rules")
    parser.add_argument("--predictor", default="hierarchical", choices=HELDOUT_PREDICTORS,
                        metavar="NAME", help="predictor: %(choices)s")
    parser.add_argument("--method", default="svi", choices=("svi", "nuts"), help="fit of the hierarchical model")
    parser.add_argument("--draws", type=int_in(1, MAX_POSTERIOR_DRAWS), default=100,
                        help="posterior predictive draws")
    parser.add_argument("--rules", default="slm-mux,agent-forest,self-consistency",
                        action=ListedStore, type=names_in(heldout_rules, what="rule"),
                        lists={"heldout": heldout_rules},
                        help="comma-separated rules among %(heldout)s")
    parser.add_argument("--models", default=None, help="comma-separated model names (default all)")
    parser.add_argument("--questions", type=question_count, default=None, help="use only the first N questions")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fit and the draws")
    parser.add_argument("--json", default=None, help="write the result JSON here")
    parser.set_defaults(handler=run)


def _fmt(value, spec: str) -> str:
    return "unknown" if value is None else format(value, spec)


def _run_plan_check(args) -> int:
    from slmmux_run.frozen_plan import load_plan
    from slmmux_run.plan_check import check_plan

    result = check_plan(load_plan(args.plan), args.records)
    chosen = result["chosen"]
    low, high = result["interval"]
    print(f"check of {args.plan} on {args.records}: {chosen['rule']} k={chosen['k']} on "
          f"{', '.join(chosen['models'])}, {result['questions']} questions")
    verdict = ("inside the frozen 90% interval" if result["inside_interval"] else
               f"OUTSIDE the frozen 90% interval, missed by {result['missed_by_points']:.2f} pt")
    print(f"accuracy: realised {result['realised_accuracy']:.4f}, predicted "
          f"{result['predicted_accuracy']:.4f} [{low:.4f}, {high:.4f}]: {verdict}; error "
          f"{result['error_points']:+.2f} pt")
    print(f"tokens per question: realised {_fmt(result['realised_tokens'], '.1f')}, expected "
          f"{_fmt(result['expected_tokens'], '.1f')}; money per question: realised "
          f"{_fmt(result['realised_cost'], '.6g')}, expected {_fmt(result['expected_cost'], '.6g')}")
    best = result["best_in_hindsight"]
    print(f"regret against the best of {result['replayed_candidates']} candidates replayed in "
          f"hindsight ({best['rule']} {', '.join(best['models'])}: "
          f"{best['realised_accuracy']:.4f}): {result['regret_points']:.2f} pt; over them MAE "
          f"{result['mae_points']:.2f} pt, coverage {result['coverage']:.2f}")
    for note in result["notes"]:
        print(f"NOTE: {note}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, allow_nan=False))
    return 0


def run(args) -> int:
    if args.plan:
        return _run_plan_check(args)
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_run.plan_study import heldout_result
    from slmmux_run.progress import Progress

    check_output_file(args.json, "--json")
    rules = tuple(r.strip() for r in args.rules.split(",") if r.strip())
    unknown = [r for r in rules if r not in heldout_rules()]
    if unknown:
        raise UserError(f"--rules: unknown rule(s) {unknown}; choose from {list(heldout_rules())}")
    models = args.models.split(",") if args.models else None
    sample_set = load_sample_set(args.records, models=models)
    if args.questions is not None:
        sample_set = sample_set.select(questions=list(range(min(args.questions, sample_set.num_questions))))
    with Progress("check: fit on the fit samples, predict every pair, compare"):  # stderr
        result = heldout_result(sample_set, fit_samples=args.fit_samples, k=args.k,
                                predictor=args.predictor, method=args.method, draws=args.draws,
                                rules=rules, seed=args.seed)
    print(f"held-out test on {args.records}: {sample_set.num_models} models x "
          f"{sample_set.num_questions} questions, fit on {args.fit_samples} samples, k = {args.k}")
    print(f"{'rule':18} {'cells':>5} {'MAE (points)':>13} {'coverage':>9} {'plug-in MAE':>12}")
    for rule in rules:
        ours, base = result["by_rule"][rule], result["baseline"][rule]
        print(f"{rule:18} {ours['cells']:5d} {100 * ours['mae']:13.3f} {ours['coverage']:9.3f} "
              f"{100 * base['mae']:12.3f}")
    print(f"seconds: {result['seconds']:.1f}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0
