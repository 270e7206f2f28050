"""The shared samples and greedy files (``samples/*.jsonl``, ``greedy/*.jsonl``) -> :class:`SampleSet`.

Data layer of the runner (``slmmux_run.data``). One row per (model, question) with a list of
``answers`` (or one ``answer``), ``gold`` and optional ``is_correct`` (``correct``) flags; the
shared data folder's README documents the schemas. Answer identity is the normalized string as
stored (rule N1 of the data README was applied upstream; we only strip white space). Slots come
from the one builder, :func:`slmmux_run.data.slots.build_sample_set`, with the one correctness
rule :func:`slmmux_run.data.slots.is_correct`; a stored flag must agree with that rule, except
on rows whose flags are known to be another rule (:data:`UPSTREAM_FLAGS`: Best-of-∞'s MATH-500),
which are regraded and their equal answers merged (:mod:`slmmux_run.data.regrade`). Files
may be gzip-compressed (``.jsonl.gz``). Every problem is a :class:`~slmmux_run.errors.UserError`
naming ``FILE:LINE`` and the field.

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

import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from slmmux_run.data.jsonl_rows import check_task, choose, natural_key, open_rows, row_field
from slmmux_run.data.sample_set import MissingSamplesWarning, SampleSet
from slmmux_run.data.slots import SampleAnswer, build_sample_set, is_correct
from slmmux_run.errors import UserError

__all__ = ["UPSTREAM_FLAGS", "load_greedy", "load_samples"]

UPSTREAM_FLAGS = frozenset({("best-of-infinity", "math500")})
"""(``source``, ``task``) of rows whose ``is_correct`` is the upstream's string equality of
verbatim LaTeX, not our rule (data README, section F): such rows are regraded by default (see
:func:`load_samples`). The Best-of-∞ AIME file is not listed: its answers are plain integers
whose flags agree with our rule, and it loads exactly as before."""


@dataclass
class _Row:
    line: int
    gold: str
    answers: list[str | None]
    flags: list[bool] | None
    tokens: list[float | None] | None = None
    upstream_flags: bool = False


def _parse_answer_rows(
    path, greedy: bool, regrade: bool | None = False
) -> tuple[str, str, dict[tuple[str, str], _Row]]:
    """Read a samples file (``answers`` lists) or a greedy file (one ``answer``) into rows.

    Rows to regrade (``regrade=True``, or ``None`` and ``source`` in :data:`UPSTREAM_FLAGS`)
    keep their flags unchecked: they are replaced by :func:`_regrade`.
    """
    name, rows = open_rows(path)
    table: dict[tuple[str, str], _Row] = {}
    seen: dict = {}
    for number, row in rows:
        where = f"{name}:{number}"
        task = row_field(row, "task", str, where)
        check_task(task, seen, where)
        question_id = row_field(row, "question_id", str, where)
        model = row_field(row, "model", str, where)
        gold = row_field(row, "gold", str, where).strip()
        if not gold:
            raise UserError(f"{where}: field 'gold' is empty")
        source = row_field(row, "source", str, where, optional=True)
        upstream = regrade if regrade is not None else (source, task) in UPSTREAM_FLAGS
        if greedy:
            if "answer" not in row:
                raise UserError(f"{where}: field 'answer' is missing")
            answers = [row["answer"]]
            correct = row_field(row, "correct", bool, where, optional=True)
            flags = None if correct is None else [correct]
            answer_field, flag_field = "answer", "correct"
        else:
            answers = row_field(row, "answers", list, where)
            flags = row_field(row, "is_correct", list, where, optional=True)
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
            for i, (answer, flag) in enumerate(zip(cleaned, flags)):
                label = flag_field if greedy else f"{flag_field}[{i}]"
                if not isinstance(flag, bool):
                    raise UserError(
                        f"{where}: field {label!r} must be a boolean, got {json.dumps(flag)}"
                    )
                if not upstream and flag != is_correct(answer, gold):
                    raise UserError(
                        f"{where}: field {label!r} is {str(flag).lower()} but answer "
                        f"{json.dumps(answer)} {'equals' if not flag else 'differs from'} "
                        f"gold {json.dumps(gold)}"
                    )
        tokens = None if greedy else row_field(row, "tokens", list, where, optional=True)
        if tokens is not None:
            if len(tokens) != len(answers):
                raise UserError(
                    f"{where}: field 'tokens' has {len(tokens)} entries but 'answers' has "
                    f"{len(answers)}"
                )
            for i, count in enumerate(tokens):
                if count is not None and (
                    isinstance(count, bool) or not isinstance(count, (int, float))
                    or not count >= 0 or count == float("inf")
                ):
                    raise UserError(
                        f"{where}: field 'tokens[{i}]' must be a number >= 0 or null, got "
                        f"{json.dumps(count)}"
                    )
        key = (model, question_id)
        if key in table:
            raise UserError(
                f"{where}: duplicate row for model {model!r}, question_id {question_id!r} "
                f"(first at line {table[key].line})"
            )
        table[key] = _Row(number, gold, cleaned, flags, tokens, upstream)
    return name, seen["task"][0], table


def _regrade(table: dict[tuple[str, str], _Row]) -> None:
    """Replace the answers and flags of every row marked ``upstream_flags`` by the regrade's
    vote-group labels and verdicts (:func:`slmmux_run.data.regrade.regrade_question`), one
    question at a time over all its rows of the file, so groups do not depend on which models
    are loaded."""
    by_question: dict[str, list[_Row]] = {}
    for (_, question), row in table.items():
        if row.upstream_flags:
            by_question.setdefault(question, []).append(row)
    if not by_question:
        return
    from slmmux_run.data.regrade import regrade_question  # SymPy: only when a file needs it

    for rows in by_question.values():
        golds = {row.gold for row in rows}
        if len(golds) > 1:  # the slot builder names the line; regrade each gold's rows apart
            groups = [[row for row in rows if row.gold == gold] for gold in golds]
        else:
            groups = [rows]
        for group in groups:
            regraded = regrade_question([row.answers for row in group], group[0].gold)
            for row, labels, verdicts in zip(group, regraded.labels, regraded.correct):
                row.answers, row.flags = list(labels), list(verdicts)


def _build(name, task, table, models, question_ids, max_wrong_slots) -> SampleSet:
    """Rows -> :func:`~slmmux_run.data.slots.build_sample_set`; warn about short or missing rows."""
    all_models = list(dict.fromkeys(model for model, _ in table))
    model_list = choose(name, all_models, models, "model")
    loaded = set(model_list)
    # Default questions: those answered by at least one loaded model.
    all_questions = sorted(
        dict.fromkeys(q for model, q in table if model in loaded), key=natural_key
    )
    question_list = choose(name, all_questions, question_ids, "question_id")
    width = max(len(row.answers) for (model, _), row in table.items() if model in loaded)
    answers = (
        SampleAnswer(model, question, i, answer, row.gold, row.flags[i] if row.flags else None,
                     False, row.line, row.tokens[i] if row.tokens else None)  # fmt: skip
        for question in question_list
        for model in model_list
        if (row := table.get((model, question))) is not None
        for i, answer in enumerate(row.answers)
    )
    built = build_sample_set(task, answers, models=model_list, question_ids=question_list,
                             num_samples=width, max_wrong_slots=max_wrong_slots, source=name)  # fmt: skip
    short_rows, missing_rows = [], []
    for question in question_list:
        for model in model_list:
            row = table.get((model, question))
            if row is None:
                missing_rows.append((model, question))
            elif len(row.answers) < width:
                short_rows.append(row.line)
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
    return built.sample_set


def load_samples(
    path: str | os.PathLike,
    *,
    models: Sequence[str] | None = None,
    question_ids: Sequence[str] | None = None,
    max_wrong_slots: int | None = None,
    regrade: bool | None = None,
) -> SampleSet:
    r"""Load a sampled-answers file (``samples/*.jsonl``) as slot indices.

    Args:
      path: the ``.jsonl`` file (resolve the data folder with :func:`slmmux_run.data.paths.data_file`).
      models: model names to load, in this order; default: all, in order of first appearance.
        Wrong-answer slots are built from the loaded models only.
      question_ids: question ids to load, in this order (ints are turned into strings); default:
        every question that a loaded model answered, ordered by the number at the end of the id.
      max_wrong_slots: keep this many most frequent wrong answers per question and merge the rest
        into one "other wrong" slot (``SampleSet.other_wrong_slot``). Merging makes different
        wrong answers count as agreeing, which distorts plurality votes.
      regrade: grade every answer with the equivalence grader and merge answers it finds equal
        into one vote group (:mod:`slmmux_run.data.regrade`), ignoring the file's
        ``is_correct``. ``None`` (default): only rows whose (``source``, ``task``) is in
        :data:`UPSTREAM_FLAGS` (Best-of-∞'s MATH-500, whose flags are string equality of
        verbatim LaTeX: cross-checking them would refuse the file and trusting them would split
        ``14/3`` from ``\frac{14}{3}``). ``False``: cross-check the flags against our rule
        everywhere, as for every other file.

    Returns:
      The :class:`SampleSet`; rows with fewer samples than the longest one are padded with -1
      and reported with a :class:`MissingSamplesWarning`.

    Raises:
      UserError: ``FILE:LINE`` and field for a missing file, invalid JSON, a missing or
        ill-typed field, ``is_correct`` disagreeing with the gold rule, a duplicate
        (model, question) row, or two models with different gold on one question.
    """
    name, task, table = _parse_answer_rows(path, greedy=False, regrade=regrade)
    _regrade(table)
    return _build(name, task, table, models, question_ids, max_wrong_slots)


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
    return _build(name, task, table, models, question_ids, max_wrong_slots)
