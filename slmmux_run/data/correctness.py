"""Correct-count files (``correctness/routerdc_*.jsonl``) -> :class:`CorrectnessSet`.

Data layer of the runner (``slmmux_run.data``). These files hold how many of ``n`` samples were
correct per (model, question), not the answers, so they do not become a
:class:`~slmmux_run.data.sample_set.SampleSet`; :func:`correctness_to_counts` makes binary answer
counts from them. Files may be gzip-compressed. Every problem is a
:class:`~slmmux_run.errors.UserError` naming ``FILE:LINE`` and the field.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slmmux_run.data.jsonl_rows import check_task, choose, natural_key, open_rows, row_field
from slmmux_run.data.sample_set import MissingSamplesWarning, index_of, read_only
from slmmux_run.errors import UserError

__all__ = ["CorrectnessSet", "correctness_to_counts", "load_correctness"]


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
        object.__setattr__(self, "n_correct", read_only(n_correct.astype(np.int64, copy=False)))
        object.__setattr__(self, "n", read_only(n.astype(np.int64, copy=False)))

    def select(self, models=None, questions=None) -> "CorrectnessSet":
        """A sub-set by model names/indices and question ids/indices, in the given order."""
        model_index = (
            list(range(len(self.models)))
            if models is None
            else index_of(self.models, models, "model", "in this correctness set")
        )
        question_index = (
            list(range(len(self.question_ids)))
            if questions is None
            else index_of(self.question_ids, questions, "question", "in this correctness set")
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
    name, rows = open_rows(path)
    table: dict[tuple[str, str], tuple[int, int, int]] = {}
    texts: dict[str, tuple[str, int]] = {}
    seen: dict = {}
    for number, row in rows:
        where = f"{name}:{number}"
        check_task(row_field(row, "task", str, where), seen, where)
        question_id = row_field(row, "question_id", str, where)
        text = row_field(row, "question", str, where)
        model = row_field(row, "model", str, where)
        n_correct = row_field(row, "n_correct", int, where)
        n = row_field(row, "n", int, where)
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
    all_questions = sorted(texts, key=natural_key)
    model_list = choose(name, all_models, models, "model")
    question_list = choose(name, all_questions, question_ids, "question_id")
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
