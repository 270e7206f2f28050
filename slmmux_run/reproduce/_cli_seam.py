"""TEMPORARY seam: run one ``slmmux`` command in-process while its library function is being
extracted (engineers B: plan/check, D: debate). Removed once every step calls the library."""

from __future__ import annotations

__all__ = ["run_command"]


def run_command(argv) -> None:
    """Run one ``slmmux`` command in-process, quietly; a non-zero exit is an error."""
    import contextlib
    import io

    from slmmux_run.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        code = main([str(a) for a in argv])
    if code != 0:
        raise RuntimeError(f"slmmux {' '.join(map(str, argv))} exited with {code}")
