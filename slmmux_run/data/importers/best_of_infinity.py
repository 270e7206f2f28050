r"""Best-of-∞ answer files (``analysis_<task>_<model>.jsonl``) -> one sample set.

Data layer of the runner (``slmmux_run.data.importers``). The layout was checked against the
files themselves in jkomiyama/BoInf-code-publish (``boinf/jsonl/analysis_aime2024_Qwen3-14B.jsonl``
and ``..._EXAONE-Deep-32B.jsonl`` at 5a910f03): one line per problem, ``{"problem_num": 0,
"total_answers": 80, "answer_counts": {...}, "gold_answer": "33", "majority_answer": "33",
"all_answers": [["33", 8402], ["", 30268], ...]}``, each entry of ``all_answers`` the parsed
final answer of one generation and its generated tokens; an empty answer is no answer (⊥). The
model and the task are in the file name only (``analysis_gpqa_diamond_gpt-oss-20b.jsonl``: the
task may hold underscores, so the model is what follows the last one).

Answers get the light normalization the shared copies of these files got (shared data README,
section F): strip, drop ``^\circ``/``^{\circ}``, ``\dfrac`` -> ``\frac``; for AIME also drop
spaces and a ``\boxed{}`` wrapper and write integers plainly (``"070"`` -> ``"70"``). Give one
file (one model) or a folder of them (one model per file; ``task`` picks one task when the
folder holds several). MATH-500 answers are regraded with the equivalence grader and equal
answers merged into one vote group, by default, exactly as the shared copy of that file is
(:data:`slmmux_run.data.shared_samples.UPSTREAM_FLAGS`, :mod:`slmmux_run.data.regrade`): one
question at a time over every file given, so groups do not depend on the models chosen.

Example:
  >>> import json, os, tempfile
  >>> folder = tempfile.mkdtemp()
  >>> row = {"problem_num": 0, "gold_answer": "33", "all_answers": [["33", 900], ["", 30268]]}
  >>> path = os.path.join(folder, "analysis_aime2024_m.jsonl")
  >>> _ = open(path, "w").write(json.dumps(row) + "\n")
  >>> built = load_best_of_infinity(path).sample_set
  >>> built.task, built.models, built.samples.tolist(), built.tokens.tolist()
  ('aime2024', ('m',), [[[0, 1]]], [[[900.0, 30268.0]]])
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from slmmux_run.data.importers.answers import build_imported
from slmmux_run.data.jsonl_rows import open_rows, row_field
from slmmux_run.data.shared_samples import UPSTREAM_FLAGS
from slmmux_run.data.slots import SampleAnswer, SlottedSamples
from slmmux_run.errors import UserError

__all__ = ["FILE_PATTERN", "best_of_infinity_files", "load_best_of_infinity", "normalize_answer"]

FILE_PATTERN = re.compile(r"analysis_(?P<task>.+)_(?P<model>[^_]+)\.jsonl(\.gz)?")
"""Name of one upstream file: ``analysis_<task>_<model>.jsonl`` (``.gz`` accepted)."""

_BOXED = re.compile(r"\\boxed\{(.*)\}")
_INTEGER = re.compile(r"[+-]?\d+")


def normalize_answer(answer: str, task: str) -> str | None:
    r"""The shared files' light normalization of one upstream answer (``None`` when empty).

    >>> normalize_answer(" 070 ", "aime2024"), normalize_answer(r"\boxed{5}", "aime2025")
    ('70', '5')
    >>> normalize_answer(r"\dfrac{1}{2}^\circ", "math500"), normalize_answer("", "math500")
    ('\\frac{1}{2}', None)
    """
    text = answer.strip().replace("^{\\circ}", "").replace("^\\circ", "")
    text = text.replace("\\dfrac", "\\frac")
    if task.lower().startswith("aime"):
        text = text.replace(" ", "")
        boxed = _BOXED.fullmatch(text)
        if boxed:
            text = boxed.group(1)
        if _INTEGER.fullmatch(text):
            text = str(int(text))
    return text or None


def best_of_infinity_files(path: str | os.PathLike, task: str | None = None) -> list[Path]:
    """The upstream files at ``path`` (a file, or a folder of them), of one task.

    Raises:
      UserError: no such file, a file name not of the upstream pattern, no file of ``task``,
        or several tasks without ``task``.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if FILE_PATTERN.fullmatch(p.name))
        if not files:
            raise UserError(f"{path}: holds no analysis_<task>_<model>.jsonl file")
    elif path.is_file():
        if not FILE_PATTERN.fullmatch(path.name):
            raise UserError(f"{path}: a Best-of-∞ file is named analysis_<task>_<model>.jsonl; "
                            "the model and task are read from the name")  # fmt: skip
        files = [path]
    else:
        raise UserError(f"{path}: file does not exist")
    tasks = sorted({FILE_PATTERN.fullmatch(p.name)["task"] for p in files})
    if task is None and len(tasks) > 1:
        raise UserError(f"{path}: holds tasks {', '.join(tasks)}; choose one (task=...)")
    chosen = task or tasks[0]
    files = [p for p in files if FILE_PATTERN.fullmatch(p.name)["task"] == chosen]
    if not files:
        raise UserError(f"{path}: holds no file of task {chosen!r} (tasks: {', '.join(tasks)})")
    return files


