"""The one correctness rule and the one slot builder: sampled answers -> a :class:`SampleSet`.

Data layer of the runner (``slmmux_run.data``). Every loader (``collect``'s records, the shared
samples and greedy files) and the discussion code turn answers into slots here, so that "slot 0
is correct" means the same thing everywhere:

* :func:`is_correct`: ⊥ (``None``) is never correct; an upstream verdict (the grader's
  ``extra.correct`` of a record, a file's ``is_correct``) decides when present; otherwise the
  grader's exact layer (:func:`slmmux_run.sampling.grade.grade_exact`, normalized string
  equality) or, for two plain decimal numbers, numeric equality (``"18.0"`` = ``"18"``, rule N1
  of the shared data).
* :func:`build_sample_set`: per question, slot 0 correct, shared wrong slots by total frequency
  over the loaded models then first appearance (models in order, samples in recorded order),
  last slot ⊥; a failed request is ⊥ and flagged; a sample never recorded is -1.

Example:
  >>> rows = [SampleAnswer("a", "q", i, answer, "7") for i, answer in enumerate(["7", "8", "7.0"])]
  >>> rows.append(SampleAnswer("b", "q", 0, None, "7"))
  >>> built = build_sample_set("t", rows, models=["a", "b"], question_ids=["q"])
  >>> built.sample_set.samples.tolist(), built.sample_set.slot_labels
  ([[[0, 1, 0]], [[2, -1, -1]]], (('7', '8', None),))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

import numpy as np

from slmmux_run.data.sample_set import MISSING_SAMPLE, OTHER_WRONG_LABEL, PADDING_LABEL, SampleSet
from slmmux_run.errors import UserError
from slmmux_run.sampling.grade import grade_exact

__all__ = [
    "SampleAnswer",
    "SlottedSamples",
    "build_sample_set",
    "is_correct",
    "same_number",
]

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _as_number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return None


def same_number(answer: str, gold: str) -> bool:
    """Whether both strings are plain decimal numbers of equal value.

    >>> same_number("18.00", "18"), same_number("1/2", "0.5")
    (True, False)
    """
    gold_number = _as_number(gold)
    if gold_number is None:
        return False
    number = _as_number(answer)
    return number is not None and number == gold_number


def is_correct(answer: str | None, gold: str | None, *, graded: bool | None = None) -> bool:
    """The package's one correctness rule for a sample.

    Args:
      answer: the extracted, normalized answer; ``None`` is ⊥ (never correct).
      gold: the reference answer, or ``None`` when unknown.
      graded: an upstream verdict (the grader's ``extra.correct``, a file's ``is_correct``);
        when given it decides. It must be a real boolean.

    Raises:
      TypeError: if ``graded`` is neither ``None`` nor a boolean (loaders turn this into a
        :class:`UserError` naming the file, line and field).

    >>> is_correct("7", "7"), is_correct("7.0", "7"), is_correct("x", "7", graded=True)
    (True, True, True)
    >>> is_correct(None, "7", graded=True)
    False
    """
    if answer is None:
        return False
    if graded is not None:
        if not isinstance(graded, bool):
            raise TypeError(f"a correctness verdict must be a boolean, got {graded!r}")
        return graded
    if gold is None:
        return False
    return grade_exact(answer, gold).correct or same_number(answer, gold)


class SampleAnswer(NamedTuple):
    """One recorded sample of one model on one question, before slotting.

    Attributes:
      model: model name.
      question_id: question id.
      sample_index: position on the sample axis (0-based).
      answer: the extracted answer, ``None`` for ⊥.
      gold: the question's reference answer as this sample's source states it, or ``None``.
      graded: the upstream verdict, or ``None`` to apply :func:`is_correct`'s own rule.
      failed: the request failed (the sample is ⊥ and flagged; its text is not an answer).
      line: the source line, for error messages (``None`` when unknown).
      tokens: generated tokens of this sample, ``None`` when unknown.
    """

    model: str
    question_id: str
    sample_index: int
    answer: str | None
    gold: str | None
    graded: bool | None = None
    failed: bool = False
    line: int | None = None
    tokens: float | None = None


class SlottedSamples(NamedTuple):
    """What :func:`build_sample_set` returns.

    Attributes:
      sample_set: the :class:`SampleSet`.
      failed: failed requests, bool, shape [models, questions, samples].
    """

    sample_set: SampleSet
    failed: np.ndarray


def _question_gold(question: str, rows: list[SampleAnswer], source: str) -> str | None:
    """The first stated gold (models in order, samples in order); a different one is an error."""
    gold, gold_line = None, None
    for row in rows:
        if row.gold is None:
            continue
        if gold is None:
            gold, gold_line = row.gold, row.line
        elif row.gold != gold:
            where = f"{source}:{row.line}" if row.line is not None else source
            first = f"line {gold_line}" if gold_line is not None else f"model {rows[0].model!r}"
            raise UserError(
                f"{where}: field 'gold' is {row.gold!r} but {first} has {gold!r} for "
                f"question_id {question!r} (select models that agree on gold)"
            )
    return gold


def build_sample_set(
    task: str,
    answers: Iterable[SampleAnswer],
    *,
    models: Sequence[str],
    question_ids: Sequence[str],
    num_samples: int | None = None,
    max_wrong_slots: int | None = None,
    source: str = "samples",
) -> SlottedSamples:
    """Slot indices of every sample, in the package-wide slot convention (see module doc).

    Args:
      task: the task name stored in the result.
      answers: the samples; those of other models or questions are ignored.
      models: the models, in this order (wrong slots are built from these only).
      question_ids: the questions, in this order; each needs at least one sample.
      num_samples: length of the sample axis; default one more than the largest index.
      max_wrong_slots: keep this many most frequent wrong answers per question, merge the rest
        into one "other wrong" slot (``SampleSet.other_wrong_slot``).
      source: the file name used in error messages.

    Returns:
      :class:`SlottedSamples`; unrecorded samples are -1 in ``sample_set.samples``.

    Raises:
      UserError: a question without samples, two different golds on one question, or a
        verdict that is not a boolean (naming ``source``, the line and the field).
    """
    if max_wrong_slots is not None and (
        not isinstance(max_wrong_slots, int) or isinstance(max_wrong_slots, bool)
        or max_wrong_slots < 0
    ):
        raise ValueError(f"max_wrong_slots must be an integer >= 0 or None, got {max_wrong_slots!r}")
    model_index = {model: i for i, model in enumerate(models)}
    question_index = {question: i for i, question in enumerate(question_ids)}
    by_question: list[list[SampleAnswer]] = [[] for _ in question_ids]
    largest = -1
    for row in answers:
        if row.model not in model_index:
            continue
        largest = max(largest, row.sample_index)
        q = question_index.get(row.question_id)
        if q is not None:
            by_question[q].append(row)
    width = largest + 1 if num_samples is None else num_samples

    golds: list[str | None] = []
    wrong_orders: list[list[str]] = []
    verdicts: list[list[bool]] = []
    for q, question in enumerate(question_ids):
        rows = sorted(by_question[q], key=lambda r: (model_index[r.model], r.sample_index))
        by_question[q] = rows
        if not rows:
            raise UserError(f"{source}: question_id {question!r} has no row for the chosen models")
        gold = _question_gold(question, rows, source)
        # Frequency of each distinct wrong string; Counter-like dict keeps first appearance.
        tally: dict[str, int] = {}
        correct = []
        for row in rows:
            try:
                verdict = not row.failed and is_correct(row.answer, gold, graded=row.graded)
            except TypeError:
                where = f"{source}:{row.line}" if row.line is not None else source
                raise UserError(
                    f"{where}: field 'extra.correct' must be a boolean (true or false), got "
                    f"{row.graded!r} (model {row.model!r}, question_id {question!r}, sample "
                    f"{row.sample_index})"
                ) from None
            correct.append(verdict)
            if not row.failed and row.answer is not None and not verdict:
                tally[row.answer] = tally.get(row.answer, 0) + 1
        golds.append(gold)
        verdicts.append(correct)
        wrong_orders.append(sorted(tally, key=lambda a: -tally[a]))  # stable: first appearance

    most_wrong = max((len(order) for order in wrong_orders), default=0)
    capped = max_wrong_slots is not None and most_wrong > max_wrong_slots
    kept = max_wrong_slots if capped else most_wrong
    other = 1 + kept if capped else None
    num_answers = kept + 2 + (1 if capped else 0)
    abstain = num_answers - 1

    samples = np.full((len(models), len(question_ids), width), MISSING_SAMPLE, np.int64)
    failed = np.zeros(samples.shape, dtype=bool)
    tokens = np.full(samples.shape, np.nan)
    any_tokens = False
    labels: list[tuple[str | None, ...]] = []
    for q, (gold, order) in enumerate(zip(golds, wrong_orders)):
        slot_of = {answer: 1 + rank if rank < kept else other for rank, answer in enumerate(order)}
        label = [gold, *order[:kept]] + [PADDING_LABEL] * (kept - min(kept, len(order)))
        if capped:
            label.append(OTHER_WRONG_LABEL if len(order) > kept else PADDING_LABEL)
        labels.append((*label, None))
        for row, correct in zip(by_question[q], verdicts[q]):
            m = model_index[row.model]
            if row.failed:
                slot, failed[m, q, row.sample_index] = abstain, True
            elif row.answer is None:
                slot = abstain
            else:
                slot = 0 if correct else slot_of[row.answer]
            samples[m, q, row.sample_index] = slot
            if row.tokens is not None:
                tokens[m, q, row.sample_index], any_tokens = float(row.tokens), True
    sample_set = SampleSet(task, tuple(models), tuple(question_ids), tuple(labels), samples,
                           num_answers, other, tokens if any_tokens else None)  # fmt: skip
    failed.setflags(write=False)
    return SlottedSamples(sample_set, failed)
