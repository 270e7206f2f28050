"""Any samples file -> one :class:`~slmmux_run.data.sample_set.SampleSet`, by its schema.

Data layer of the runner (``slmmux_run.data``). Commands that read samples (``fit``, ``check``,
``plan``, ``mux``) take one ``--records FILE`` and call :func:`load_sample_set` (or
:func:`load_record_set`, which also keeps request failures): the schema is sniffed
(:func:`sniff_schema`) from the fields of the first line, or from the file or folder names, so
these all work, plain or ``.jsonl.gz``:

* a record file written by ``slmmux collect`` or ``slmmux batch import`` (one line per sample:
  ``sample_index``, ``prompt_version``, ``answer``, ``extra.gold``);
* a shared samples file (one line per (model, question): ``answers``, ``gold``) or greedy file;
* lm-evaluation-harness ``--log_samples`` output: a ``samples_<task>_<date>.jsonl`` file or
  the ``--output_path`` folder (one sub-folder per model; :mod:`.importers.lm_eval`);
* an Inspect AI eval log, ``.json`` or ``.eval`` (:mod:`.importers.inspect_log`);
* Best-of-∞ ``analysis_<task>_<model>.jsonl`` files, one or a folder of them
  (:mod:`.importers.best_of_infinity`).

An OpenAI/vLLM batch output needs its input file and the task to be read: ``slmmux batch
import`` turns it into a record file (a clear error says so). Every format goes through the
one slot builder (:func:`slmmux_run.data.slots.build_sample_set`).

Example:
  >>> import json, os, tempfile
  >>> from slmmux_run.data.records import Record, RecordStore
  >>> folder = tempfile.mkdtemp()
  >>> store = RecordStore(os.path.join(folder, "records.jsonl"))
  >>> store.append_many([Record("t", "0", "m", "v", i, text=a, answer=a, extra={"gold": "7"})
  ...                    for i, a in enumerate(["7", "8", None])])
  >>> shared = os.path.join(folder, "samples.jsonl")
  >>> _ = open(shared, "w").write(json.dumps({"task": "t", "question_id": "0", "model": "m",
  ...     "gold": "7", "answers": ["7", "8", None]}) + "\\n")
  >>> [load_sample_set(path).samples.tolist() for path in (store.path, shared)]
  [[[[0, 1, 2]]], [[[0, 1, 2]]]]
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from slmmux_run.data.record_samples import RecordSet, load_records
from slmmux_run.data.records import RecordStore, is_record_header
from slmmux_run.data.sample_set import SampleSet
from slmmux_run.data.shared_samples import load_greedy, load_samples
from slmmux_run.data.text_files import open_text
from slmmux_run.errors import UserError

__all__ = [
    "BATCH_INPUT", "BATCH_OUTPUT", "BEST_OF_INFINITY", "GREEDY", "INSPECT", "LM_EVAL", "RECORDS",
    "SAMPLES", "load_record_set", "load_sample_set", "sniff_schema",
]

RECORDS = "records"
"""Schema of ``slmmux collect``'s record files: one line per sample."""
SAMPLES = "samples"
"""Schema of the shared samples files: one line per (model, question), an ``answers`` list."""
GREEDY = "greedy"
"""Schema of the shared greedy files: one line per (model, question), one ``answer``."""
LM_EVAL = "lm-eval"
"""lm-evaluation-harness ``--log_samples`` files: one line per document, ``doc_id``, ``resps``."""
INSPECT = "inspect"
"""An Inspect AI eval log (one JSON document: ``eval``, ``samples``)."""
BEST_OF_INFINITY = "best-of-infinity"
"""Best-of-∞ ``analysis_<task>_<model>.jsonl``: one line per problem, ``all_answers``."""
BATCH_OUTPUT = "batch-output"
"""An OpenAI/vLLM batch output (``custom_id``, ``response``): read by ``slmmux batch import``."""
BATCH_INPUT = "batch-input"
"""An OpenAI/vLLM batch input (``custom_id``, ``method``, ``url``, ``body``): no answers yet."""

_BATCH_HINT = (
    "turn it into a record file with 'slmmux batch import --input BATCH_INPUT --output "
    "BATCH_OUTPUT --out RECORDS' and the task flags of the export (extraction and grading need "
    "the task), then load the records"
)


def _sniff_folder(path: str | os.PathLike) -> str:
    from slmmux_run.data.importers import best_of_infinity, lm_eval

    names = [entry.name for entry in os.scandir(path) if entry.is_file()]
    if any(best_of_infinity.FILE_PATTERN.fullmatch(name) for name in names):
        return BEST_OF_INFINITY
    if any(lm_eval.FILE_PATTERN.fullmatch(p.name) for p in Path(path).rglob("samples_*.jsonl*")):
        return LM_EVAL
    raise UserError(
        f"{path}: a folder is read when it holds Best-of-∞ analysis_<task>_<model>.jsonl files "
        f"or lm-evaluation-harness samples_<task>_<date>.jsonl files; it holds neither"
    )


