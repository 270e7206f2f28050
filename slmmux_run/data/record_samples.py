"""Stored records -> one :class:`~slmmux_run.data.sample_set.SampleSet` (the records loader).

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from slmmux_run.data.records import Record
from slmmux_run.data.sample_set import MISSING_SAMPLE, SampleSet
from slmmux_run.data.slots import SampleAnswer, build_sample_set
from slmmux_run.errors import UserError

__all__ = ["RecordSet", "load_records", "sample_answer"]


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


def load_records(
    records: Iterable[Record],
    task: str | None = None,
    models: Sequence[str] | None = None,
    *,
    source: str = "records",
) -> RecordSet:
    """Build slot arrays from records (use ``RecordStore(path).latest().values()``).

    Slots come from :func:`slmmux_run.data.slots.build_sample_set`; a record is correct by
    :func:`slmmux_run.data.slots.is_correct` with the grader's ``extra.correct`` as verdict.
    Questions keep their order of first appearance.

    Args:
      records: at most one record per key (a later success supersedes a failure upstream).
      task: the task to keep; needed when the records hold several.
      models: models to keep, in this order; default all, in order of first appearance.
      source: the file name used in error messages.

    Raises:
      UserError: for several tasks without ``task``, an unknown model, a model recorded
        under several prompt versions, two golds on one question, or an ``extra.correct``
        that is not a boolean.
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
    chosen = set(models)
    question_ids = list(dict.fromkeys(r.question_id for r in records if r.model in chosen))
    built = build_sample_set(task, map(sample_answer, records), models=list(models),
                             question_ids=question_ids, source=source)  # fmt: skip
    return RecordSet(built.sample_set, built.failed, tuple(versions))


def sample_answer(record: Record, line: int | None = None) -> SampleAnswer:
    """One record as the slot builder's input (its gold and verdict from ``extra``)."""
    extra = record.extra or {}
    usage = record.usage or {}
    tokens = usage.get("completion_tokens")
    if isinstance(tokens, bool) or not isinstance(tokens, (int, float)):
        tokens = None
    return SampleAnswer(record.model, record.question_id, record.sample_index, record.answer,
                        extra.get("gold"), extra.get("correct"), record.error is not None, line,
                        tokens)  # fmt: skip
