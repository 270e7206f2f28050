"""Display glue for the book's pages: Markdown tables, and figures as PNG in the package style.

Not part of the packages and computes nothing: it only renders what a page computed. Importing
it registers a PNG formatter for ``matplotlib.figure.Figure`` (``slmmux_run.figures.figure()``
returns figures that pyplot does not know, so IPython would otherwise print only their repr).
"""

from __future__ import annotations

from IPython import get_ipython
from IPython.core.pylabtools import print_figure
from IPython.display import Markdown
from matplotlib.figure import Figure

from slmmux_run.figures import style

__all__ = ["markdown_table"]


def markdown_table(header, rows) -> Markdown:
    """Render rows (lists of cells) under a header as a Markdown table."""
    lines = ["| " + " | ".join(str(cell) for cell in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return Markdown("\n".join(lines))


def _figure_png(fig: Figure) -> bytes:
    with style():
        return print_figure(fig, "png", bbox_inches="tight")


def _register_figure_display() -> None:
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, _figure_png)


_register_figure_display()
