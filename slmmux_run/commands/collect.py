"""``slmmux collect``: sample models on a task into a JSONL record file (see slmmux_run.sampling.collect)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from slmmux_run.sampling.client import Client
from slmmux_run.sampling.collect import TASKS, build_task, collect, estimate_plan, plan_requests, style_of
from slmmux_run.sampling.config import load_config
from slmmux_run.errors import UserError
from slmmux_run.data.records import RecordStore
from slmmux_run.sampling.spending import Budget, ProgressReporter, format_estimate

__all__ = ["add_task_arguments", "register", "run", "task_options", "tasks_for_models"]


def add_task_arguments(parser: argparse.ArgumentParser) -> None:
    """The task flags shared by ``collect`` and ``mux --live``."""
    group = parser.add_argument_group("task")
    group.add_argument("--task", choices=TASKS, required=False, help="the task to sample")
    group.add_argument("--questions", type=int, default=None,
                       help="number of questions (arithmetic default 80; others: all)")
    group.add_argument("--preset", default=None,
                       help="arithmetic preset: easy, easy-word, medium, medium-word, hard")
    group.add_argument("--digits", type=int, default=1, help="arithmetic operand digits")
    group.add_argument("--steps", type=int, default=1, help="arithmetic operations per problem")
    group.add_argument("--ops", default="+", help="arithmetic operations, e.g. '+-'")
    group.add_argument("--distractors", type=int, default=0, help="arithmetic distractors")
    group.add_argument("--wrapper", choices=("bare", "word"), default=None,
                       help="arithmetic wrapper")
    group.add_argument("--task-seed", type=int, default=0, help="seed of the generated problems")
    group.add_argument("--file", default=None, help="question file (gpqa, numeric)")
    group.add_argument("--mode", choices=("robust", "reference"), default="robust",
                       help="extraction mode")
    group.add_argument("--categories", default=None, help="mmlu-pro categories, comma-separated")
    group.add_argument("--data-dir", default=None, help="shared data directory")


def task_options(args: argparse.Namespace) -> dict:
    """Task options from the parsed flags (see :func:`slmmux_run.sampling.collect.build_task`)."""
    return {
        "n_questions": args.questions, "preset": args.preset, "digits": args.digits,
        "steps": args.steps, "ops": args.ops, "distractors": args.distractors,
        "wrapper": args.wrapper, "task_seed": args.task_seed, "file": args.file,
        "mode": args.mode, "data_dir": args.data_dir,
        "categories": args.categories.split(",") if args.categories else None,
    }  # fmt: skip


def tasks_for_models(config, task: str, options: dict, models: list[str]) -> dict:
    """The task in each model's prompt style, built once per style."""
    if not task:
        raise UserError("--task is required")
    by_style: dict[str, object] = {}
    tasks = {}
    for model in models:
        style = style_of(config, model)
        if style not in by_style:
            by_style[style] = build_task(task, style, options)
        tasks[model] = by_style[style]
    return tasks


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``collect`` subcommand."""
    parser = subparsers.add_parser(
        "collect",
        help="sample models on a task into a JSONL record file (resumes: pays nothing twice)",
        description="Sample k answers per (model, question) and store them with extracted "
        "answers and grades. Samples already in --out are never requested again.",
    )
    parser.add_argument("--config", required=True, help="model config TOML")
    parser.add_argument("--models", required=True, help="model names, comma-separated")
    parser.add_argument("--samples", type=int, default=5, help="samples per model and question")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=0, help="run seed (per-question seeds)")
    parser.add_argument("--max-tokens", type=int, default=64, help="completion limit per sample")
    parser.add_argument("--out", required=True, help="record file (JSONL, appended to)")
    parser.add_argument("--dry-run", action="store_true", help="print the estimate and exit")
    parser.add_argument("--max-requests", type=int, default=None, help="cap on HTTP requests")
    parser.add_argument("--max-cost", type=float, default=None, help="cap on cost")
    add_task_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Collect; exit 0 when every planned sample is stored, 3 when some are missing."""
    config = load_config(args.config)
    models = [name.strip() for name in args.models.split(",") if name.strip()]
    for model in models:
        config.model(model)
    tasks = tasks_for_models(config, args.task, task_options(args), models)
    plan = plan_requests(tasks, args.samples, args.temperature, args.seed, args.max_tokens)
    store = RecordStore(args.out)
    print(format_estimate(estimate_plan(config, plan, store)))
    if args.dry_run:
        return 0
    progress = ProgressReporter(sum(q.request.samples for q in plan), stream=sys.stderr)
    budget = Budget(args.max_requests, args.max_cost)

    async def main():
        async with Client(config, budget=budget, progress=progress) as client:
            return await collect(client, store, plan)

    summary = asyncio.run(main())
    progress.close()
    print(
        f"collected: {summary.planned} planned, {summary.cached} already stored, "
        f"{summary.stored} new, {summary.failed} failed, {summary.not_sent} not sent (budget); "
        f"{budget.requests} requests, cost {budget.cost:.4f} -> {args.out}"
    )
    return 0 if summary.failed == 0 and summary.not_sent == 0 else 3
