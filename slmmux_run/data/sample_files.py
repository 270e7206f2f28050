"""Any samples file -> one :class:`~slmmux_run.data.sample_set.SampleSet`, by its schema.

Data layer of the runner (``slmmux_run.data``). Commands that read samples (``fit``, ``check``,
``plan``, ``mux``) take one ``--records FILE`` and call :func:`load_sample_set` (or
:func:`load_record_set`, which also keeps request failures): the schema is sniffed from the
fields of the first line, so a record file written by ``slmmux collect`` (one line per sample:
``sample_index``, ``prompt_version``, ``answer``, ``extra.gold``) and a shared samples file (one
line per (model, question): ``answers``, ``gold``) both work, plain or ``.jsonl.gz``. Both go
through the one slot builder (:func:`slmmux_run.data.slots.build_sample_set`).

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
from collections.abc import Sequence

import numpy as np

from slmmux_run.data.record_samples import RecordSet, load_records
from slmmux_run.data.records import RecordStore, is_record_header
from slmmux_run.data.sample_set import SampleSet
from slmmux_run.data.shared_samples import load_greedy, load_samples
from slmmux_run.data.text_files import open_text
from slmmux_run.errors import UserError

__all__ = ["RECORDS", "SAMPLES", "GREEDY", "load_record_set", "load_sample_set", "sniff_schema"]

RECORDS = "records"
"""Schema of ``slmmux collect``'s record files: one line per sample."""
SAMPLES = "samples"
"""Schema of the shared samples files: one line per (model, question), an ``answers`` list."""
GREEDY = "greedy"
"""Schema of the shared greedy files: one line per (model, question), one ``answer``."""


def sniff_schema(path: str | os.PathLike) -> str:
    """:data:`RECORDS`, :data:`SAMPLES` or :data:`GREEDY`, from the first non-blank line
    after a record file's format header (:data:`slmmux_run.data.records.RECORD_HEADER`).

    Raises:
      UserError: for a missing or empty file, a first line that is not a JSON object, or
        fields of none of the three schemas.
    """
    if not os.path.isfile(path):
        raise UserError(f"{path}: file does not exist")
    try:
        with open_text(path) as handle:
            row = None
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
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
    raise UserError(
        f"{path}:{number}: neither a record file (fields 'sample_index', 'prompt_version') nor a "
        f"samples file (field 'answers') nor a greedy file (fields 'answer', 'gold'); fields "
        f"found: {', '.join(sorted(row))}"
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
) -> RecordSet:
    """Load a record file or a shared samples/greedy file, with request failures.

    Args:
      path: the file (``.jsonl`` or ``.jsonl.gz``).
      task: the task to keep (records holding several tasks need it); for a shared file it must
        be the file's task.
      models: models to keep, in this order; default all.

    Returns:
      The :class:`~slmmux_run.data.record_samples.RecordSet`; a shared file has no failures and
      empty prompt versions.
    """
    schema = sniff_schema(path)
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


def load_sample_set(
    path: str | os.PathLike,
    *,
    task: str | None = None,
    models: Sequence[str] | None = None,
) -> SampleSet:
    """Load any samples file as a :class:`SampleSet` (see :func:`load_record_set`).

    A failed request is ⊥ (the last slot), as in every sample set built from records.
    """
    return load_record_set(path, task=task, models=models).sample_set
