"""Signal set-up for tests that start a ``slmmux`` child and interrupt it."""

import signal

__all__ = ["default_sigint"]


def default_sigint() -> None:
    """``preexec_fn`` giving the child SIGINT at its default, as a terminal's Ctrl-C finds it.

    A child of a background job inherits SIGINT ignored (shells do that for ``&``), and Python
    then never raises KeyboardInterrupt; the Ctrl-C tests must not depend on how pytest was run.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
