"""Subcommands of ``slmmux``: one module each, each exposing ``register(subparsers)``.

A handler is set with ``parser.set_defaults(handler=fn)``; ``fn(args)`` returns the exit code.
"""
