"""What every reproduce step shares: its context (output folder, data and experiments folders),
its result type and the summary row, plus where the committed experiments live.

Runner layer. The experiments folder holds the package's own committed records and frozen
predictions (``local_run/``, ``groupthink_real/``): it is ``--experiments-dir``, else
``$SLMMUX_EXPERIMENTS_DIR``, else the checkout's ``experiments/`` when the package runs from a
checkout. From an installed wheel without any of them, the steps that need it say so and are
skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "EXPERIMENTS_DIR_ENV",
    "SAMPLES_FILE",
    "Context",
    "StepResult",
    "SummaryRow",
    "experiments_dir",
    "format_value",
    "paper_value",
    "stored_jsonl",
]

SAMPLES_FILE = "samples/gsm8k_train_250x10_13models.jsonl"
EXPERIMENTS_DIR_ENV = "SLMMUX_EXPERIMENTS_DIR"
_CHECKOUT_EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def experiments_dir(explicit: str | os.PathLike | None = None) -> tuple[Path | None, str]:
    """The experiments folder and how it was found, or ``(None, reason)`` when there is none.

    Order: ``explicit`` (the ``--experiments-dir`` flag), ``$SLMMUX_EXPERIMENTS_DIR``, the
    checkout's ``experiments/`` next to the package.
    """
    for path, source in ((explicit, "--experiments-dir"),
                         (os.environ.get(EXPERIMENTS_DIR_ENV) or None, f"${EXPERIMENTS_DIR_ENV}")):
        if path is not None:
            if not Path(path).is_dir():
                return None, f"experiments folder {path} (from {source}) does not exist"
            return Path(path), source
    if _CHECKOUT_EXPERIMENTS.is_dir():
        return _CHECKOUT_EXPERIMENTS, "the checkout"
    return None, (f"no experiments folder: pass --experiments-dir or set ${EXPERIMENTS_DIR_ENV} "
                  "(an installed wheel does not ship the committed records)")


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary: a claim and the three numbers set beside each other."""

    claim: str
    paper: str
    theory: str
    real: str


@dataclass
class StepResult:
    """What one step wrote and found.

    Attributes:
      name: the step's name.
      figures: paths of the figures written.
      tables: paths of the tables (JSON) written.
      summary: its summary rows.
      note: why the step was skipped, or ``""``.
      seconds: wall time of the step.
    """

    name: str
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)
    summary: list = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0


@dataclass
class Context:
    """Inputs of a reproduce run.

    Attributes:
      out: the output folder.
      data_dir: the shared data folder (``None``: resolved as every loader does).
      quick: smaller grids (for tests).
      experiments: the experiments folder (``None``: resolved by :func:`experiments_dir`).
      cache: values loaded once and shared by the steps.
    """

    out: Path
    data_dir: str | None = None
    quick: bool = False
    experiments: str | os.PathLike | None = None
    cache: dict = field(default_factory=dict)

    def step_dir(self, name: str) -> Path:
        """The output folder of one step, created."""
        out = self.out / name
        out.mkdir(parents=True, exist_ok=True)
        return out

    def experiments_path(self, *parts: str) -> tuple[Path | None, str]:
        """A path inside the experiments folder, or ``(None, reason)`` when there is no folder."""
        folder, source = experiments_dir(self.experiments)
        if folder is None:
            return None, source
        return folder.joinpath(*parts), source

    def samples_path(self):
        """Path of the 13-model GSM8K samples file, or None (reason in ``cache``) when absent."""
        from slmmux_run.data.paths import data_file
        from slmmux_run.errors import UserError

        try:
            return data_file(SAMPLES_FILE, self.data_dir)
        except UserError as error:
            self.cache["samples_error"] = str(error)
            return None

    def samples(self):
        """The 13-model GSM8K sample set (loaded once), or None when the data is absent."""
        if "samples" not in self.cache:
            from slmmux_run.data.datasets import load_samples

            path = self.samples_path()
            self.cache["samples"] = None if path is None else load_samples(path)
        return self.cache["samples"]


def stored_jsonl(folder: Path, stem: str) -> Path:
    """A study's raw store: ``<stem>.jsonl.gz`` when committed compressed, else ``<stem>.jsonl``."""
    compressed = folder / f"{stem}.jsonl.gz"
    return compressed if compressed.is_file() else folder / f"{stem}.jsonl"


def paper_value(table, **filters) -> float | None:
    """One number of the papers' tables, or None when the filters match zero or several rows."""
    from slmmux_run.data.papers import PaperLookupError, reference_value

    try:
        return reference_value(table, **filters)
    except PaperLookupError:
        return None


def format_value(value, digits=1, unit=""):
    """A number for the summary, ``—`` when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    return f"{value:.{digits}f}{unit}"
