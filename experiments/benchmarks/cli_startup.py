"""How long do ``slmmux --help`` and every subcommand's ``--help`` take, beside ``python -c pass``?

Each round starts every command as a fresh process (the CLI as ``python -m slmmux_run.cli ...``,
which imports what the ``slmmux`` console script imports), in turn with a bare ``python -c pass``
so machine load hits all alike, and times them by the wall clock. The script prints the machine's
load average, then per command the median, the slowest run and the median ratio to the bare
interpreter over paired rounds. Target (issue 14): every median under 1.0 s.

    python -m experiments.benchmarks.cli_startup [--runs 7]              # every subcommand's --help
    python -m experiments.benchmarks.cli_startup --args="mux --records r.jsonl --rule nope"
    python -m experiments.benchmarks.cli_startup --errors                # the argument errors too

Without ``--args`` the commands are ``slmmux --help`` and ``slmmux COMMAND [ACTION] --help`` for
every subcommand (and every action of ``debate``, ``batch``) that the parser holds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

__all__ = ["ARGUMENT_ERRORS", "help_commands", "main", "time_process"]

ARGUMENT_ERRORS = (
    "mux --records r.jsonl --rule nope",
    "exact --input d.json --rule nope --k 1",
    "plan --records r.jsonl --rules nope",
    "check --records r.jsonl --predictor nope",
    "reproduce --steps nope",
    "collect --config m.toml --models a --out r.jsonl --task nope",
)
"""Argument errors timed by ``--errors``: each ends with exit code 2 before any file is read."""


def help_commands() -> list[str]:
    """``--help`` of the top level and of every subcommand and action, as argument strings.

    >>> help_commands()[:2]
    ['--help', 'batch --help']
    """
    from slmmux_run.cli import build_parser

    commands = ["--help"]

    def walk(prefix: str, parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    commands.append(f"{prefix}{name} --help")
                    walk(f"{prefix}{name} ", child)

    walk("", build_parser())
    return commands


def time_process(command: list[str]) -> float:
    """Wall-clock seconds of one run of ``command`` (its output discarded).

    Exit code 2 (bad input) counts as a run, so argument errors can be timed too.

    Raises:
      RuntimeError: on any other failure (its exit code and the end of its stderr).
    """
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-500:]}")
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command")
    parser.add_argument("--args", default=None,
                        help="time only this argument string of slmmux, space-separated "
                        "(default: every subcommand's --help)")
    parser.add_argument("--errors", action="store_true",
                        help="also time the argument errors of ARGUMENT_ERRORS")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    commands = [args.args] if args.args else help_commands()
    if args.errors:
        commands += list(ARGUMENT_ERRORS)
    bare = [sys.executable, "-c", "pass"]
    cli = {text: [sys.executable, "-m", "slmmux_run.cli", *text.split()] for text in commands}
    for command in cli.values():
        time_process(command)  # warm-up: compiled bytecode and the file cache
    bare_times: list[float] = []
    times: dict[str, list[float]] = {text: [] for text in commands}
    for _ in range(args.runs):
        bare_times.append(time_process(bare))
        for text, command in cli.items():
            times[text].append(time_process(command))
    print(f"{args.runs} runs each; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f" on {os.cpu_count()} cores")
    width = max(len(text) for text in commands) + len("slmmux ")
    print(f"{'python -c pass':{width}}  median {statistics.median(bare_times):6.3f} s  "
          f"max {max(bare_times):6.3f} s")
    for text, runs in times.items():
        ratio = statistics.median(c / b for c, b in zip(runs, bare_times))
        print(f"{'slmmux ' + text:{width}}  median {statistics.median(runs):6.3f} s  "
              f"max {max(runs):6.3f} s  x{ratio:.1f} python")
    slowest = max(times, key=lambda text: statistics.median(times[text]))
    print(f"slowest median: slmmux {slowest} {statistics.median(times[slowest]):.3f} s "
          f"(target < 1.0 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
