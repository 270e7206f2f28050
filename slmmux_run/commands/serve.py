"""``slmmux serve start|stop|status``: the real local models on 127.0.0.1 (see slmmux_run.sampling.serve)."""

from __future__ import annotations

import argparse

from slmmux_run.cli_args import LazyChoices

__all__ = ["register", "run"]


def _local_models() -> list[str]:
    from slmmux_run.sampling.serve import LOCAL_MODELS

    return sorted(LOCAL_MODELS)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="start, stop or check a local model server (SmolLM2 chat, Gemma-3 completions)",
        description="Serve a local GGUF model with xllamacpp on 127.0.0.1, tracked by a pid file.",
    )
    parser.add_argument("action", choices=("start", "stop", "status"),
                        help="start a server, stop it, or report whether it runs (exit 1: not)")
    parser.add_argument("--model", choices=LazyChoices(_local_models), metavar="MODEL",
                        default="smollm2", help="the bundled model: %(choices)s")
    parser.add_argument("--port", type=int, default=None,
                        help="TCP port (default: 8003 for smollm2, 8004 for gemma3)")
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp CPU threads (default 1: robust on a busy machine)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait for /health when starting")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Carry out one action; exit code 0, or 1 for ``status`` when nothing is running."""
    from slmmux_run.sampling import serve

    if args.action == "start":
        handle = serve.start(args.model, args.port, args.timeout, args.threads)
        print(f"{handle.model} serving at {handle.base_url} (pid {handle.pid})")
        return 0
    if args.action == "stop":
        stopped = serve.stop(args.model)
        print(f"{args.model} stopped" if stopped else f"{args.model} was not running")
        return 0
    handle = serve.status(args.model)
    if handle is None:
        print(f"{args.model} not running")
        return 1
    print(f"{handle.model} serving at {handle.base_url} (pid {handle.pid})")
    return 0
