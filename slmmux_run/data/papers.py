"""The papers' reported numbers (SLM-MUX, ModelSwitch) as typed rows read from ``papers/*.csv``.

Each CSV under ``papers/`` holds one table or figure of ``REFERENCE_NUMBERS.md`` in one tidy long
format (one number per row, with its citation and provenance marker); ``papers/README.md``
documents the columns. The files sit next to the packages in the checkout; building a wheel
copies them into the package as ``slmmux_run/data/paper_tables/`` (``setup.py``), so an installed
package finds them without configuration. This module is the runner layer's only reader of
them; figures and the book draw the papers' values from here and label them as the papers'
values.

Example:
    >>> reference_value("A02-composition-combined", benchmark="MATH", series="SLM-MUX",
    ...                 quantity="accuracy", setting="")
    61.8
"""

from __future__ import annotations

import csv
import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

from slmmux_run.errors import UserError

__all__ = [
    "CHECKOUT_PAPERS",
    "COLUMNS",
    "KEY_COLUMNS",
    "MARKERS",
    "PACKAGE_TABLES",
    "PAPERS",
    "PAPERS_DIR_ENV",
    "PaperLookupError",
    "PaperValue",
    "list_tables",
    "load_table",
    "papers_dir",
    "reference_value",
    "select",
]

PAPERS_DIR_ENV = "SLMMUX_PAPERS_DIR"

COLUMNS = (
    "paper", "source", "block", "section", "benchmark", "setting", "series", "quantity",
    "x_name", "x", "value", "pm", "n", "unit", "marker", "see", "note",
)
# Columns that identify a row within one file; no two rows of a file share all of them.
KEY_COLUMNS = ("source", "block", "benchmark", "setting", "series", "quantity", "x_name", "x")
MARKERS = frozenset({"printed", "fig", "derived", "script", "draft", "article", "fw-readme"})
PAPERS = frozenset({"slm-mux", "modelswitch"})
_NUMERIC = ("value", "pm", "n")


class PaperLookupError(LookupError):
    """``reference_value`` matched zero rows or more than one row."""


@dataclass(frozen=True)
class PaperValue:
    """One reported number with its citation.

    Attributes:
      paper: ``slm-mux`` or ``modelswitch``.
      source: the table/figure key as REFERENCE_NUMBERS.md cites it, e.g.
        ``Table composition-combined`` or ``ModelSwitch Fig. 4``.
      block: data block of the ModelSwitch figure script, or ``""``.
      section: section of REFERENCE_NUMBERS.md (``A.2``, ``B.5``, ``C``).
      benchmark: data set (``MATH``, ``GPQA``, ``GSM8K``, ``MathBench``, ...) or ``""``.
      setting: qualifier such as ``Group 1``, ``closed-source``, ``older draft``, or ``""``.
      series: method or model the number belongs to.
      quantity: what is measured (``accuracy``, ``delta``, ``tokens``, ``union``, ...).
      x_name: name of the x axis (``K``, ``k``, ``average samples``, ...) or ``""``.
      x: x value as printed (``"3"``, ``"best"``, ``"[0.1, 0.2)"``) or ``""``.
      value: the number.
      value_text: the number exactly as written in the file (keeps printed precision).
      pm: the ``±`` value, or ``None``.
      n: number of questions behind the value, or ``None``.
      unit: ``percent``, ``fraction``, ``pp``, ``count``, ``tokens``, ``samples``, ``ratio``,
        ``unitless``.
      marker: provenance: ``printed``, ``fig``, ``derived``, ``script``, ``draft``, ``article``,
        ``fw-readme``.
      see: stem of the table this row repeats or is computed from, or ``""``.
      note: free text.
    """

    paper: str
    source: str
    block: str
    section: str
    benchmark: str
    setting: str
    series: str
    quantity: str
    x_name: str
    x: str
    value: float
    value_text: str
    pm: float | None
    n: int | None
    unit: str
    marker: str
    see: str
    note: str

    @property
    def decimals(self) -> int:
        """Digits after the decimal point of the printed value (its precision)."""
        _, _, frac = self.value_text.partition(".")
        return len(frac)

    @property
    def x_number(self) -> float | None:
        """``x`` as a number, or ``None`` when it is empty or not numeric (``best``, bins)."""
        try:
            return float(self.x)
        except ValueError:
            return None

    def key(self) -> tuple[str, ...]:
        """The identifying fields (:data:`KEY_COLUMNS`)."""
        return tuple(getattr(self, c) for c in KEY_COLUMNS)


#: Where a built wheel carries the tables (copied from ``papers/`` by ``setup.py``).
PACKAGE_TABLES = Path(__file__).resolve().parent / "paper_tables"
#: The tables' one source: ``papers/`` at the top of the checkout.
CHECKOUT_PAPERS = Path(__file__).resolve().parents[2] / "papers"


