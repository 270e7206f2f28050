"""Figures: data in, ``matplotlib.figure.Figure`` out, one style for scripts and the book.

Functions never call ``plt.show()`` and never compute accuracies: they draw what the theory or
the records give them. The papers' values are drawn as labelled reference marks.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["STYLE", "PAPER_MARK", "figure", "save", "style"]

STYLE = Path(__file__).with_name("slmmux.mplstyle")
#: How the papers' reported values are drawn wherever they appear beside ours.
PAPER_MARK = dict(marker="*", markersize=11, color="black", linestyle="none", zorder=5)


@contextmanager
def style():
    """Apply the package style inside a ``with`` block."""
    with plt.style.context(str(STYLE)):
        yield


def figure(nrows: int = 1, ncols: int = 1, **kwargs) -> tuple[Figure, object]:
    """A new figure in the package style (not registered with pyplot's global state)."""
    with style():
        fig = Figure(**{"figsize": (6.4 * ncols ** 0.8, 4.0 * nrows ** 0.8), **kwargs})
        axes = fig.subplots(nrows, ncols)
    return fig, axes


def save(fig: Figure, path) -> Path:
    """Save a figure (PNG or SVG by suffix), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with style():
        fig.savefig(path)
    return path
