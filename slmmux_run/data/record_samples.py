"""Stored records -> one :class:`~slmmux_run.data.datasets.SampleSet` (the records loader).

Data layer of the runner (``slmmux_run.data``): reads what ``slmmux collect`` wrote (one
:class:`~slmmux_run.data.records.Record` per (task, question, model, prompt version, sample)) into
the package-wide slot convention: slot 0 = graded correct, shared wrong slots per question ordered
by total frequency then first appearance, last slot ⊥; a failed request is ⊥ and counted
separately. No file I/O here: pass ``RecordStore(path).latest().values()``.

Example:
  >>> from slmmux_run.data.records import Record
  >>> rows = [Record("t", "q", m, "v", i, text="x", answer=a, extra={"gold": "7"})
  ...         for m, answers in (("a", ["7", "8", "7"]), ("b", ["8", "8", None]))
  ...         for i, a in enumerate(answers)]
  >>> loaded = load_records(rows)
  >>> loaded.sample_set.samples.tolist(), loaded.sample_set.slot_labels
  ([[[0, 1, 0]], [[1, 1, 2]]], (('7', '8', None),))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from slmmux_run.data.datasets import MISSING_SAMPLE, PADDING_LABEL, SampleSet
from slmmux_run.data.records import Record
from slmmux_run.errors import UserError

__all__ = ["RecordSet", "load_records"]


@dataclass(frozen=True, eq=False)
class RecordSet:
    """Records as slot arrays.

    Attributes:
      sample_set: slot index of every sample, shape [models, questions, samples]; a failed
        request is ⊥ (the last slot); a sample without any record is -1.
      failed: request failures (stored with an error), bool, shape [models, questions, samples].
      prompt_versions: the prompt version of each model, length M.
    """

    sample_set: SampleSet
    failed: np.ndarray
    prompt_versions: tuple[str, ...]

    @property
    def abstained(self) -> np.ndarray:
        """⊥ samples that were not failures (nothing extracted), bool, [models, questions,
        samples]."""
        return (self.sample_set.samples == self.sample_set.abstain_slot) & ~self.failed

    @property
    def missing(self) -> np.ndarray:
        """Samples with no record at all, bool, shape [models, questions, samples]."""
        return self.sample_set.samples == MISSING_SAMPLE


def _is_correct(record: Record, gold: str | None) -> bool:
    graded = record.extra.get("correct")
    if graded is not None:
        return bool(graded)
    return record.answer is not None and gold is not None and record.answer == gold


def load_records(
    records: Iterable[Record], task: str | None = None, models: Sequence[str] | None = None
) -> RecordSet:
    """Build slot arrays from records (use ``RecordStore(path).latest().values()``).

    Args:
      records: at most one record per key (a later success supersedes a failure upstream).
      task: the task to keep; needed when the records hold several.
      models: models to keep, in this order; default all, in order of first appearance.

    Raises:
      UserError: for several tasks without ``task``, an unknown model, or a model recorded
        under several prompt versions.
    """
    records = list(records)
    tasks = sorted({r.task for r in records})
    if task is None:
        if len(tasks) != 1:
            raise UserError(f"the records hold tasks {tasks}; choose one with --task-name")
        task = tasks[0]
    records = [r for r in records if r.task == task]
    seen_models = list(dict.fromkeys(r.model for r in records))
    if not records:
        raise UserError(f"no records of task {task!r}")
    if models is None:
        models = seen_models
    for model in models:
        if model not in seen_models:
            raise UserError(f"model {model!r} has no records (recorded: {', '.join(seen_models)})")
    versions = []
    for model in models:
        found = sorted({r.prompt_version for r in records if r.model == model})
        if len(found) > 1:
            raise UserError(f"model {model!r} has records under prompt versions {found}")
        versions.append(found[0])
    model_index = {m: i for i, m in enumerate(models)}
    records = [r for r in records if r.model in model_index]
    question_ids = list(dict.fromkeys(r.question_id for r in records))
    question_index = {q: i for i, q in enumerate(question_ids)}
    width = 1 + max(r.sample_index for r in records)
    by_question: dict[int, list[Record]] = {}
    for record in records:
        by_question.setdefault(question_index[record.question_id], []).append(record)
    # Per question: gold, and wrong strings by total frequency, then first appearance.
    labels, wrong_slots = [], []
    for q in range(len(question_ids)):
        rows = sorted(by_question[q], key=lambda r: (model_index[r.model], r.sample_index))
        gold = next((r.extra.get("gold") for r in rows if r.extra.get("gold") is not None), None)
        wrong = Counter(
            r.answer for r in rows if r.error is None and r.answer is not None
            and not _is_correct(r, gold)
        )  # fmt: skip
        order = sorted(wrong, key=lambda a: -wrong[a])  # stable: first appearance breaks ties
        labels.append([gold, *order])
        wrong_slots.append({a: 1 + i for i, a in enumerate(order)})
    num_answers = 2 + max(len(w) for w in wrong_slots)
    abstain = num_answers - 1
    samples = np.full((len(models), len(question_ids), width), MISSING_SAMPLE, dtype=np.int64)
    failed = np.zeros(samples.shape, dtype=bool)
    for q, rows in by_question.items():
        gold = labels[q][0]
        for r in rows:
            m = model_index[r.model]
            if r.error is not None:
                slot, failed[m, q, r.sample_index] = abstain, True
            elif r.answer is None:
                slot = abstain
            elif _is_correct(r, gold):
                slot = 0
            else:
                slot = wrong_slots[q][r.answer]
            samples[m, q, r.sample_index] = slot
    slot_labels = tuple(
        tuple(lab + [PADDING_LABEL] * (num_answers - 1 - len(lab)) + [None]) for lab in labels
    )
    sample_set = SampleSet(task, tuple(models), tuple(question_ids), slot_labels, samples,
                           num_answers, None)  # fmt: skip
    failed.setflags(write=False)
    return RecordSet(sample_set, failed, tuple(versions))
