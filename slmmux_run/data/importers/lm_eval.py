"""lm-evaluation-harness ``--log_samples`` files (``samples_<task>_<time>.jsonl``) -> a sample set.

Data layer of the runner (``slmmux_run.data.importers``). The layout was checked against
lm-evaluation-harness's own source (EleutherAI/lm-evaluation-harness: ``lm_eval/evaluator.py``
builds each logged line as ``{"doc_id", "doc", "target", "arguments", "resps",
"filtered_resps", "doc_hash", "prompt_hash", "target_hash", <metrics>}``, newer versions add
``"filter"``; ``lm_eval/loggers/evaluation_tracker.py`` writes them to
``<output_path>/<model_name_sanitized>/samples_<task>_<date>.jsonl`` with ``target`` turned into
a string and ``resps`` sanitized to lists of strings).

All repeats are in ``resps``: ``resps[0]`` holds the K generations of a ``generate_until``
task run with ``repeats: K`` (lm-eval clones each request K times and appends each response).
``filtered_resps`` is **not** used: the default ``take_first`` filter keeps only the first
repeat (a majority-vote filter keeps only the vote), and a file holds one line per (document,
filter), so a document may appear several times with the same ``resps``; those lines must
agree. Answers are extracted from the raw text with the package's extractor of the task's
answer format (:func:`~slmmux_run.data.importers.answers.answer_format`), the gold is the
``target`` read the same way, and correctness is the package's one rule; the harness's own
metrics are ignored. Question ids are the ``doc_id`` s; the model is the folder name
(``model_name_sanitized``) unless given.

Example:
  >>> import json, os, tempfile
  >>> folder = os.path.join(tempfile.mkdtemp(), "org__tiny")
  >>> os.makedirs(folder)
  >>> path = os.path.join(folder, "samples_gsm8k_2024-05-01T12-00-00.000001.jsonl")
  >>> row = {"doc_id": 0, "target": "2 + 2 = 4\\n#### 4", "filter": "strict-match",
  ...        "resps": [["#### 4", "#### 5", "no idea"]], "filtered_resps": ["4"]}
  >>> _ = open(path, "w").write(json.dumps(row) + "\\n")
  >>> built = load_lm_eval(path).sample_set
  >>> built.task, built.models, built.samples.tolist(), built.slot_labels
  ('gsm8k', ('org__tiny',), [[[0, 1, 2]]], (('4', '5', None),))
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from slmmux_run.data.importers.answers import (
    answer_format,
    build_imported,
    extract_answer,
    gold_answer,
)
from slmmux_run.data.jsonl_rows import open_rows
from slmmux_run.data.slots import SampleAnswer, SlottedSamples
from slmmux_run.errors import UserError

__all__ = ["FILE_PATTERN", "lm_eval_files", "load_lm_eval"]

FILE_PATTERN = re.compile(
    r"samples_(?P<task>.+)_(?P<time>\d{4}-\d{2}-\d{2}T[\d.\-:]+)\.jsonl(\.gz)?")
"""Name of one ``--log_samples`` file: ``samples_<task>_<date>.jsonl``."""


def lm_eval_files(path: str | os.PathLike, task: str | None = None) -> list[Path]:
    """The samples files at ``path`` (a file, or a folder searched recursively), of one task.

    Raises:
      UserError: no such file, no samples file of ``task``, or several tasks without ``task``.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("samples_*.jsonl*") if FILE_PATTERN.fullmatch(p.name))
        if not files:
            raise UserError(f"{path}: holds no samples_<task>_<date>.jsonl file")
    elif path.is_file():
        files = [path]
    else:
        raise UserError(f"{path}: file does not exist")
    tasks = sorted({_task_of(p) for p in files})
    if task is None and len(tasks) > 1:
        raise UserError(f"{path}: holds tasks {', '.join(tasks)}; choose one (task=...)")
    chosen = task or tasks[0]
    files = [p for p in files if _task_of(p) == chosen]
    if not files:
        raise UserError(f"{path}: holds no samples file of task {chosen!r} "
                        f"(tasks: {', '.join(tasks)})")  # fmt: skip
    return files


