"""``slmmux serve start|stop|status``: local GGUF models on 127.0.0.1 (see slmmux_run.sampling.serve)."""

from __future__ import annotations

import argparse
import sys

from slmmux_run.cli_args import int_in, number_in

__all__ = ["register", "run"]

BUNDLED = ("gemma3", "smollm2")  # slmmux_run.sampling.serve.LOCAL_MODELS; checked by a test


def port_number(text: str) -> int:
    """A TCP port, 1..65535 (argparse type).

    >>> port_number("8003")
    8003
    """
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1..65535)")
    return port


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        help="start, stop or check local model servers (SmolLM2 chat, Gemma-3 completions, any GGUF)",
        description=(
            "Serve a local GGUF model with xllamacpp on 127.0.0.1, tracked by a pid file. "
            "'status' and 'stop' without --model act on every running server. Pid files and "
            "server logs live in $SLMMUX_STATE_DIR, else in 'serve/' of the cache directory "
            "($SLMMUX_CACHE_DIR, else $XDG_CACHE_HOME/slmmux, else ~/.cache/slmmux); the last 3 "
            "logs per model are kept."
        ),
    )
    parser.add_argument("action", choices=("start", "stop", "status"),
                        help="start a server, stop it, or report whether it runs (exit 1: none)")
    parser.add_argument("--model", default=None, metavar="MODEL",
                        help="a bundled model (smollm2, gemma3) or the path of a GGUF file "
                             "(its pid file and logs are named after the file's stem); "
                             "start: smollm2 when omitted; stop/status: every running server")
    parser.add_argument("--port", type=port_number, default=None,
                        help="TCP port, 1..65535 (default: 8003 for smollm2, 8004 for gemma3, "
                             "the first free one from 8005 for a GGUF path)")
    parser.add_argument("--threads", type=int_in(1, 1024), default=1,
                        help="llama.cpp CPU threads (default 1: robust on a busy machine)")
    parser.add_argument("--timeout", type=number_in(0, 86_400, above=True), default=60.0,
                        help="seconds to wait for /health when starting")
    parser.set_defaults(handler=run)


def _name_for_status(serve, model: str | None) -> str | None:
    """The pid-file key ``--model`` names for stop/status (None: every server)."""
    if model is None:
        return None
    if model in serve.LOCAL_MODELS or serve._pid_file(model).is_file():
        return model  # bundled, or the key of a running GGUF path (as status prints it)
    return serve.resolve_model(model).name


def _print_server(handle) -> None:
    served = f" ({handle.path})" if handle.path and handle.model not in BUNDLED else ""
    print(f"{handle.model} serving at {handle.base_url} (pid {handle.pid}){served}")


def run(args: argparse.Namespace) -> int:
    """Carry out one action; exit code 0, or 1 for ``status`` when nothing is running."""
    from slmmux_run.sampling import serve

    if args.action == "start":
        model = serve.resolve_model(args.model or "smollm2")
        handle = serve.start(model.name, args.port, args.timeout, args.threads, path=model.path)
        _print_server(handle)
        return 0
    name = _name_for_status(serve, args.model)
    if args.action == "stop":
        found = serve.stop_servers(name)
    else:
        found = serve.survey(name)
    for problem in found.corrupt:
        print(problem, file=sys.stderr)
    if args.action == "stop":
        for handle in found.servers:
            print(f"{handle.model} stopped")
        if not found.servers:
            print(f"{name} was not running" if name else "no server was running")
        return 0
    for handle in found.servers:
        _print_server(handle)
    if not found.servers:
        print(f"{name} not running" if name else "no server running")
        return 1
    return 0
