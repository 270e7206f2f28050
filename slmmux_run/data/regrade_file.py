r"""Regrade a whole samples file: the regraded file and what changed, per model.

Data layer of the runner (``slmmux_run.data``); ``slmmux regrade`` calls :func:`regrade_file`.
Every row of the file is regraded (:func:`slmmux_run.data.regrade.regrade_question`, one
question over all its rows); the written file has the same schema with ``answers`` replaced by
the vote-group labels and ``is_correct`` by the new verdicts, so it loads with the plain rule
(its ``source`` gets the suffix ``+regraded``; ``raw_answers`` and ``upstream_is_correct`` keep
what the input said, ``grader`` names the rule). A file that fails to load is refused with the
loader's :class:`~slmmux_run.errors.UserError` before anything is written.

Example:
  >>> import json, os, tempfile
  >>> folder = tempfile.mkdtemp()
  >>> source = os.path.join(folder, "s.jsonl")
  >>> row = {"task": "t", "question_id": "0", "model": "m", "gold": r"\frac{14}{3}",
  ...        "answers": ["14/3", "2", r"\frac{14}{3}"], "is_correct": [False, False, True]}
  >>> _ = open(source, "w").write(json.dumps(row) + "\n")
  >>> report = regrade_file(source, os.path.join(folder, "out"))
  >>> [(m.model, m.accuracy_before, m.accuracy_after, m.groups_merged) for m in report.models]
  [('m', 0.3333333333333333, 0.6666666666666666, 1)]
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from slmmux_run.data.jsonl_rows import open_rows
from slmmux_run.data.regrade import GRADER, regrade_question
from slmmux_run.data.shared_samples import load_samples
from slmmux_run.data.slots import is_correct
from slmmux_run.data.text_files import is_compressed

__all__ = ["ModelRegrade", "RegradeReport", "REGRADED_SUFFIX", "regrade_file", "regraded_rows"]

REGRADED_SUFFIX = "+regraded"
"""Appended to the ``source`` of every written row."""


@dataclass(frozen=True)
class ModelRegrade:
    """What the regrade changed for one model.

    Attributes:
      model: the model.
      samples: samples in the file (⊥ included; accuracies are shares of these).
      accuracy_before: share of samples the input flags correct (our plain rule where the
        input has no ``is_correct``).
      accuracy_after: share of samples the regrade finds correct.
      wrong_to_right: samples flagged wrong before and correct after.
      right_to_wrong: samples flagged correct before and wrong after.
      distinct_answers: distinct answer strings, summed over questions.
      groups_merged: distinct answer strings minus distinct vote groups, summed over questions.
    """

    model: str
    samples: int
    accuracy_before: float
    accuracy_after: float
    wrong_to_right: int
    right_to_wrong: int
    distinct_answers: int
    groups_merged: int


@dataclass(frozen=True)
class RegradeReport:
    """Result of :func:`regrade_file`.

    Attributes:
      source: the input file.
      output: the written file.
      models: one :class:`ModelRegrade` per model, in file order.
      distinct_answers: distinct answer strings per question, summed (all models together).
      groups: vote groups they form, summed over questions.
    """

    source: str
    output: str
    models: tuple[ModelRegrade, ...]
    distinct_answers: int
    groups: int


def _clean(answer) -> str | None:
    # The loaders' rule N1: strip white space, empty -> ⊥.
    return (answer.strip() or None) if isinstance(answer, str) else None


def regraded_rows(path: str | os.PathLike) -> tuple[list[dict], RegradeReport]:
    """The regraded rows of a samples file (validated by the loader first) and the report.

    The report's ``output`` is empty; :func:`regrade_file` writes the rows.
    """
    load_samples(path, regrade=True)  # every problem of the file as the loader's UserError
    _, numbered = open_rows(path)
    rows = [row for _, row in numbered]
    by_question: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_question.setdefault((row["question_id"], row["gold"].strip()), []).append(row)
    distinct = groups = 0
    stats: dict[str, dict] = {}
    for (_, gold), members in by_question.items():
        answers = [[_clean(a) for a in row["answers"]] for row in members]
        regraded = regrade_question(answers, gold)
        distinct, groups = distinct + regraded.distinct_answers, groups + regraded.groups
        for row, raw, labels, verdicts in zip(members, answers, regraded.labels, regraded.correct):
            before = row.get("is_correct")
            if before is None:
                before = [is_correct(a, gold) for a in raw]
            entry = stats.setdefault(row["model"], dict.fromkeys(
                ("samples", "before", "after", "up", "down", "distinct", "merged"), 0))
            entry["samples"] += len(raw)
            entry["before"] += sum(map(bool, before))
            entry["after"] += sum(verdicts)
            entry["up"] += sum(not b and a for b, a in zip(before, verdicts))
            entry["down"] += sum(b and not a for b, a in zip(before, verdicts))
            strings = {a for a in raw if a is not None}
            entry["distinct"] += len(strings)
            entry["merged"] += len(strings) - len({a for a in labels if a is not None})
            row["raw_answers"], row["upstream_is_correct"] = row["answers"], row.get("is_correct")
            row["answers"], row["is_correct"] = list(labels), list(verdicts)
            row["source"] = str(row.get("source", "")) + REGRADED_SUFFIX
            row["grader"] = GRADER
    models = tuple(
        ModelRegrade(model, s["samples"], s["before"] / max(s["samples"], 1),
                     s["after"] / max(s["samples"], 1), s["up"], s["down"], s["distinct"],
                     s["merged"])  # fmt: skip
        for model, s in stats.items()
    )
    return rows, RegradeReport(str(path), "", models, distinct, groups)


def regrade_file(path: str | os.PathLike, out_dir: str | os.PathLike) -> RegradeReport:
    """Regrade ``path`` and write ``<out_dir>/<name>.regraded.jsonl`` (plain JSONL).

    Args:
      path: a samples file (``answers`` lists, plain or ``.jsonl.gz``).
      out_dir: the output folder (created); an existing output file is replaced.

    Returns:
      The :class:`RegradeReport`, with the written path.
    """
    rows, report = regraded_rows(path)
    name = Path(path).name
    if is_compressed(path) and name.endswith(".gz"):
        name = name[: -len(".gz")]
    stem = name[: -len(".jsonl")] if name.endswith(".jsonl") else name
    output = Path(out_dir) / f"{stem}.regraded.jsonl"
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return RegradeReport(report.source, str(output), report.models, report.distinct_answers,
                         report.groups)  # fmt: skip
