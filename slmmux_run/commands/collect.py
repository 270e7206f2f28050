"""``slmmux collect``: sample models on a task into a JSONL record file (see slmmux_run.sampling.collect)."""

from __future__ import annotations

import argparse
import sys

from slmmux_run.cli_args import (
    MAX_SAMPLES, add_cap_arguments, add_task_arguments, int_in, number_in, task_options,
    tasks_for_models, token_limit,
)

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``collect`` subcommand."""
    parser = subparsers.add_parser(
        "collect",
        help="sample models on a task into a JSONL record file (resumes: pays nothing twice)",
        description="Sample k answers per (model, question) and store them with extracted "
        "answers and grades, each response as it arrives. Samples already in --out are never "
        "requested again; one collect at a time per --out (a lock), and a file that is not a "
        "record file is refused.",
    )
    parser.add_argument("--config", required=True, help="model config TOML")
    parser.add_argument("--models", required=True, help="model names, comma-separated")
    parser.add_argument("--k", type=int_in(1, MAX_SAMPLES), default=5,
                        help="samples per model and question")
    parser.add_argument("--temperature", type=number_in(0), default=0.7,
                        help="sampling temperature (>= 0)")
    parser.add_argument("--seed", type=int, default=0, help="run seed (per-question seeds)")
    parser.add_argument("--max-tokens", type=token_limit, default=64,
                        help="completion limit per sample")
    parser.add_argument("--out", required=True, help="record file (JSONL, appended to)")
    parser.add_argument("--dry-run", action="store_true", help="print the estimate and exit")
    add_cap_arguments(parser, flag="--out")
    add_task_arguments(parser)
    parser.set_defaults(handler=run, interrupt_keeps=lambda args: args.out)


def run(args: argparse.Namespace) -> int:
    """Collect; exit 0 when every planned sample is stored, 3 when some are missing (when some
    failed, their commonest error and a hint go to stderr)."""
    # Imported here, not at the top: building the CLI's parser stays light.
    import asyncio

    from slmmux_run.data.records import RecordStore
    from slmmux_run.sampling.client import Client
    from slmmux_run.sampling.collect import collect, estimate_plan, keys_of, plan_requests
    from slmmux_run.sampling.config import load_config
    from slmmux_run.progress import Progress
    from slmmux_run.sampling.failures import failure_line, summarize_failures
    from slmmux_run.sampling.spending import Budget, format_estimate
    from slmmux_run.sampling.spent import spent_in_records

    config = load_config(args.config)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    for model in models:
        config.model(model)
    tasks = tasks_for_models(config, args.task, task_options(args), models)
    plan = plan_requests(tasks, args.k, args.temperature, args.seed, args.max_tokens)
    store = RecordStore(args.out)
    estimate = estimate_plan(config, plan, store)
    if args.dry_run:
        print(format_estimate(estimate))
        return 0
    print(format_estimate(estimate, "to send (at most)"))  # a real run is no dry run
    to_send = sum(len(store.missing(keys_of(question))) for question in plan)

    async def main(budget, spent, progress):
        async with Client(config, budget=budget, progress=progress, spent=spent) as client:
            return await collect(client, store, plan)

    # one writer; --out checked writable before any request
    with store.exclusive(), Progress("collect", to_send, unit="samples") as progress:
        # The caps and the rate limits are for the record file: what it holds counts.
        spent = spent_in_records(store.records, config)
        budget = Budget(args.max_requests, args.max_cost, spent.requests, spent.cost)
        summary = asyncio.run(main(budget, spent, progress))
    print(
        f"collected: {summary.planned} planned, {summary.cached} already stored, "
        f"{summary.stored} new, {summary.failed} failed, {summary.not_sent} not sent (budget); "
        f"{budget.requests - spent.requests} requests, cost {budget.cost - spent.cost:.4f} -> "
        f"{args.out} (the file in all: {budget.requests} requests, cost {budget.cost:.4f})"
    )
    if summary.failed:  # say why: the commonest error of the stored samples and a hint
        latest = store.latest()
        failures = summarize_failures(latest[key].error for question in plan
                                      for key in keys_of(question) if key in latest)  # fmt: skip
        print(f"slmmux collect: {failure_line(failures)}", file=sys.stderr)
    return 0 if summary.failed == 0 and summary.not_sent == 0 else 3
