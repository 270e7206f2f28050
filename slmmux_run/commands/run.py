"""``slmmux run --plan``: execute a frozen plan (see :mod:`slmmux_run.plan_run`)."""

from __future__ import annotations

import argparse

from slmmux_run.cli_args import add_cap_arguments

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="execute a frozen plan: the chosen models' k samples on every population question",
        description="Sample what the plan's chosen candidate still lacks: k samples per chosen "
        "model on every question of the population, the pilot's samples reused (copied into "
        "--out when they live in another record file), live for ModelSwitch (the second model "
        "only where the first did not stop). Resumes: samples already in --out are never "
        "requested again. Exit 0 when every planned sample is stored, 3 when some are missing.",
    )
    parser.add_argument("--plan", required=True, help="plan.json written by 'slmmux plan --json'")
    parser.add_argument("--config", required=True, help="model config TOML")
    parser.add_argument("--out", required=True, help="record file of the full run (appended to)")
    parser.add_argument("--pilot", default=None,
                        help="the pilot file (default: the file the plan was made from, "
                             "as typed then, or beside the plan)")
    add_cap_arguments(parser, flag="--out")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the plan; print what was sampled and spent."""
    from slmmux_run.frozen_plan import load_plan
    from slmmux_run.plan_run import execute_plan

    document = load_plan(args.plan)
    outcome = execute_plan(document, args.config, args.out, pilot=args.pilot,
                           max_requests=args.max_requests, max_cost=args.max_cost,
                           plan_path=args.plan)
    print(f"run of {args.plan}: {outcome.rule} k={outcome.k} on {', '.join(outcome.models)} "
          f"over {outcome.questions} questions; {outcome.pilot_copied} pilot records copied")
    print(f"samples: {outcome.planned} planned, {outcome.already_stored} already stored, "
          f"{outcome.new} new, {outcome.failed} failed, {outcome.not_sent} not sent (caps); "
          f"{outcome.requests} requests, cost {outcome.cost:.4f} -> {outcome.out}")
    print(f"next: slmmux check --plan {args.plan} --records {outcome.out}")
    return 0 if outcome.failed == 0 and outcome.not_sent == 0 else 3
