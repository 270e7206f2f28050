"""Recompute the data README's per-model table of the 13-model samples file from our loader.

The shared data README (section B) lists, per model: mean sample accuracy, fraction of questions
with 10 identical answers, mean number of distinct answers, questions with 10/10 correct, null
answers and majority-vote accuracy. This script loads the file with
:func:`slmmux_run.data.datasets.load_samples`, recomputes every column from the slot indices, prints
the table, and compares it cell by cell with the README's table when the README is there. It
also prints how long loading took (best of a few loads).

Definitions (as in the README): "identical" = all samples recorded, non-null and in one slot;
distinct answers are counted over non-null samples; majority vote = the unique most frequent
non-null answer is gold (ties and all-null count as wrong).

Usage::

    python -m experiments.data_summary.run [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from slmmux_run.cli_args import int_in
from slmmux_run.data.datasets import SampleSet, load_samples
from slmmux_run.errors import UserError
from slmmux_run.data.paths import data_dir, data_file

__all__ = ["ModelSummary", "main", "readme_table", "summarize"]

SAMPLES_FILE = "samples/gsm8k_train_250x10_13models.jsonl"
COLUMNS = ("mean_acc", "frac_identical", "mean_distinct", "all_correct", "nulls", "majority")
# Decimal places of each column in the README (counts are integers).
PLACES = (4, 3, 3, 0, 0, 3)


class ModelSummary(NamedTuple):
    """One row of the README table.

    Attributes:
      model: model name.
      mean_acc: share of all samples in slot 0.
      frac_identical: share of questions whose samples are all recorded, non-null, one slot.
      mean_distinct: mean number of distinct non-null answers per question.
      all_correct: questions with every sample correct.
      nulls: samples in the ⊥ slot.
      majority: share of questions whose unique most frequent non-null answer is gold.
    """

    model: str
    mean_acc: float
    frac_identical: float
    mean_distinct: float
    all_correct: int
    nulls: int
    majority: float


def summarize(sample_set: SampleSet) -> list[ModelSummary]:
    """The README's per-model statistics, one :class:`ModelSummary` per model."""
    counts = sample_set.counts  # [models, questions, answers]
    answered = counts[:, :, : sample_set.abstain_slot]
    recorded = sample_set.num_recorded  # [models, questions]
    top = answered.max(axis=2)
    unique_top = (answered == top[..., None]).sum(axis=2) == 1
    majority = (answered.argmax(axis=2) == 0) & unique_top & (top > 0)
    identical = (top == sample_set.num_samples) & (recorded == sample_set.num_samples)
    rows = []
    for m, model in enumerate(sample_set.models):
        rows.append(
            ModelSummary(
                model=model,
                mean_acc=float(counts[m, :, 0].sum() / recorded[m].sum()),
                frac_identical=float(identical[m].mean()),
                mean_distinct=float((answered[m] > 0).sum(axis=1).mean()),
                all_correct=int(np.sum(counts[m, :, 0] == recorded[m])),
                nulls=int(counts[m, :, sample_set.abstain_slot].sum()),
                majority=float(majority[m].mean()),
            )
        )
    return rows


def readme_table(readme: Path) -> dict[str, tuple[float, ...]]:
    """The README section-B table as {model: values in COLUMNS order}; {} if not found.

    The "mean over 13 models" row is returned under the key ``"mean"`` with NaN where blank.
    """
    if not readme.is_file():
        return {}
    text = readme.read_text(encoding="utf-8")
    match = re.search(r"^## B\..*?(?=^## )", text, flags=re.S | re.M)
    if not match:
        return {}
    table = {}
    for line in match.group(0).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 9 or not re.match(r"[\d.]+", cells[2] or "x"):
            continue
        # Columns: model, copy, mean acc, upstream acc, identical, distinct, 10/10, nulls, vote.
        picked = [cells[i] for i in (2, 4, 5, 6, 7, 8)]
        values = tuple(
            float(re.match(r"[\d.]+", cell).group(0)) if cell else float("nan") for cell in picked
        )
        name = "mean" if "mean over" in cells[0] else cells[0]
        table[name] = values
    return table


def _fmt(value: float, places: int) -> str:
    return "" if value != value else (f"{value:.{places}f}" if places else f"{int(value)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="shared data folder")
    parser.add_argument("--repeats", type=int_in(1, 1000),
                        default=3, help="loads to time (best is shown)")
    args = parser.parse_args(argv)
    try:
        path = data_file(SAMPLES_FILE, args.data_dir)
        timings = []
        for _ in range(max(1, args.repeats)):
            start = time.perf_counter()
            sample_set = load_samples(path)
            timings.append(time.perf_counter() - start)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rows = summarize(sample_set)
    print(f"file: {path}")
    print(
        f"shape [models, questions, samples] = {list(sample_set.samples.shape)}, "
        f"answer slots A = {sample_set.num_answers}"
    )
    print(f"load time: best {min(timings):.3f} s of {len(timings)} loads")
    width = max(len(row.model) for row in rows) + 2
    print(f"{'model':<{width}}" + "".join(f"{c:>16}" for c in COLUMNS))
    for row in rows:
        print(
            f"{row.model:<{width}}"
            + "".join(f"{_fmt(v, p):>16}" for v, p in zip(row[1:], PLACES))
        )
    means = (
        float(np.mean([r.mean_acc for r in rows])),
        float(np.mean([r.frac_identical for r in rows])),
        float(np.mean([r.mean_distinct for r in rows])),
    )
    print(f"{'mean over models':<{width}}" + "".join(f"{_fmt(v, p):>16}" for v, p in
                                                     zip(means, PLACES)))

    readme = readme_table(data_dir(args.data_dir) / "README.md")
    if not readme:
        print("README table not found: nothing to compare")
        return 0
    mismatches, compared = [], 0
    ours = {row.model: row[1:] for row in rows}
    ours["mean"] = means + (float("nan"),) * 3
    for model, values in ours.items():
        if model not in readme:
            mismatches.append(f"{model}: not in the README table")
            continue
        for column, ours_value, theirs, places in zip(COLUMNS, values, readme[model], PLACES):
            if theirs != theirs:  # blank README cell
                continue
            compared += 1
            if _fmt(ours_value, places) != _fmt(theirs, places):
                mismatches.append(
                    f"{model} {column}: ours {_fmt(ours_value, places)}, "
                    f"README {_fmt(theirs, places)}"
                )
    for model in readme:
        if model not in ours:
            mismatches.append(f"{model}: in the README table but not in the file")
    print(f"compared with the README: {compared} numbers, {len(mismatches)} mismatches")
    for line in mismatches:
        print(f"  MISMATCH {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
