"""The one console script, ``slmmux``: subcommands and nothing else.

Every module in :mod:`slmmux_run.commands` that defines ``register(subparsers)`` adds one
subcommand; its handler returns the process exit code. Ctrl-C ends any command with one line on
stderr and exit code 130 (a command that appends records names its file with
``parser.set_defaults(interrupt_keeps=lambda args: PATH or None)``: every record appended before
the interruption is complete on disk). The CLI holds no logic of its own, so a
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
    130: "interrupted (Ctrl-C): one line on stderr; the records stored so far are kept",
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
    """Run ``slmmux``; user errors print one line on stderr and exit with code 2, Ctrl-C one
    line and code 130."""
    args = None
    try:
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
        # Compiled programs are kept on disk: a second `slmmux plan` skips most compiling.
        from slmmux_run.jax_cache import enable_compilation_cache

        enable_compilation_cache()
        return int(args.handler(args) or 0)
    except UserError as error:
        print(f"{_program(args)}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_interrupted(args), file=sys.stderr, flush=True)
        return 130


def _program(args: argparse.Namespace | None) -> str:
    """``slmmux COMMAND``, or ``slmmux`` before a command is known."""
    command = getattr(args, "command", None)
    return f"slmmux {command}" if command else "slmmux"


def _interrupted(args: argparse.Namespace | None) -> str:
    """The one line Ctrl-C prints: the command, and the record file it was appending to."""
    line = f"{_program(args)}: interrupted"
    keeps = getattr(args, "interrupt_keeps", None)
    kept = keeps(args) if keeps is not None else None
    return f"{line}; records so far are kept in {kept}" if kept else line


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