def papers_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the papers' directory: argument, ``$SLMMUX_PAPERS_DIR``, the wheel's copy, the checkout.

    An installed wheel carries the tables as package data (``slmmux_run/data/paper_tables/``);
    a checkout (or an editable install) reads ``papers/`` next to the ``slmmux_run`` package.

    Raises:
      UserError: if the chosen directory does not exist.
    """
    if explicit is not None:
        path, origin = Path(explicit), "the directory argument"
    elif os.environ.get(PAPERS_DIR_ENV):
        path, origin = Path(os.environ[PAPERS_DIR_ENV]), f"${PAPERS_DIR_ENV}"
    elif PACKAGE_TABLES.is_dir():
        path, origin = PACKAGE_TABLES, "the installed package"
    else:
        path, origin = CHECKOUT_PAPERS, "the checkout"
    if not path.is_dir():
        raise UserError(
            f"papers directory {path} (from {origin}) does not exist; set ${PAPERS_DIR_ENV} to "
            "a folder of the papers' CSV files (papers/ of the checkout)"
        )
    return path


def list_tables(directory: str | os.PathLike | None = None) -> list[str]:
    """Names (file stems) of all tables, sorted, e.g. ``['A00-datasets', 'A01-...', ...]``."""
    return sorted(p.stem for p in papers_dir(directory).glob("*.csv"))


def _parse_number(text: str, path: Path, line: int, column: str, integer: bool = False):
    try:
        number = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise UserError(f"{path}:{line}: field '{column}' is {text!r}, not {kind}") from None
    if not integer and not math.isfinite(number):
        raise UserError(f"{path}:{line}: field '{column}' is {text!r}, not a finite number")
    return number


def _parse_row(raw: dict[str, str], path: Path, line: int) -> PaperValue:
    for column in ("paper", "source", "section", "value", "unit", "marker"):
        if not raw[column]:
            raise UserError(f"{path}:{line}: field '{column}' is empty")
    if raw["paper"] not in PAPERS:
        raise UserError(f"{path}:{line}: field 'paper' is {raw['paper']!r}, not one of "
                        f"{sorted(PAPERS)}")
    if raw["marker"] not in MARKERS:
        raise UserError(f"{path}:{line}: field 'marker' is {raw['marker']!r}, not one of "
                        f"{sorted(MARKERS)}")
    fields = {c: raw[c] for c in COLUMNS if c not in _NUMERIC}
    return PaperValue(
        **fields,
        value=_parse_number(raw["value"], path, line, "value"),
        value_text=raw["value"],
        pm=_parse_number(raw["pm"], path, line, "pm") if raw["pm"] else None,
        n=_parse_number(raw["n"], path, line, "n", integer=True) if raw["n"] else None,
    )


@functools.lru_cache(maxsize=None)
def _load(path: Path, mtime_ns: int) -> tuple[PaperValue, ...]:
    del mtime_ns  # part of the cache key only: an edited file is read again
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise UserError(f"{path}:1: header is {reader.fieldnames}, expected {list(COLUMNS)}")
        rows, seen = [], {}
        for raw in reader:
            line = reader.line_num
            if None in raw or any(v is None for v in raw.values()):
                raise UserError(f"{path}:{line}: expected {len(COLUMNS)} fields")
            row = _parse_row(raw, path, line)
            if row.key() in seen:
                raise UserError(f"{path}:{line}: duplicate key {row.key()} (first on line "
                                f"{seen[row.key()]})")
            seen[row.key()] = line
            rows.append(row)
    return tuple(rows)


def load_table(name: str, directory: str | os.PathLike | None = None) -> tuple[PaperValue, ...]:
    """All rows of one table, in file order.

    Args:
      name: the file stem, e.g. ``"A10-samples_per_model"`` (see :func:`list_tables`).
      directory: overrides ``$SLMMUX_PAPERS_DIR`` and the checkout default.

    Raises:
      UserError: naming the file (and line and field) when it is missing or malformed.

    Example:
        >>> rows = load_table("A04-base-models-combined")
        >>> sorted({r.series for r in rows})
        ['Gemma 2 27B', 'Llama 3.1 8B', 'Mixtral 8×7B']
    """
    path = papers_dir(directory) / f"{name}.csv"
    if not path.is_file():
        raise UserError(f"paper table {path} does not exist (known tables: "
                        f"{', '.join(list_tables(directory))})")
    return _load(path, path.stat().st_mtime_ns)


def _matches(row: PaperValue, column: str, wanted) -> bool:
    if column in _NUMERIC:
        have = row.value if column == "value" else getattr(row, column)
        return have is not None and float(have) == float(wanted)
    text = getattr(row, column)
    if isinstance(wanted, (int, float)) and not isinstance(wanted, bool):
        try:
            return float(text) == float(wanted)
        except ValueError:
            return False
    return text == str(wanted)


def select(rows, **filters) -> list[PaperValue]:
    """Rows whose columns equal every filter; numbers match numerically (``x=2`` finds ``"2"``).

    Raises:
      TypeError: for a filter that is not a column name.
    """
    unknown = set(filters) - set(COLUMNS)
    if unknown:
        raise TypeError(f"unknown column(s) {sorted(unknown)}; columns are {list(COLUMNS)}")
    return [r for r in rows if all(_matches(r, c, v) for c, v in filters.items())]


def reference_value(table: str, directory: str | os.PathLike | None = None, **filters) -> float:
    """The one value of ``table`` whose columns match ``filters``.

    Args:
      table: file stem, e.g. ``"A11-SLM-Mux_vs_af_comparison"``.
      directory: overrides ``$SLMMUX_PAPERS_DIR`` and the checkout default.
      **filters: column=value pairs, e.g. ``benchmark="MATH", series="SLM-MUX", x=2``.

    Raises:
      PaperLookupError: when zero rows or several rows match; the message lists the candidates.

    Example:
        >>> reference_value("A11-SLM-Mux_vs_af_comparison", benchmark="GPQA",
        ...                 series="Agent Forest", x=2)
        40.4
    """
    rows = load_table(table, directory)
    hits = select(rows, **filters)
    if len(hits) == 1:
        return hits[0].value
    shown = "; ".join(
        ", ".join(f"{c}={getattr(r, c)!r}" for c in KEY_COLUMNS if getattr(r, c))
        + f" -> {r.value_text}"
        for r in (hits or rows)[:8]
    )
    if not hits:
        raise PaperLookupError(f"no row of {table} matches {filters}; rows include: {shown}")
    raise PaperLookupError(
        f"{len(hits)} rows of {table} match {filters}; add a filter to pick one: {shown}"
    )