def sniff_schema(path: str | os.PathLike) -> str:
    """The schema of a samples file or folder (one of the module's constants).

    A folder holds Best-of-∞ or lm-evaluation-harness files; a zip or a JSON document whose
    first line is ``{`` is an Inspect log; otherwise the fields of the first non-blank line
    after a record file's format header (:data:`slmmux_run.data.records.RECORD_HEADER`) decide.

    Raises:
      UserError: for a missing or empty file, a first line that is not a JSON object, or
        fields of no known schema.
    """
    if os.path.isdir(path):
        return _sniff_folder(path)
    if not os.path.isfile(path):
        raise UserError(f"{path}: file does not exist")
    if zipfile.is_zipfile(path):
        return INSPECT  # an Inspect .eval log (a zip)
    try:
        with open_text(path) as handle:
            row = None
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                if line.strip() in ("{", "["):
                    return INSPECT  # a pretty-printed JSON document, not JSON lines
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise UserError(f"{path}:{number}: invalid JSON: {error.msg}") from None
                if not is_record_header(row):  # a record file's format header: the records follow
                    break
            else:
                if is_record_header(row):
                    return RECORDS
                raise UserError(f"{path}: no rows")
    except (OSError, EOFError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot be read ({error})") from None
    if not isinstance(row, dict):
        raise UserError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
    if "sample_index" in row and "prompt_version" in row:
        return RECORDS
    if "answers" in row:
        return SAMPLES
    if "answer" in row and "gold" in row:
        return GREEDY
    if "doc_id" in row and "resps" in row:
        return LM_EVAL
    if "all_answers" in row and "problem_num" in row:
        return BEST_OF_INFINITY
    if "eval" in row and "samples" in row:
        return INSPECT
    if "custom_id" in row and ("response" in row or "error" in row):
        return BATCH_OUTPUT
    if "custom_id" in row and "body" in row:
        return BATCH_INPUT
    raise UserError(
        f"{path}:{number}: neither a record file (fields 'sample_index', 'prompt_version') nor a "
        f"samples file (field 'answers') nor a greedy file (fields 'answer', 'gold') nor an "
        f"lm-eval samples file ('doc_id', 'resps') nor a Best-of-∞ file ('problem_num', "
        f"'all_answers'); fields found: {', '.join(sorted(row))}"
    )


def _check_verdicts(store: RecordStore) -> None:
    """``extra.correct`` must be a real boolean: a string ``"false"`` is not "truthy" here."""
    for line, record in enumerate(store.records, start=store.first_record_line):
        verdict = (record.extra or {}).get("correct")
        if verdict is not None and not isinstance(verdict, bool):
            raise UserError(
                f"{store.path}:{line}: field 'extra.correct' must be a boolean (true or false), "
                f"got {json.dumps(verdict)}"
            )


def load_record_set(
    path: str | os.PathLike,
    *,
    task: str | None = None,
    models: Sequence[str] | None = None,
    answer_format: str | None = None,
) -> RecordSet:
    """Load any samples file or folder (see the module doc), with request failures.

    Args:
      path: the file (``.jsonl`` or ``.jsonl.gz``; an Inspect log ``.json``) or folder.
      task: the task to keep (records holding several tasks need it; a folder of lm-eval or
        Best-of-∞ files holding several tasks too); for a file of one task it must be that task.
      models: models to keep, in this order; default all.
      answer_format: the extractor family of imported raw text (lm-eval, Inspect); default
        guessed from the task's name (see :func:`.importers.answers.answer_format`).

    Returns:
      The :class:`~slmmux_run.data.record_samples.RecordSet`; files other than records have
      empty prompt versions (an Inspect sample with an error is a failure).

    Raises:
      UserError: naming the file, line and field; a batch file (read it with ``slmmux batch
        import``).
    """
    schema = sniff_schema(path)
    if schema in (BATCH_OUTPUT, BATCH_INPUT):
        kind = "output" if schema == BATCH_OUTPUT else "input (it holds no answers yet)"
        raise UserError(f"{path}: an OpenAI/vLLM batch {kind}; {_BATCH_HINT}")
    if schema in (LM_EVAL, INSPECT, BEST_OF_INFINITY):
        return _imported(schema, path, task, models, answer_format)
    if schema == RECORDS:
        store = RecordStore(path)
        if not store.records:
            raise UserError(f"record file {path} holds no records")
        _check_verdicts(store)
        return load_records(store.latest().values(), task, models, source=str(path))
    loader = load_samples if schema == SAMPLES else load_greedy
    sample_set = loader(path, models=models)
    if task is not None and task != sample_set.task:
        raise UserError(f"{path}: holds task {sample_set.task!r}, not {task!r}")
    failed = np.zeros(sample_set.samples.shape, dtype=bool)
    failed.setflags(write=False)
    return RecordSet(sample_set, failed, ("",) * sample_set.num_models)


def _imported(schema, path, task, models, answer_format) -> RecordSet:
    """An lm-eval, Inspect or Best-of-∞ file or folder through its importer."""
    from slmmux_run.data.importers import best_of_infinity, inspect_log, lm_eval

    if schema == LM_EVAL:
        built = lm_eval.load_lm_eval(path, task=task, models=models,
                                     answer_format_name=answer_format)  # fmt: skip
    elif schema == BEST_OF_INFINITY:
        built = best_of_infinity.load_best_of_infinity(path, task=task, models=models)
    else:
        built = inspect_log.load_inspect_log(path, models=models, answer_format_name=answer_format)
        if task is not None and task != built.sample_set.task:
            raise UserError(f"{path}: holds task {built.sample_set.task!r}, not {task!r}")
    return RecordSet(built.sample_set, built.failed, ("",) * built.sample_set.num_models)


def load_sample_set(
    path: str | os.PathLike,
    *,
    task: str | None = None,
    models: Sequence[str] | None = None,
    answer_format: str | None = None,
) -> SampleSet:
    """Load any samples file or folder as a :class:`SampleSet` (see :func:`load_record_set`).

    A failed request is ⊥ (the last slot), as in every sample set built from records.
    """
    return load_record_set(path, task=task, models=models,
                           answer_format=answer_format).sample_set  # fmt: skip
