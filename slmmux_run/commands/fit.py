"""``slmmux fit``: fit the Bayesian answer model to a samples file; ``--check`` prints the
posterior predictive checks (per model and per model pair, 90 % intervals).

``--records`` (alias ``--samples``) takes a shared samples file or a record file of
``slmmux collect`` (see :func:`slmmux_run.data.sample_files.load_sample_set`).
"""

from __future__ import annotations

import json
from pathlib import Path

from slmmux_run.cli_args import (
    MAX_POSTERIOR_DRAWS, MAX_STEPS, add_records_argument, check_output_file, int_in, question_count,
)

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fit", help="fit the Bayesian answer model (NUTS or SVI)",
        description="Fit the Bayesian answer model to a samples file by SVI or NUTS and print "
        "the fit's time; with --check, the posterior predictive checks per model and model pair.",
    )
    add_records_argument(parser, alias=True)
    parser.add_argument("--task-name", default=None, help="task in the records, when several")
    parser.add_argument("--method", default="svi", choices=("svi", "nuts"), help="fitting method")
    parser.add_argument("--svi-steps", type=int_in(1, MAX_STEPS), default=None,
                        help="SVI steps (default: the fit function's default)")
    parser.add_argument("--rank", type=int_in(0, 100), default=None,
                        help="model-by-question interaction factors K "
                             "(default: the model's; 0 = off)")
    parser.add_argument("--nuts-warmup", type=int_in(0, MAX_STEPS), default=500,
                        help="NUTS warm-up steps")
    parser.add_argument("--draws", type=int_in(1, MAX_POSTERIOR_DRAWS), default=500,
                        help="posterior draws kept")
    parser.add_argument("--check", action="store_true", help="print the predictive checks")
    parser.add_argument("--replicates", type=int_in(1, MAX_POSTERIOR_DRAWS), default=200,
                        help="replicated data sets")
    parser.add_argument("--questions", type=question_count, default=None, help="first N questions only")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fit and the checks")
    parser.add_argument("--json", default=None, help="write a summary JSON here")
    parser.set_defaults(handler=run)


def run(args) -> int:
    import jax
    import numpy as np

    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_run.fit_report import (
        load_average,
        population_check,
        print_check_table,
        replicated_check,
        timed_fit,
    )
    from slmmux_run.errors import UserError
    from slmmux_run.progress import Progress
    from slmmux_theory.inference.answer_model import AnswerModelConfig

    check_output_file(args.json, "--json")
    sample_set = load_sample_set(args.records, task=args.task_name)
    if args.questions is not None:
        sample_set = sample_set.select(questions=list(range(min(args.questions, sample_set.num_questions))))
    counts = np.asarray(sample_set.counts)
    fit_key, check_key = jax.random.split(jax.random.PRNGKey(args.seed))
    options = {"svi": {} if args.svi_steps is None else dict(svi_steps=args.svi_steps),
               "nuts": dict(num_warmup=args.nuts_warmup)}[args.method]
    if args.rank is not None:
        options["config"] = AnswerModelConfig(interaction_rank=args.rank)
    with Progress(f"fit ({args.method}) of {counts.shape[0]} models x {counts.shape[1]} questions"):
        fit, wall, cpu = timed_fit(fit_key, counts, method=args.method, num_draws=args.draws,
                                   **options)
    load = load_average()
    print(f"{args.method.upper()} fit of {counts.shape[0]} models x {counts.shape[1]} questions x "
          f"{int(counts.sum(-1).max())} samples: wall {wall:.1f} s, CPU {cpu:.1f} s, "
          f"load average {load}"
          + (f", divergences {fit.divergences}" if args.method == "nuts" else ""))
    summary = {"method": args.method, "wall_seconds": wall, "cpu_seconds": cpu, "load_average": load}
    if args.check:
        check = replicated_check(check_key, fit, counts, args.replicates)
        print_check_table(check, list(sample_set.models))
        population = population_check(check_key, fit, counts, args.replicates)
        print(f"coverage (fitted questions): {check.coverage():.3f}; "
              f"new questions from the population: {population.coverage():.3f}")
        summary |= {"coverage": float(check.coverage()), "population_coverage": float(population.coverage()),
                    "inside_fraction": [float(x) for x in check.inside_fraction()]}
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=1))
    return 0
