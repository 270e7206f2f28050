"""Figures: data in, ``matplotlib.figure.Figure`` out, one style for scripts and the book.

Functions never call ``plt.show()`` and never compute accuracies: they draw what the theory or
the records give them. The papers' values are drawn as labelled reference marks. This module
holds the style and the shared habits: :func:`place_legend` puts a legend beside the axes, off
the data; :func:`integer_ticks` keeps an axis of counts (k, subset sizes) on whole numbers;
:func:`legend_overlaps` lists the plotted points a legend would hide (the figure tests use it).
The runner's figure functions are in :mod:`slmmux_run.plots`.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import Collection, PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

__all__ = ["STYLE", "PAPER_MARK", "figure", "integer_ticks", "legend_overlaps", "place_legend",
           "save", "style"]

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


def place_legend(ax, **kwargs):
    """The axes' legend beside it, right of the plot area, where it can hide no data.

    Use it in a figure made with ``layout="constrained"`` (which makes room for it).
    """
    options = dict(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return ax.legend(**{**options, **kwargs})


def integer_ticks(axis) -> None:
    """Whole-number ticks on an axis of counts (``ax.xaxis``): no k = 2.5."""
    axis.set_major_locator(MaxNLocator(integer=True))


def _data_points(ax) -> np.ndarray:
    """Display coordinates of what ``ax`` plots: line vertices, markers, collection vertices and
    offsets (scatter, error bars) and bar corners, shape [points, 2]."""
    points = []
    for artist in ax.get_children():
        if not artist.get_visible():
            continue
        if isinstance(artist, Line2D) and len(artist.get_xydata()):
            points.append(artist.get_transform().transform(artist.get_xydata()))
        elif isinstance(artist, PathCollection):  # scatter: the markers sit at the offsets
            points.append(artist.get_offset_transform().transform(artist.get_offsets()))
        elif isinstance(artist, Collection):  # error bars, fills: vertices in data coordinates
            points += [artist.get_transform().transform(path.vertices)
                       for path in artist.get_paths()]
        elif isinstance(artist, Rectangle) and artist is not ax.patch:
            corners = artist.get_patch_transform().transform([(0, 0), (0, 1), (1, 0), (1, 1)])
            points.append(artist.get_data_transform().transform(corners))
    points = [p for p in points if len(p)]
    return np.concatenate(points) if points else np.zeros((0, 2))


def legend_overlaps(fig: Figure) -> list[str]:
    """The legends of ``fig`` that cover a plotted point of any of its axes (empty: none).

    Draws the figure (Agg) and compares each legend's box with every plotted point in display
    coordinates.

    >>> fig, ax = figure(layout="constrained")
    >>> _ = ax.plot([0, 1], [0, 1], label="y = x")
    >>> _ = place_legend(ax)
    >>> legend_overlaps(fig)
    []
    """
    fig.draw_without_rendering()
    renderer = fig._get_renderer()
    legends = [(ax, ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    legends += [(None, legend) for legend in fig.legends]
    found = []
    for owner, legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            points = _data_points(ax)
            inside = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                      & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
            if inside.any():
                title = (owner or ax).get_title() or "figure"
                found.append(f"legend of {title!r} covers {int(inside.sum())} point(s) of "
                             f"{ax.get_title()!r}")
    return found