def _task_of(path: Path) -> str:
    match = FILE_PATTERN.fullmatch(path.name)
    return match["task"] if match else path.stem


def _generations(row: dict, where: str) -> list[str | None]:
    resps = row.get("resps")
    if not isinstance(resps, list) or not resps or not isinstance(resps[0], list):
        raise UserError(f"{where}: field 'resps' must be a list holding one list of generations "
                        f"(a generate_until task), got {json.dumps(resps)[:60]}")  # fmt: skip
    if len(resps) != 1:
        raise UserError(f"{where}: field 'resps' holds {len(resps)} requests; only generation "
                        "tasks (one request per document, its repeats inside) can be "
                        "read")  # fmt: skip
    texts = []
    for i, text in enumerate(resps[0]):
        if text is not None and not isinstance(text, str):
            raise UserError(f"{where}: field 'resps[0][{i}]' must be generated text, got "
                            f"{json.dumps(text)[:40]} (a loglikelihood task has no answers "
                            "to vote on)")  # fmt: skip
        texts.append(text)
    return texts


def _samples_of(file: Path, model: str, family: str) -> list[SampleAnswer]:
    name, rows = open_rows(file)
    samples: list[SampleAnswer] = []
    first: dict[str, tuple[int, list]] = {}
    for number, row in rows:
        where = f"{name}:{number}"
        doc_id = row.get("doc_id")
        if isinstance(doc_id, bool) or not isinstance(doc_id, (int, str)):
            raise UserError(f"{where}: field 'doc_id' must be an integer, got "
                            f"{json.dumps(doc_id)[:40]}")  # fmt: skip
        question = str(doc_id)
        if "target" not in row:
            raise UserError(f"{where}: field 'target' is missing")
        texts = _generations(row, where)
        if question in first:  # the same document under another filter: same generations
            line, earlier = first[question]
            if earlier != texts:
                raise UserError(f"{where}: field 'resps' of doc_id {question} differs from "
                                f"line {line}")  # fmt: skip
            continue
        first[question] = (number, texts)
        gold = gold_answer(family, row["target"])
        if gold is None:
            raise UserError(f"{where}: field 'target' holds no {family} answer: "
                            f"{json.dumps(row['target'])[:60]}")  # fmt: skip
        for i, text in enumerate(texts):
            samples.append(SampleAnswer(model, question, i, extract_answer(family, text), gold,
                                        None, False, number))  # fmt: skip
    return samples


def load_lm_eval(
    path: str | os.PathLike,
    *,
    task: str | None = None,
    models: Sequence[str] | None = None,
    model: str | None = None,
    answer_format_name: str | None = None,
) -> SlottedSamples:
    """Load ``--log_samples`` files (one per model) as one sample set.

    Args:
      path: a ``samples_<task>_<date>.jsonl`` file or a folder searched for them (lm-eval's
        ``--output_path``: one sub-folder per model).
      task: the lm-eval task to load when the folder holds several.
      models: models (folder names) to keep, in this order; default all.
      model: the model name of a single file (default: its folder's name).
      answer_format_name: extractor family; default guessed from the task name.

    Raises:
      UserError: naming ``FILE:LINE`` and the field (``doc_id``, ``target``, ``resps``); two
        files of one model.
    """
    files = lm_eval_files(path, task)
    task_name = _task_of(files[0])
    family = answer_format(task_name, answer_format_name, source=str(path))
    rows: list[SampleAnswer] = []
    owner: dict[str, Path] = {}
    for file in files:
        name = model if (model is not None and len(files) == 1) else file.parent.name
        if name in owner:
            raise UserError(f"{file}: model {name!r} also has file {owner[name]} for task "
                            f"{task_name!r}; keep one")  # fmt: skip
        owner[name] = file
        rows.extend(_samples_of(file, name, family))
    return build_imported(task_name, rows, models=models, source=str(path))
