"""Command-line arguments shared by several subcommands (runner layer, no computation).

Commands must not import each other, so flags that several commands accept live here:

* :func:`add_records_argument`: ``--records FILE``, any samples file (a record file of
  ``slmmux collect`` or a shared samples file; see :func:`slmmux_run.data.sample_files.load_sample_set`),
  with ``--samples`` as an accepted alias where a command had it;
* :func:`add_task_arguments`, :func:`task_options`, :func:`tasks_for_models`: the task flags of
  ``collect``, ``mux --live`` and ``debate run``;
* :func:`question_count`: the type of every ``--questions`` flag (one meaning everywhere: the
  first N questions, N >= 1; the flag omitted means all of them);
* :func:`add_cap_arguments`, :func:`request_cap`, :func:`cost_cap`, :func:`token_limit`: the
  spending caps ``--max-requests``/``--max-cost`` (for the records file, what it holds counts)
  and ``--max-tokens``; NaN, infinite, negative and zero-token values are refused by argparse
  (one line naming the flag, exit 2);
* :func:`names_in`: the argparse type of a comma-separated list of names (``--rule a,b``,
  ``--steps``), each checked against its list at parse time;
* :func:`int_in`, :func:`number_in`: argparse types of the numeric flags (integers in a range;
  finite numbers in a range: NaN and infinities refused), so a bad number ends the command at
  parse time, before any file is read or request sent; :data:`MAX_SAMPLES`, :data:`MAX_DRAWS`,
  :data:`MAX_POSTERIOR_DRAWS`, :data:`MAX_STEPS` and :data:`MAX_QUESTIONS` are the documented
  upper limits that keep memory bounded;
* :func:`check_input_file`, :func:`check_output_file`, :func:`check_output_folder`: paths
  checked before any work (an output must be creatable and writable: a result is never computed
  for minutes and then lost to a bad ``--json``);
* :class:`CommandParser` and :class:`HelpFormatter`: every parser of ``slmmux`` shows defaults
  and marks required flags; :class:`LazyChoices` and :class:`ListedStore`: choices and help
  lists read on first use, so building the parser imports no JAX, NumPyro or SymPy (the
  command's own imports happen when it runs); the lists themselves come from
  :mod:`slmmux_run.cli_catalog`, so neither ``--help`` nor a bad name imports them either.

Example:
  >>> parser = argparse.ArgumentParser()
  >>> add_records_argument(parser, alias=True)
  >>> parser.parse_args(["--samples", "s.jsonl"]).records
  's.jsonl'
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from slmmux_run.cli_catalog import ARITHMETIC_PRESETS, TASKS
from slmmux_run.errors import UserError

__all__ = [
    "MAX_DRAWS", "MAX_POSTERIOR_DRAWS", "MAX_QUESTIONS", "MAX_SAMPLES", "MAX_STEPS",
    "CommandParser", "HelpFormatter", "LazyChoices", "LazyText", "ListedStore",
    "add_cap_arguments", "add_records_argument", "add_task_arguments",
    "check_input_file", "check_output_file", "check_output_folder", "cost_cap", "int_in",
    "names_in", "number_in",
    "question_count", "request_cap", "task_options", "tasks_for_models", "token_limit",
]

MAX_SAMPLES = 10_000
"""Largest ``--k`` (samples per model and question) any command accepts."""
MAX_DRAWS = 10**8
"""Largest number of Monte Carlo draws (memory is bounded by chunking; this bounds the time)."""
MAX_POSTERIOR_DRAWS = 10**4
"""Largest number of posterior draws or replicated data sets (each is held in memory at once:
draws x models x questions x answers)."""
MAX_STEPS = 10**7
"""Largest number of optimisation or warm-up steps."""
MAX_QUESTIONS = 10**6
"""Largest ``--questions`` (first N questions; generated tasks make this many)."""


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
    if value > MAX_QUESTIONS:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_QUESTIONS}, got {value}")
    return value


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """The argparse type of an integer flag in ``low..high`` (``high`` None: no upper limit).

    >>> int_in(1, 10)("3")
    3
    >>> int_in(1)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be an integer >= 1, got 0
    """
    wanted = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    parse.__name__ = wanted
    return parse


def number_in(low: float | None = None, high: float | None = None, *,
              above: bool = False, below: bool = False) -> Callable[[str], float]:  # fmt: skip
    """The argparse type of a finite number in ``[low, high]`` (``above``: ``low`` excluded;
    ``below``: ``high`` excluded).

    >>> number_in(0, 2)("0.7")
    0.7
    >>> number_in(0)("nan")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be a finite number >= 0, got 'nan'
    """
    parts = []
    if low is not None:
        parts.append(f"{'>' if above else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if below else '<='} {high:g}")
    wanted = "a finite number" + (" " + " and ".join(parts) if parts else "")

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        too_low = low is not None and (value <= low if above else value < low)
        too_high = high is not None and (value >= high if below else value > high)
        if not math.isfinite(value) or too_low or too_high:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}")
        return value

    parse.__name__ = wanted
    return parse


def names_in(load: Callable[[], Iterable[str]], *, also: Sequence[str] = (),
             what: str = "name") -> Callable[[str], str]:  # fmt: skip
    """The argparse type of a comma-separated list of names from ``load()`` (read when a value
    is checked), or one of ``also`` alone (such as ``all``); the text is kept as given.

    >>> rules = names_in(lambda: ("a", "b"), also=("all",), what="rule")
    >>> rules("b,a"), rules("all")
    ('b,a', 'all')
    >>> rules("a,c")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: unknown rule 'c'; choose among a, b (comma-separated), or all
    """

    def parse(text: str) -> str:
        if text in also:
            return text
        names = tuple(load())
        given = [name.strip() for name in text.split(",") if name.strip()]
        if not given:
            raise argparse.ArgumentTypeError(f"no {what} given; choose among {', '.join(names)}")
        for name in given:
            if name not in names:
                choice = f"choose among {', '.join(names)} (comma-separated)"
                alone = f", or {' or '.join(also)}" if also else ""
                raise argparse.ArgumentTypeError(f"unknown {what} {name!r}; {choice}{alone}")
        return text

    parse.__name__ = f"comma-separated {what}s"
    return parse


request_cap = int_in(0)
"""The type of ``--max-requests``: an integer >= 0.

