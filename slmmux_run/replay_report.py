"""Presentation of results as tables: the fixed-width table of replay rows, the failure counts,
and any table of text cells for a console (wrapped to fit, never cut) or a Markdown file (escaped).

Runner layer, presentation only: these functions format what the replay engine and the record
loader computed (``slmmux mux``, the local-run study and ``slmmux reproduce`` print or store
them); they compute no accuracy.
"""

from __future__ import annotations

import math
import re
import shutil
import textwrap

__all__ = ["failure_summary", "format_table", "markdown_escape", "markdown_table", "text_table"]

#: Characters that would end a Markdown table cell or start emphasis, code, a link or HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\|*_`<>\[\]#])")


def markdown_escape(text) -> str:
    r"""One table cell's text with Markdown's special characters escaped and newlines as spaces.

    >>> markdown_escape("a|b *c* x_1 <2>")
    'a\\|b \\*c\\* x\\_1 \\<2\\>'
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def markdown_table(header, rows) -> str:
    """A Markdown table, every cell escaped (:func:`markdown_escape`).

    >>> print(markdown_table(("claim", "value"), [("a | b", "1")]))
    | claim | value |
    |---|---|
    | a \\| b | 1 |
    """
    lines = ["| " + " | ".join(markdown_escape(h) for h in header) + " |",
             "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(markdown_escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _column_widths(natural, floor, width):
    """Shrink the widest columns until the row fits ``width`` (never below ``floor``)."""
    widths = list(natural)
    while sum(widths) > width:
        widest = max(range(len(widths)), key=lambda c: widths[c] - floor[c])
        if widths[widest] <= floor[widest]:
            break  # cannot fit without cutting words: let the row run long
        widths[widest] -= 1
    return widths


def text_table(header, rows, width: int | None = None, gap: int = 2) -> str:
    """A console table whose cells wrap at spaces to fit ``width`` (default: the terminal's);
    a word is never cut: a column is never narrower than its longest word.

    >>> print(text_table(("claim", "ours"), [("voting helps only if p > 0.5", "holds")], width=24))
    claim              ours
    voting helps only  holds
    if p > 0.5
    """
    width = width or shutil.get_terminal_size((160, 20)).columns - 1  # the last column wraps
    table = [tuple(str(h) for h in header)] + [tuple(str(cell) for cell in row) for row in rows]
    columns = range(len(header))
    natural = [max(len(row[c]) for row in table) for c in columns]
    floor = [max(len(word) for row in table for word in row[c].split() or [""]) for c in columns]
    widths = _column_widths(natural, floor, width - gap * (len(header) - 1))
    lines = []
    for row in table:
        cells = [textwrap.wrap(row[c], widths[c], break_long_words=False,
                               break_on_hyphens=False) or [""] for c in columns]
        for i in range(max(len(cell) for cell in cells)):
            parts = [(cell[i] if i < len(cell) else "").ljust(widths[c])
                     for c, cell in enumerate(cells)]
            lines.append((" " * gap).join(parts).rstrip())
    return "\n".join(lines)


def failure_summary(record_set) -> dict:
    """Per model: request failures, abstentions (nothing extracted), missing samples, and the
    per-sample accuracy (:func:`slmmux_theory.engines.replay.per_sample_accuracy`)."""
    from slmmux_theory.engines.replay import per_sample_accuracy  # JAX only when called

    names = record_set.sample_set.models
    accuracy = per_sample_accuracy(record_set.sample_set.samples)
    return {
        name: {
            "failed": int(record_set.failed[m].sum()),
            "abstained": int(record_set.abstained[m].sum()),
            "missing": int(record_set.missing[m].sum()),
            "samples": int(record_set.sample_set.samples[m].size),
            "per_sample_accuracy": float(accuracy[m]),
        }
        for m, name in enumerate(names)
    }


def _cell(value: float, error: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f} ± {error:.3f}" if not math.isnan(error) else f"{value:.3f}"


def format_table(rows) -> str:
    """A fixed-width table of replay rows."""
    lines = [f"{'rule':<17} {'models':<24} {'k':>2}  {'literal':>15}  {'exact':>15}  "
             f"{'samples':>7}  {'predicted':>9}  {'n':>4}"]  # fmt: skip
    for row in rows:
        exact = _cell(row.exact, row.exact_se)
        if row.exact_questions < row.questions and not math.isnan(row.exact):
            exact += f" ({row.exact_questions}q)"
        lines.append(
            f"{row.rule:<17} {','.join(row.models):<24} {row.k:>2}  "
            f"{_cell(row.literal, row.literal_se):>15}  {exact:>15}  {row.exact_samples:>7.2f}  "
            f"{'' if math.isnan(row.predicted) else f'{row.predicted:.3f}':>9}  "
            f"{row.questions:>4}"
        )
    return "\n".join(lines)