def _samples_of(file: Path, task: str, model: str) -> list[SampleAnswer]:
    name, rows = open_rows(file)
    samples: list[SampleAnswer] = []
    seen: dict[str, int] = {}
    for number, row in rows:
        where = f"{name}:{number}"
        problem = row.get("problem_num")
        if isinstance(problem, bool) or not isinstance(problem, (int, str)):
            raise UserError(f"{where}: field 'problem_num' must be an integer, got "
                            f"{json.dumps(problem)[:40]}")  # fmt: skip
        question = str(problem)
        if question in seen:
            raise UserError(f"{where}: duplicate problem_num {question} (first at line "
                            f"{seen[question]})")  # fmt: skip
        seen[question] = number
        gold_field = row_field(row, "gold_answer", str, where)
        gold = normalize_answer(gold_field, task)
        if gold is None:
            raise UserError(f"{where}: field 'gold_answer' is empty")
        for i, entry in enumerate(row_field(row, "all_answers", list, where)):
            label = f"all_answers[{i}]"
            if not (isinstance(entry, list) and len(entry) == 2):
                raise UserError(f"{where}: field {label!r} must be [answer, tokens], got "
                                f"{json.dumps(entry)[:40]}")  # fmt: skip
            answer, tokens = entry
            if answer is not None and not isinstance(answer, str):
                raise UserError(f"{where}: field '{label}[0]' must be a string, got "
                                f"{json.dumps(answer)[:40]}")  # fmt: skip
            if isinstance(tokens, bool) or not isinstance(tokens, (int, float)) or tokens < 0:
                raise UserError(f"{where}: field '{label}[1]' must be a token count >= 0, got "
                                f"{json.dumps(tokens)[:40]}")  # fmt: skip
            answer = None if answer is None else normalize_answer(answer, task)
            samples.append(SampleAnswer(model, question, i, answer, gold, None, False, number,
                                        float(tokens)))  # fmt: skip
    return samples


def _regrade(rows: list[SampleAnswer]) -> list[SampleAnswer]:
    """Answers replaced by their vote-group labels and verdicts, question by question."""
    from slmmux_run.data.regrade import regrade_question  # SymPy: only when a file needs it

    cells: dict[str, dict[str, list[int]]] = {}
    for position, row in enumerate(rows):
        cells.setdefault(row.question_id, {}).setdefault(row.model, []).append(position)
    out = list(rows)
    for by_model in cells.values():
        groups: dict[str, list[list[int]]] = {}
        for positions in by_model.values():  # a gold that differs is left to the slot builder
            groups.setdefault(rows[positions[0]].gold, []).append(positions)
        for gold, members in groups.items():
            regraded = regrade_question([[rows[p].answer for p in ps] for ps in members], gold)
            for ps, labels, verdicts in zip(members, regraded.labels, regraded.correct):
                for p, label, verdict in zip(ps, labels, verdicts):
                    out[p] = rows[p]._replace(answer=label, graded=verdict)
    return out


def load_best_of_infinity(
    path: str | os.PathLike,
    *,
    task: str | None = None,
    models: Sequence[str] | None = None,
    regrade: bool | None = None,
) -> SlottedSamples:
    """Load upstream Best-of-∞ files as one sample set (tokens kept).

    Args:
      path: an ``analysis_<task>_<model>.jsonl`` file or a folder of them.
      task: the task to load when the folder holds several.
      models: models to keep, in this order; default all (sorted by file name).
      regrade: regrade with the equivalence grader and merge equal answers; default: for the
        tasks whose shared copy is regraded (MATH-500).

    Raises:
      UserError: naming ``FILE:LINE`` and the field for a malformed line, or the folder for a
        missing task; golds that differ between models on one problem.
    """
    files = best_of_infinity_files(path, task)
    chosen_task = FILE_PATTERN.fullmatch(files[0].name)["task"]
    rows: list[SampleAnswer] = []
    owner: dict[str, Path] = {}
    for file in files:
        model = FILE_PATTERN.fullmatch(file.name)["model"]
        if model in owner:
            raise UserError(f"{file}: model {model!r} also has file {owner[model]}")
        owner[model] = file
        rows.extend(_samples_of(file, chosen_task, model))
    if regrade if regrade is not None else ("best-of-infinity", chosen_task) in UPSTREAM_FLAGS:
        rows = _regrade(rows)
    return build_imported(chosen_task, rows, models=models, source=str(path))
