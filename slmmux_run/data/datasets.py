"""Shared real-data record files -> the theory engine's arrays (floor 2 of the runner).

Three kinds of files from the shared data folder (its README documents every schema) become
arrays in the package-wide answer-slot convention of :mod:`slmmux_theory.distributions`:

* sampled answers (``samples/*.jsonl``, one row per (model, question) with a list of answers)
  and greedy answers (``greedy/*.jsonl``, one answer per row) -> :class:`SampleSet`, the slot
  index of every sample, shape [models, questions, samples];
* correct counts (``correctness/routerdc_*.jsonl``) -> :class:`CorrectnessSet`, shapes
  [models, questions].

Slot convention (per question): slot 0 is the gold answer; slots ``1 .. A-2`` are the distinct
wrong answers of that question, one slot per distinct string **shared by all models**, ordered
by total frequency over the loaded models (ties: first appearance, scanning models in the
loaded order and samples in recorded order); slot ``A-1`` is ⊥ (``null``, no answer extracted).
``A`` is the same for every question; questions with fewer wrong answers get never-used padding
slots (label ``""``) just before the ⊥ slot.

Answer identity is the normalized string as stored (rule N1 of the data README was applied
upstream; we only strip white space). An answer goes to slot 0 if it equals the gold string or
is numerically equal to it (both plain decimal numbers). Distinct wrong strings stay distinct.

This module does I/O and validation only; it computes no accuracy of any rule. Every problem in
a file is a :class:`~slmmux_run.errors.UserError` naming ``FILE:LINE`` and the field.

>>> import tempfile, os, json
>>> row = {"task": "t", "question_id": "0", "model": "m", "gold": "7",
...        "answers": ["7", "8", None], "is_correct": [True, False, False]}
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "s.jsonl")
...     _ = open(path, "w").write(json.dumps(row) + "\\n")
...     sample_set = load_samples(path)
>>> sample_set.samples.tolist(), sample_set.slot_labels
([[[0, 1, 2]]], (('7', '8', None),))
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from slmmux_run.errors import UserError

__all__ = [
    "CorrectnessSet",
    "MISSING_SAMPLE",
    "MissingSamplesWarning",
    "OTHER_WRONG_LABEL",
    "PADDING_LABEL",
    "SampleSet",
    "correctness_to_counts",
    "load_correctness",
    "load_greedy",
    "load_samples",
    "split_questions",
    "split_samples",
]

MISSING_SAMPLE = -1
"""Value in :attr:`SampleSet.samples` for a sample that was not recorded."""

PADDING_LABEL = ""
"""Label of a never-used padding slot."""

OTHER_WRONG_LABEL = "<other wrong>"
"""Label of the merged "other wrong" slot on a question where answers were merged into it."""


class MissingSamplesWarning(UserWarning):
    """Some (model, question) pairs have fewer samples than the longest row (padded with -1)."""


# --------------------------------------------------------------------------- containers


def _index_of(names: Sequence[str], wanted, what: str, where: str) -> list[int]:
    """Indices of ``wanted`` (names or integer positions) in ``names``, in the given order."""
    if isinstance(wanted, (str, int, np.integer)):
        wanted = [wanted]
    lookup = {name: i for i, name in enumerate(names)}
    indices = []
    for item in wanted:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -len(names) <= item < len(names):
                raise UserError(f"{what} index {item} out of range 0..{len(names) - 1} {where}")
            indices.append(int(item) % len(names))
        elif isinstance(item, str):
            if item not in lookup:
                known = ", ".join(list(names)[:5]) + (", ..." if len(names) > 5 else "")
                raise UserError(f"{what} {item!r} not found {where} (known: {known})")
            indices.append(lookup[item])
        else:
            raise UserError(f"{what} must be given by name or index, got {item!r}")
    if len(set(indices)) != len(indices):
        raise UserError(f"{what} selection {list(wanted)!r} names the same {what} twice")
    return indices


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SampleSet:
    """Sampled answers of several models on several questions, as slot indices.

    Attributes:
      task: the file's ``task`` field, e.g. ``"gsm8k-train"``.
      models: model names, length M.
      question_ids: question ids, length Q.
      slot_labels: per question, the label of each of the A slots: slot 0 the gold string, wrong
        slots their answer string, padding slots ``""``, the merged slot (if any)
        ``OTHER_WRONG_LABEL`` where it is used, the last slot ``None`` (⊥).
      samples: slot index of each sample in recorded order, int, shape [models, questions,
        samples]; ``-1`` marks a sample that was not recorded.
      num_answers: A, the number of slots (same for all questions).
      other_wrong_slot: index of the merged "other wrong" slot when ``max_wrong_slots`` had to
        merge answers, else ``None``. Merging makes distinct wrong answers "agree", which
        distorts plurality votes; the theory should treat this slot as a dispersed tail.

    >>> s = SampleSet("t", ("m",), ("0",), (("7", None),), np.array([[[0, 1, -1]]]), 2, None)
    >>> s.counts.tolist()
    [[[1, 1]]]
    """

    task: str
    models: tuple[str, ...]
    question_ids: tuple[str, ...]
    slot_labels: tuple[tuple[str | None, ...], ...]
    samples: np.ndarray
    num_answers: int
    other_wrong_slot: int | None

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim != 3 or samples.shape[:2] != (len(self.models), len(self.question_ids)):
            raise ValueError(
                f"samples must have shape [{len(self.models)}, {len(self.question_ids)}, samples],"
                f" got {samples.shape}"
            )
        if len(self.slot_labels) != len(self.question_ids):
            raise ValueError("slot_labels needs one entry per question")
        if samples.size and (samples.min() < MISSING_SAMPLE or samples.max() >= self.num_answers):
            raise ValueError(f"samples must lie in -1..{self.num_answers - 1}")
        object.__setattr__(self, "samples", _read_only(samples.astype(np.int64, copy=False)))

    @property
    def num_models(self) -> int:
        return len(self.models)

    @property
    def num_questions(self) -> int:
        return len(self.question_ids)

    @property
    def num_samples(self) -> int:
        """Length of the sample axis (the longest row; shorter rows are padded with -1)."""
        return int(self.samples.shape[2])

    @property
    def abstain_slot(self) -> int:
        """Index of the ⊥ slot (always the last one)."""
        return self.num_answers - 1

    @cached_property
    def counts(self) -> np.ndarray:
        """Answer counts, int, shape [models, questions, answers]; missing samples ignored."""
        models, questions, _ = self.samples.shape
        cell = np.arange(models * questions).reshape(models, questions, 1) * self.num_answers
        valid = self.samples != MISSING_SAMPLE
        flat = np.bincount(
            (cell + self.samples)[valid], minlength=models * questions * self.num_answers
        )
        return _read_only(flat.reshape(models, questions, self.num_answers))

    @property
    def num_recorded(self) -> np.ndarray:
        """Number of recorded (non-missing) samples, int, shape [models, questions]."""
        return (self.samples != MISSING_SAMPLE).sum(axis=2)

    def select(self, models=None, questions=None, samples=None) -> "SampleSet":
        """A sub-set by model names/indices, question ids/indices and sample positions.

        Slots are kept as they are (the wrong-answer order was fixed over the loaded models);
        use ``load_samples(..., models=...)`` to rebuild slots from a subset instead.

        Args:
          models: names (str) or indices (int), in the wanted order; ``None`` keeps all.
          questions: ids (str) or indices (int), in the wanted order; ``None`` keeps all.
          samples: a slice or indices of the sample axis; ``None`` keeps all.

        >>> s = SampleSet("t", ("a", "b"), ("0",), (("1", None),), np.array([[[0, 1]], [[1, 1]]]),
        ...               2, None)
        >>> s.select(models=["b"], samples=slice(0, 1)).samples.tolist()
        [[[1]]]
        """
        model_index = (
            list(range(self.num_models))
            if models is None
            else _index_of(self.models, models, "model", "in this sample set")
        )
        question_index = (
            list(range(self.num_questions))
            if questions is None
            else _index_of(self.question_ids, questions, "question", "in this sample set")
        )
        array = self.samples[np.ix_(model_index, question_index)]
        if samples is not None:
            array = array[:, :, samples]
            if array.ndim != 3:
                raise ValueError("samples must be a slice or a list of indices, not one integer")
        return dataclasses.replace(
            self,
            models=tuple(self.models[i] for i in model_index),
            question_ids=tuple(self.question_ids[i] for i in question_index),
            slot_labels=tuple(self.slot_labels[i] for i in question_index),
            samples=array,
        )


@dataclass(frozen=True, eq=False)
class CorrectnessSet:
    """How many of ``n`` samples were correct, per (model, question); no answers themselves.

    Attributes:
      task: the file's ``task`` field.
      models: model names, length M.
      question_ids: question ids, length Q.
      questions: question texts, length Q.
      n_correct: correct samples, int, shape [models, questions].
      n: samples drawn, int, shape [models, questions]; 0 where the file has no row.
    """

    task: str
    models: tuple[str, ...]
    question_ids: tuple[str, ...]
    questions: tuple[str, ...]
    n_correct: np.ndarray
    n: np.ndarray

    def __post_init__(self) -> None:
        shape = (len(self.models), len(self.question_ids))
        n_correct, n = np.asarray(self.n_correct), np.asarray(self.n)
        if n_correct.shape != shape or n.shape != shape:
            raise ValueError(f"n_correct and n must have shape {shape}")
        if np.any(n_correct < 0) or np.any(n_correct > n):
            raise ValueError("n_correct must lie in 0..n")
        object.__setattr__(self, "n_correct", _read_only(n_correct.astype(np.int64, copy=False)))
        object.__setattr__(self, "n", _read_only(n.astype(np.int64, copy=False)))

    def select(self, models=None, questions=None) -> "CorrectnessSet":
        """A sub-set by model names/indices and question ids/indices, in the given order."""
        model_index = (
            list(range(len(self.models)))
            if models is None
            else _index_of(self.models, models, "model", "in this correctness set")
        )
        question_index = (
            list(range(len(self.question_ids)))
            if questions is None
            else _index_of(self.question_ids, questions, "question", "in this correctness set")
        )
        grid = np.ix_(model_index, question_index)
        return dataclasses.replace(
            self,
            models=tuple(self.models[i] for i in model_index),
            question_ids=tuple(self.question_ids[i] for i in question_index),
            questions=tuple(self.questions[i] for i in question_index),
            n_correct=self.n_correct[grid],
            n=self.n[grid],
        )


def correctness_to_counts(correctness: CorrectnessSet) -> np.ndarray:
    """Binary answer counts: (correct, one shared wrong slot, ⊥ = 0).

    The real wrong answers of the RouterDC data are unknown. Putting all of them into ONE slot
    shared by every model is a modelling choice, the most pessimistic one for voting: all wrong
    samples agree with each other. Treat results built on it as a bound, not an estimate.

    Returns:
      int array, shape [models, questions, 3].

    >>> cs = CorrectnessSet("t", ("m",), ("0",), ("q?",), np.array([[7]]), np.array([[10]]))
    >>> correctness_to_counts(cs).tolist()
    [[[7, 3, 0]]]
    """
    return np.stack(
        [correctness.n_correct, correctness.n - correctness.n_correct,
         np.zeros_like(correctness.n)],
        axis=-1,
    )


# --------------------------------------------------------------------------- reading


def _open_lines(path) -> tuple[str, Iterator[tuple[int, dict]]]:
    """Check the file and return its display name and an iterator of (line number, object)."""
    path = Path(os.fspath(path))
    if not path.is_file():
        raise UserError(f"{path}: file does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise UserError(f"{path}: cannot be read ({error.strerror})") from None
    name = str(path)
    lines = text.split("\n")
    torn = not text.endswith("\n")

    def rows() -> Iterator[tuple[int, dict]]:
        count = 0
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                last = number == len(lines) and torn
                hint = " (torn last line: the file does not end with a newline)" if last else ""
                raise UserError(f"{name}:{number}: invalid JSON{hint}: {error.msg}") from None
            if not isinstance(value, dict):
                raise UserError(f"{name}:{number}: expected a JSON object, got {type(value).__name__}")
            count += 1
            yield number, value
        if count == 0:
            raise UserError(f"{name}: no rows")

    return name, rows()


_TYPE_NAMES = {str: "a string", int: "an integer", list: "a list", bool: "a boolean"}


def _field(row: dict, key: str, kind: type, where: str, *, optional: bool = False) -> Any:
    """``row[key]`` checked to be of ``kind`` (bool is not an int here)."""
    if key not in row:
        if optional:
            return None
        raise UserError(f"{where}: field {key!r} is missing")
    value = row[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise UserError(
            f"{where}: field {key!r} must be {_TYPE_NAMES[kind]}, got {json.dumps(value)[:40]}"
        )
    return value


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _as_number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return None


def _matches_gold(answer: str | None, gold: str, gold_number: Decimal | None) -> bool:
    """Gold rule: string equality, or numeric equality of two plain decimal numbers."""
    if answer is None:
        return False
    if answer == gold:
        return True
    if gold_number is None:
        return False
    number = _as_number(answer)
    return number is not None and number == gold_number


def _natural_key(question_id: str) -> tuple:
    """Order ids like ``"7"`` or ``"gsm8k-main-test-#7"`` by their trailing number."""
    match = re.fullmatch(r"(.*?)(\d+)", question_id)
    return (0, match.group(1), int(match.group(2))) if match else (1, question_id, 0)


@dataclass
class _Row:
    line: int
    gold: str
    answers: list[str | None]


def _check_task(task: str, seen: dict, where: str) -> None:
    if "task" not in seen:
        seen["task"] = (task, where)
    elif seen["task"][0] != task:
        raise UserError(
            f"{where}: field 'task' is {task!r} but {seen['task'][1]} has {seen['task'][0]!r}"
            f" (one file, one task)"
        )


def _parse_answer_rows(path, greedy: bool) -> tuple[str, str, dict[tuple[str, str], _Row]]:
    """Read a samples file (``answers`` lists) or a greedy file (one ``answer``) into rows."""
    name, rows = _open_lines(path)
    table: dict[tuple[str, str], _Row] = {}
    seen: dict = {}
    for number, row in rows:
        where = f"{name}:{number}"
        task = _field(row, "task", str, where)
        _check_task(task, seen, where)
        question_id = _field(row, "question_id", str, where)
        model = _field(row, "model", str, where)
        gold = _field(row, "gold", str, where).strip()
        if not gold:
            raise UserError(f"{where}: field 'gold' is empty")
        if greedy:
            if "answer" not in row:
                raise UserError(f"{where}: field 'answer' is missing")
            answers = [row["answer"]]
            correct = _field(row, "correct", bool, where, optional=True)
            flags = None if correct is None else [correct]
            answer_field, flag_field = "answer", "correct"
        else:
            answers = _field(row, "answers", list, where)
            flags = _field(row, "is_correct", list, where, optional=True)
            answer_field, flag_field = "answers", "is_correct"
        cleaned: list[str | None] = []
        for i, answer in enumerate(answers):
            if answer is not None and not isinstance(answer, str):
                label = answer_field if greedy else f"{answer_field}[{i}]"
                raise UserError(
                    f"{where}: field {label!r} must be a string or null, got {json.dumps(answer)}"
                )
            # N1: strip white space, empty -> null.
            cleaned.append((answer.strip() or None) if answer is not None else None)
        if flags is not None:
            if len(flags) != len(answers):
                raise UserError(
                    f"{where}: field {flag_field!r} has {len(flags)} entries but "
                    f"{answer_field!r} has {len(answers)}"
                )
            gold_number = _as_number(gold)
            for i, (answer, flag) in enumerate(zip(cleaned, flags)):
                label = flag_field if greedy else f"{flag_field}[{i}]"
                if not isinstance(flag, bool):
                    raise UserError(
                        f"{where}: field {label!r} must be a boolean, got {json.dumps(flag)}"
                    )
                if flag != _matches_gold(answer, gold, gold_number):
                    raise UserError(
                        f"{where}: field {label!r} is {str(flag).lower()} but answer "
                        f"{json.dumps(answer)} {'equals' if not flag else 'differs from'} "
                        f"gold {json.dumps(gold)}"
                    )
        key = (model, question_id)
        if key in table:
            raise UserError(
                f"{where}: duplicate row for model {model!r}, question_id {question_id!r} "
                f"(first at line {table[key].line})"
            )
        table[key] = _Row(number, gold, cleaned)
    return name, seen["task"][0], table


def _choose(name: str, available: list[str], wanted, what: str) -> list[str]:
    if wanted is None:
        return available
    if isinstance(wanted, (str, int)):
        wanted = [wanted]
    chosen = [str(item) for item in wanted]
    present = set(available)
    for item in chosen:
        if item not in present:
            known = ", ".join(available[:5]) + (", ..." if len(available) > 5 else "")
            raise UserError(f"{name}: {what} {item!r} is not in the file (known: {known})")
    if len(set(chosen)) != len(chosen):
        raise UserError(f"{name}: the {what} selection names the same {what} twice")
    if not chosen:
        raise UserError(f"{name}: the {what} selection is empty")
    return chosen


def _build_sample_set(
    name: str,
    task: str,
    table: dict[tuple[str, str], _Row],
    models,
    question_ids,
    max_wrong_slots: int | None,
) -> SampleSet:
    if max_wrong_slots is not None and (
        not isinstance(max_wrong_slots, int) or isinstance(max_wrong_slots, bool)
        or max_wrong_slots < 0
    ):
        raise ValueError(f"max_wrong_slots must be an integer >= 0 or None, got {max_wrong_slots!r}")
    all_models = list(dict.fromkeys(model for model, _ in table))
    model_list = _choose(name, all_models, models, "model")
    loaded = set(model_list)
    # Default questions: those answered by at least one loaded model.
    all_questions = sorted(
        dict.fromkeys(q for model, q in table if model in loaded), key=_natural_key
    )
    question_list = _choose(name, all_questions, question_ids, "question_id")

    width = max(len(row.answers) for (model, _), row in table.items() if model in loaded)
    golds: list[str] = []
    wrong_orders: list[list[str]] = []
    for question in question_list:
        gold, gold_line = None, None
        # Frequency and first position of each distinct wrong string over the loaded models.
        tally: dict[str, list[int]] = {}
        position = 0
        for model in model_list:
            row = table.get((model, question))
            if row is None:
                continue
            if gold is None:
                gold, gold_line = row.gold, row.line
            elif row.gold != gold:
                raise UserError(
                    f"{name}:{row.line}: field 'gold' is {row.gold!r} but line {gold_line} has "
                    f"{gold!r} for question_id {question!r} (select models that agree on gold)"
                )
            gold_number = _as_number(gold)
            for answer in row.answers:
                position += 1
                if answer is None or _matches_gold(answer, gold, gold_number):
                    continue
                entry = tally.setdefault(answer, [0, position])
                entry[0] += 1
        if gold is None:
            raise UserError(f"{name}: question_id {question!r} has no row for the chosen models")
        golds.append(gold)
        wrong_orders.append(sorted(tally, key=lambda a: (-tally[a][0], tally[a][1])))

    most_wrong = max((len(order) for order in wrong_orders), default=0)
    capped = max_wrong_slots is not None and most_wrong > max_wrong_slots
    kept = max_wrong_slots if capped else most_wrong
    other = 1 + kept if capped else None
    num_answers = kept + 2 + (1 if capped else 0)
    abstain = num_answers - 1

    samples = np.full((len(model_list), len(question_list), width), MISSING_SAMPLE, np.int64)
    labels: list[tuple[str | None, ...]] = []
    short_rows, missing_rows = [], []
    for q, (question, gold, order) in enumerate(zip(question_list, golds, wrong_orders)):
        slot_of: dict[str, int] = {gold: 0}
        for rank, answer in enumerate(order):
            slot_of[answer] = 1 + rank if rank < kept else other
        label = [gold, *order[:kept]] + [PADDING_LABEL] * (kept - min(kept, len(order)))
        if capped:
            label.append(OTHER_WRONG_LABEL if len(order) > kept else PADDING_LABEL)
        labels.append((*label, None))
        gold_number = _as_number(gold)
        for m, model in enumerate(model_list):
            row = table.get((model, question))
            if row is None:
                missing_rows.append((model, question))
                continue
            if len(row.answers) < width:
                short_rows.append(row.line)
            for i, answer in enumerate(row.answers):
                if answer is None:
                    samples[m, q, i] = abstain
                elif answer in slot_of:
                    samples[m, q, i] = slot_of[answer]
                else:  # numerically equal to gold but spelled differently
                    assert _matches_gold(answer, gold, gold_number)
                    samples[m, q, i] = 0
    if short_rows or missing_rows:
        parts = []
        if short_rows:
            parts.append(
                f"{len(short_rows)} rows have fewer than {width} samples (first at line "
                f"{short_rows[0]})"
            )
        if missing_rows:
            model, question = missing_rows[0]
            parts.append(
                f"{len(missing_rows)} (model, question) pairs have no row (first: {model!r}, "
                f"question_id {question!r})"
            )
        warnings.warn(
            f"{name}: " + "; ".join(parts) + "; missing samples are -1 in SampleSet.samples",
            MissingSamplesWarning,
            stacklevel=3,
        )
    return SampleSet(
        task=task,
        models=tuple(model_list),
        question_ids=tuple(question_list),
        slot_labels=tuple(labels),
        samples=samples,
        num_answers=num_answers,
        other_wrong_slot=other,
    )


def load_samples(
    path: str | os.PathLike,
    *,
    models: Sequence[str] | None = None,
    question_ids: Sequence[str] | None = None,
    max_wrong_slots: int | None = None,
) -> SampleSet:
    """Load a sampled-answers file (``samples/*.jsonl``) as slot indices.

    Args:
      path: the ``.jsonl`` file (resolve the data folder with :func:`slmmux_run.data.paths.data_file`).
      models: model names to load, in this order; default: all, in order of first appearance.
        Wrong-answer slots are built from the loaded models only.
      question_ids: question ids to load, in this order (ints are turned into strings); default:
        every question that a loaded model answered, ordered by the number at the end of the id.
      max_wrong_slots: keep this many most frequent wrong answers per question and merge the rest
        into one "other wrong" slot (``SampleSet.other_wrong_slot``). Merging makes different
        wrong answers count as agreeing, which distorts plurality votes.

    Returns:
      The :class:`SampleSet`; rows with fewer samples than the longest one are padded with -1
      and reported with a :class:`MissingSamplesWarning`.

    Raises:
      UserError: ``FILE:LINE`` and field for a missing file, invalid JSON, a missing or
        ill-typed field, ``is_correct`` disagreeing with the gold rule, a duplicate
        (model, question) row, or two models with different gold on one question.
    """
    name, task, table = _parse_answer_rows(path, greedy=False)
    return _build_sample_set(name, task, table, models, question_ids, max_wrong_slots)


def load_greedy(
    path: str | os.PathLike,
    *,
    models: Sequence[str] | None = None,
    question_ids: Sequence[str] | None = None,
    max_wrong_slots: int | None = None,
) -> SampleSet:
    """Load a greedy-answers file (``greedy/*.jsonl``, one ``answer`` per row).

    Same slot convention and arguments as :func:`load_samples`; the sample axis has length 1.
    A ``correct`` field, when present (ZeroEval), is cross-checked like ``is_correct``.
    The MMLU-Pro file has three questions whose gold differs between models evaluated on
    different dataset revisions; load a set of models that agree (or drop those ids).
    """
    name, task, table = _parse_answer_rows(path, greedy=True)
    return _build_sample_set(name, task, table, models, question_ids, max_wrong_slots)


def load_correctness(
    path: str | os.PathLike,
    *,
    models: Sequence[str] | None = None,
    question_ids: Sequence[str] | None = None,
) -> CorrectnessSet:
    """Load a correct-count file (``correctness/routerdc_*.jsonl``).

    Args:
      path: the ``.jsonl`` file.
      models: model names to load, in this order; default: all, in order of first appearance.
      question_ids: ids to load, in this order; default: all, ordered by number.

    Returns:
      The :class:`CorrectnessSet`; a missing (model, question) row gives ``n = 0`` and a
      :class:`MissingSamplesWarning`.

    Raises:
      UserError: ``FILE:LINE`` and field for the problems listed in :func:`load_samples`, and
        for ``n_correct`` outside ``0..n`` or two rows with different text for one question.
    """
    name, rows = _open_lines(path)
    table: dict[tuple[str, str], tuple[int, int, int]] = {}
    texts: dict[str, tuple[str, int]] = {}
    seen: dict = {}
    for number, row in rows:
        where = f"{name}:{number}"
        _check_task(_field(row, "task", str, where), seen, where)
        question_id = _field(row, "question_id", str, where)
        text = _field(row, "question", str, where)
        model = _field(row, "model", str, where)
        n_correct = _field(row, "n_correct", int, where)
        n = _field(row, "n", int, where)
        if n < 0 or not 0 <= n_correct <= n:
            raise UserError(f"{where}: field 'n_correct' is {n_correct}, outside 0..n = 0..{n}")
        key = (model, question_id)
        if key in table:
            raise UserError(
                f"{where}: duplicate row for model {model!r}, question_id {question_id!r} "
                f"(first at line {table[key][0]})"
            )
        if question_id in texts and texts[question_id][0] != text:
            raise UserError(
                f"{where}: field 'question' differs from line {texts[question_id][1]} for "
                f"question_id {question_id!r}"
            )
        texts.setdefault(question_id, (text, number))
        table[key] = (number, n_correct, n)
    all_models = list(dict.fromkeys(model for model, _ in table))
    all_questions = sorted(texts, key=_natural_key)
    model_list = _choose(name, all_models, models, "model")
    question_list = _choose(name, all_questions, question_ids, "question_id")
    n_correct = np.zeros((len(model_list), len(question_list)), np.int64)
    n = np.zeros_like(n_correct)
    missing = []
    for m, model in enumerate(model_list):
        for q, question in enumerate(question_list):
            entry = table.get((model, question))
            if entry is None:
                missing.append((model, question))
            else:
                _, n_correct[m, q], n[m, q] = entry
    if missing:
        warnings.warn(
            f"{name}: {len(missing)} (model, question) pairs have no row (first: "
            f"{missing[0][0]!r}, question_id {missing[0][1]!r}); their n is 0",
            MissingSamplesWarning,
            stacklevel=2,
        )
    return CorrectnessSet(
        task=seen["task"][0],
        models=tuple(model_list),
        question_ids=tuple(question_list),
        questions=tuple(texts[q][0] for q in question_list),
        n_correct=n_correct,
        n=n,
    )


# --------------------------------------------------------------------------- splits


def split_samples(sample_set: SampleSet, fit_samples: int) -> tuple[SampleSet, SampleSet]:
    """Split the sample axis: the first ``fit_samples`` samples vs. the rest.

    Recorded order is kept, so the split is the one a run would have seen (first samples used
    for fitting, later ones held out).

    >>> s = SampleSet("t", ("m",), ("0",), (("1", None),), np.array([[[0, 0, 1]]]), 2, None)
    >>> [part.samples.tolist() for part in split_samples(s, 2)]
    [[[[0, 0]]], [[[1]]]]
    """
    if not isinstance(fit_samples, (int, np.integer)) or not 0 < fit_samples < sample_set.num_samples:
        raise ValueError(
            f"fit_samples must be an integer in 1..{sample_set.num_samples - 1}, got {fit_samples!r}"
        )
    return (
        sample_set.select(samples=slice(0, int(fit_samples))),
        sample_set.select(samples=slice(int(fit_samples), None)),
    )


def split_questions(
    sample_set: SampleSet, fraction: float, key_or_seed
) -> tuple[SampleSet, SampleSet]:
    """Split the questions at random: ``round(fraction * Q)`` questions vs. the rest.

    Each part keeps the original question order.

    Args:
      sample_set: the set to split.
      fraction: share of questions in the first part, in (0, 1).
      key_or_seed: an integer seed (NumPy ``default_rng``) or a ``jax.random`` key.

    Raises:
      ValueError: if a part would be empty.

    >>> s = SampleSet("t", ("m",), ("0", "1", "2", "3"), (("1", None),) * 4,
    ...               np.zeros((1, 4, 1), int), 2, None)
    >>> first, rest = split_questions(s, 0.5, 0)
    >>> sorted(first.question_ids + rest.question_ids)
    ['0', '1', '2', '3']
    """
    total = sample_set.num_questions
    size = int(round(float(fraction) * total))
    if not (0.0 < float(fraction) < 1.0) or not 0 < size < total:
        raise ValueError(
            f"fraction {fraction} of {total} questions leaves a part empty; use 0 < fraction < 1"
        )
    if isinstance(key_or_seed, (int, np.integer)) and not isinstance(key_or_seed, bool):
        order = np.random.default_rng(int(key_or_seed)).permutation(total)
    else:
        import jax  # imported here so that loading data never pays for jax start-up

        order = np.asarray(jax.random.permutation(key_or_seed, total))
    first = sorted(order[:size].tolist())
    rest = sorted(order[size:].tolist())
    return sample_set.select(questions=first), sample_set.select(questions=rest)
