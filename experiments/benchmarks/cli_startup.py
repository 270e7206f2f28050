"""How long does ``slmmux --help`` take, beside a bare ``python -c pass``?

Each round starts both as fresh processes (the CLI as ``python -m slmmux_run.cli --help``, which
imports what the ``slmmux`` console script imports), alternating so machine load hits both
alike, and times them by the wall clock. The script prints the median of each, the runs, and the
median ratio over paired rounds. Target (issue 14): the CLI's median under 1.0 s.

    python -m experiments.benchmarks.cli_startup [--runs 7] [--args=--help]
    python -m experiments.benchmarks.cli_startup --args="exact --rule nope"   # an argument error
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

__all__ = ["main", "time_process"]


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
    parser.add_argument("--args", default="--help",
                        help="arguments passed to slmmux, space-separated (default --help)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    bare = [sys.executable, "-c", "pass"]
    cli = [sys.executable, "-m", "slmmux_run.cli", *args.args.split()]
    time_process(cli)  # warm-up: compiled bytecode and the file cache
    bare_times, cli_times = [], []
    for _ in range(args.runs):
        bare_times.append(time_process(bare))
        cli_times.append(time_process(cli))
    ratios = [c / b for c, b in zip(cli_times, bare_times)]
    print(f"{args.runs} runs each")
    print(f"python -c pass:       median {statistics.median(bare_times):6.3f} s "
          f"(runs: {', '.join(f'{t:.3f}' for t in bare_times)})")
    print(f"slmmux {args.args}: median {statistics.median(cli_times):6.3f} s "
          f"(runs: {', '.join(f'{t:.3f}' for t in cli_times)})")
    print(f"ratio slmmux / python: median over paired runs {statistics.median(ratios):.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
