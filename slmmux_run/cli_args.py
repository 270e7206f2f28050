"""Command-line arguments shared by several subcommands (runner layer, no computation).

Commands must not import each other, so flags that several commands accept live here:

* :func:`add_records_argument`: ``--records FILE``, any samples file (a record file of
  ``slmmux collect`` or a shared samples file; see :func:`slmmux_run.data.sample_files.load_sample_set`),
  with ``--samples`` as an accepted alias where a command had it;
* :func:`add_task_arguments`, :func:`task_options`, :func:`tasks_for_models`: the task flags of
  ``collect``, ``mux --live`` and ``debate run``;
* :func:`question_count`: the type of every ``--questions`` flag (one meaning everywhere: the
  first N questions, N >= 1; the flag omitted means all of them);
* :class:`CommandParser` and :class:`HelpFormatter`: every parser of ``slmmux`` shows defaults
  and marks required flags; :class:`LazyChoices` and :class:`ListedStore`: choices and help
  lists read on first use, so building the parser imports no JAX, NumPyro or SymPy (the
  command's own imports happen when it runs; a list that needs the theory loads it when that
  help is printed or that flag is checked).

Example:
  >>> parser = argparse.ArgumentParser()
  >>> add_records_argument(parser, alias=True)
  >>> parser.parse_args(["--samples", "s.jsonl"]).records
  's.jsonl'
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence

from slmmux_run.errors import UserError

__all__ = [
    "CommandParser", "HelpFormatter", "LazyChoices", "LazyText", "ListedStore",
    "add_records_argument", "add_task_arguments", "question_count", "task_options",
    "tasks_for_models",
]


def question_count(text: str) -> int:
    """The value of a ``--questions`` flag: an integer >= 1 (0 is refused, not read as "all").

    >>> question_count("12")
    12
    >>> question_count("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be >= 1, got 0; omit the flag for all questions
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"must be >= 1, got {value}; omit the flag for all questions")
    return value


class LazyChoices(Sequence):
    """A flag's choices, read from ``load()`` on first use (membership, iteration, help).

    Give the flag a ``metavar`` (argparse lists choices in the usage line otherwise, which would
    load them when the parser is built) and ``%(choices)s`` in its help.

    >>> choices = LazyChoices(lambda: ("a", "b"))
    >>> "b" in choices, list(choices)
    (True, ['a', 'b'])
    """

    def __init__(self, load: Callable[[], Iterable[str]]):
        self._load = load
        self._values: tuple[str, ...] | None = None

    def _items(self) -> tuple[str, ...]:
        if self._values is None:
            self._values = tuple(self._load())
        return self._values

    def __getitem__(self, index):
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __contains__(self, value) -> bool:
        return value in self._items()

    def __iter__(self):
        return iter(self._items())


class LazyText:
    """Text computed on first ``str()``: a list in a help string (see :class:`ListedStore`)."""

    def __init__(self, load: Callable[[], str | Iterable[str]]):
        self._load = load

    def __str__(self) -> str:
        value = self._load()
        return value if isinstance(value, str) else ", ".join(value)


class ListedStore(argparse.Action):
    """``action="store"`` whose help names lists read when the help is printed.

    Each keyword of ``lists`` maps a name to a function returning the list; the help says
    ``%(NAME)s`` where it goes (argparse fills help strings from the action's attributes).

    >>> parser = argparse.ArgumentParser(prog="p")
    >>> _ = parser.add_argument("--x", action=ListedStore, lists={"xs": lambda: ("a", "b")},
    ...                         help="one of %(xs)s")
    >>> "one of a, b" in parser.format_help()
    True
    """

    def __init__(self, option_strings, dest, lists: dict | None = None, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        for name, load in (lists or {}).items():
            setattr(self, name, LazyText(load))

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each flag's default (unless the text already speaks of one) and marks
    required flags."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required and action.option_strings:
            return text + " (required)"
        default = action.default
        unset = any(default is value for value in (None, False, argparse.SUPPRESS))
        shown = action.option_strings and not unset and "default" not in text.lower()
        return text + " (default: %(default)s)" if shown else text


class CommandParser(argparse.ArgumentParser):
    """The parser class of ``slmmux`` and every subcommand (subparsers inherit it)."""

    def __init__(self, *args, formatter_class=HelpFormatter, **kwargs):
        super().__init__(*args, formatter_class=formatter_class, **kwargs)
        # Every level takes it (``slmmux --quiet plan`` and ``slmmux plan --quiet``); SUPPRESS
        # keeps a subcommand's absent flag from resetting the top level's.
        self.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                          help="no progress lines on stderr (results and errors still print)")


def _task_names() -> tuple[str, ...]:
    from slmmux_run.sampling.collect import TASKS

    return TASKS


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
        help=help or "samples file: records of 'slmmux collect' or 'batch import', a shared "
        "samples file, an lm-eval --log_samples file or folder, an Inspect log, or "
        "Best-of-∞ analysis_*.jsonl files (JSONL, or .jsonl.gz)",
    )  # fmt: skip


def add_task_arguments(parser: argparse.ArgumentParser, *, task_required: bool = True) -> None:
    """The task flags shared by ``collect``, ``mux --live`` and ``debate run``.

    Args:
      parser: the subcommand's parser.
      task_required: whether ``--task`` is required (``mux`` needs it with ``--live`` only).
    """
    group = parser.add_argument_group("task")
    group.add_argument("--task", choices=LazyChoices(_task_names), metavar="TASK",
                       required=task_required,
                       help="the task to sample: %(choices)s"
                       + ("" if task_required else " (required with --live)"))
    group.add_argument("--questions", type=question_count, default=None,
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
    from slmmux_run.sampling.collect import build_task, style_of

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
