"""Command-line arguments shared by several subcommands (runner layer, no computation).

Commands must not import each other, so flags that several commands accept live here:

* :func:`add_records_argument`: ``--records FILE``, any samples file (a record file of
  ``slmmux collect`` or a shared samples file; see :func:`slmmux_run.data.sample_files.load_sample_set`),
  with ``--samples`` as an accepted alias where a command had it;
* :func:`add_task_arguments`, :func:`task_options`, :func:`tasks_for_models`: the task flags of
  ``collect``, ``mux --live`` and ``debate run``.

Example:
  >>> parser = argparse.ArgumentParser()
  >>> add_records_argument(parser, alias=True)
  >>> parser.parse_args(["--samples", "s.jsonl"]).records
  's.jsonl'
"""

from __future__ import annotations

import argparse

from slmmux_run.errors import UserError
from slmmux_run.sampling.collect import TASKS, build_task, style_of

__all__ = ["add_records_argument", "add_task_arguments", "task_options", "tasks_for_models"]


def add_records_argument(parser: argparse.ArgumentParser, *, alias: bool = False,
                         required: bool = True, help: str | None = None) -> None:  # fmt: skip
    """Add ``--records FILE`` (stored in ``args.records``).

    Args:
      parser: the subcommand's parser.
      alias: also accept ``--samples FILE`` (commands that took a samples file under that name).
      required: whether the flag is required.
      help: the help text (default: what both schemas are).
    """
    names = ("--records", "--samples") if alias else ("--records",)
    parser.add_argument(
        *names, dest="records", required=required, metavar="FILE",
        help=help or "samples file: records of 'slmmux collect' or a shared samples file "
        "(JSONL, or .jsonl.gz)",
    )  # fmt: skip


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
