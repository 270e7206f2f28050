"""The one console script, ``slmmux``: subcommands and nothing else.

Every module in :mod:`slmmux_run.commands` that defines ``register(subparsers)`` adds one
subcommand; its handler returns the process exit code. The CLI holds no logic of its own, so a
command is tested by calling its module directly.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from slmmux_run import commands as _commands
from slmmux_run.cli_args import CommandParser
from slmmux_run.errors import UserError

__all__ = ["EXIT_CODES", "build_parser", "main", "package_version"]

EXIT_CODES = {
    0: "done",
    1: "'serve status': no server running (or an unexpected error, with a traceback)",
    2: "bad input: a wrong flag, value or file (one line on stderr)",
    3: "failed requests: 'collect' or 'batch import' stored fewer samples than planned (failed, "
       "not sent: budget, or not returned by the batch), or every sample of 'mux --live' / turn of 'debate run' failed (stderr says why)",
}
"""What ``slmmux`` exit codes mean (the README's "Exit codes" section says the same)."""


def package_version() -> str:
    """The installed version of the ``slmmux`` distribution (``unknown`` when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slmmux")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Collect every command module's subparser into one parser.

    Building it imports no JAX, NumPyro or SymPy: a command imports what it needs when it runs.
    """
    parser = CommandParser(
        prog="slmmux",
        description="Theory, planning and real runs for small-language-model orchestration.",
        epilog="exit codes: " + "; ".join(f"{code} {text}" for code, text in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_commands.__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``slmmux``; user errors print one line on stderr and exit with code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    from slmmux_run.progress import configure

    configure(quiet=getattr(args, "quiet", False))
    # The program, not an import, sets the precision (after parsing: --help stays instant).
    from slmmux_theory.precision import enable_x64

    enable_x64()
    try:
        return int(args.handler(args) or 0)
    except UserError as error:
        print(f"slmmux {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