>>> request_cap("-1")
Traceback (most recent call last):
argparse.ArgumentTypeError: must be an integer >= 0, got -1
"""

cost_cap = number_in(0)
"""The type of ``--max-cost``: a finite number >= 0 (NaN would disable every comparison).

>>> cost_cap("nan")
Traceback (most recent call last):
argparse.ArgumentTypeError: must be a finite number >= 0, got 'nan'
"""

token_limit = int_in(1)
"""The type of ``--max-tokens``: an integer >= 1.

>>> token_limit("-5")
Traceback (most recent call last):
argparse.ArgumentTypeError: must be an integer >= 1, got -5
"""


def add_cap_arguments(parser, *, flag: str, store: str = "record file",
                      holds: str = "records") -> None:
    """Add ``--max-requests`` and ``--max-cost`` (to a parser or an argument group).

    Args:
      parser: a parser or an argument group.
      flag: the command's flag naming the file the caps are for (``--out``, ``--records``,
        ``--transcripts``).
      store: what that file is, as the help names it (``"transcript file"`` for
        ``debate run``).
      holds: what that file holds, whose requests count against the caps (``"turns"``).
    """
    parser.add_argument(
        "--max-requests", type=request_cap, default=None,
        help=f"cap on HTTP requests (retries and failed requests included) for the {store} "
        f"({flag}): the requests of the {holds} it already holds count (default: no cap)")
    parser.add_argument(
        "--max-cost", type=cost_cap, default=None,
        help=f"cap on cost (config prices x token usage) for the {store} ({flag}): the cost of "
        f"the {holds} it already holds counts; each request reserves its expected cost, so the "
        "cap can be passed by at most the excess of the requests in flight over their expected "
        "cost (default: no cap)")


def check_input_file(path: str | os.PathLike, flag: str) -> Path:
    """``path`` as a Path, checked to be an existing, readable regular file.

    Raises:
      UserError: naming the flag and the path.
    """
    file = Path(path)
    if not file.exists():
        raise UserError(f"{flag} {file}: file does not exist")
    if not file.is_file():
        raise UserError(f"{flag} {file}: not a file (a folder?)")
    if not os.access(file, os.R_OK):
        raise UserError(f"{flag} {file}: cannot be read (permission denied)")
    return file


def _nearest_existing(path: Path) -> Path:
    for parent in (path, *path.parents):
        if os.path.lexists(parent):
            return parent
    return Path(".")


def _check_creatable(path: Path, flag: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    ancestor = _nearest_existing(path.parent if str(path.parent) else Path("."))
    if not ancestor.is_dir():
        raise UserError(f"{flag} {path}: cannot be created ({ancestor} is a file, not a folder)")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UserError(f"{flag} {path}: cannot be created (folder {ancestor} is not writable)")


def check_output_file(path: str | os.PathLike | None, flag: str) -> Path | None:
    """An output file checked before any work: not a folder, and writable or creatable (its
    missing parent folders are created when it is written). None passes through.

    Raises:
      UserError: naming the flag and the path.
    """
    if path is None:
        return None
    file = Path(path)
    if file.is_dir():
        raise UserError(f"{flag} {file}: is a folder; give a file name")
    if file.exists():
        if not os.access(file, os.W_OK):
            raise UserError(f"{flag} {file}: cannot be written (permission denied)")
        return file
    _check_creatable(file, flag)
    return file


def check_output_folder(path: str | os.PathLike, flag: str) -> Path:
    """An output folder checked before any work: an existing writable folder, or one that can
    be created.

    Raises:
      UserError: naming the flag and the path.
    """
    folder = Path(path)
    if folder.exists():
        if not folder.is_dir():
            raise UserError(f"{flag} {folder}: is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UserError(f"{flag} {folder}: folder is not writable")
        return folder
    _check_creatable(folder, flag)
    return folder


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


def add_task_arguments(parser: argparse.ArgumentParser, *, task_required: bool = True,
                       task_note: str = " (required with --live)",
                       questions_type: Callable[[str], object] = question_count,
                       questions_help: str | None = None) -> None:
    """The task flags shared by ``collect``, ``batch``, ``mux --live``, ``debate run`` and
    ``plan``.

    Args:
      parser: the subcommand's parser.
      task_required: whether ``--task`` is required (``mux`` needs it with ``--live`` only).
      task_note: what ``--task``'s help adds when it is not required (when it is needed).
      questions_type: the type of ``--questions`` (``plan`` also takes a question file).
      questions_help: its help (default: the number of questions).
    """
    group = parser.add_argument_group(
        "task", "the questions and prompts; the arithmetic flags shape generated problems")
    group.add_argument("--task", choices=TASKS, metavar="TASK", required=task_required,
                       help="the task to sample: %(choices)s"
                       + ("" if task_required else task_note))
    group.add_argument("--questions", type=questions_type, default=None,
                       help=questions_help
                       or "first N questions (default: arithmetic 80; others all)")
    group.add_argument("--preset", default=None, choices=ARITHMETIC_PRESETS, metavar="PRESET",
                       help="arithmetic preset: %(choices)s; it sets the digits, steps, ops, "
                       "distractors and wrapper (their flags are then ignored)")
    group.add_argument("--digits", type=int_in(1, 18), default=1,
                       help="arithmetic operand digits, 1..18")
    group.add_argument("--steps", type=int_in(1, 50), default=1,
                       help="arithmetic operations per problem, 1..50")
    group.add_argument("--ops", default="+", help="arithmetic operations, e.g. '+-'")
    group.add_argument("--distractors", type=int_in(0, 50), default=0,
                       help="arithmetic distractors, 0..50")
    group.add_argument("--wrapper", choices=("bare", "word"), default=None,
                       help="arithmetic wrapper (default: word with distractors, else bare)")
    group.add_argument("--task-seed", type=int_in(0), default=0,
                       help="seed of the generated problems (>= 0)")
    group.add_argument("--file", default=None, help="question file (gpqa, numeric: required)")
    group.add_argument("--mode", choices=("robust", "reference"), default="robust",
                       help="extraction mode")
    group.add_argument("--categories", default=None,
                       help="mmlu-pro categories, comma-separated (default: all)")
    group.add_argument("--data-dir", default=None,
                       help="shared data directory (default: $SLMMUX_DATA_DIR, else "
                       "../shared/data beside the checkout)")


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
