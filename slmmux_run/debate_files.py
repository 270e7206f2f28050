"""The input files of the debate study, read strictly: every problem is one :class:`UserError`
naming the flag, the file and the field (runner glue beside :mod:`slmmux_run.debate_study`).

* :func:`existing`: a named path that must exist;
* :func:`latest_records`: the independent samples (a record file), at least one record, and
  the models asked for present in it;
* :func:`load_json_object`: a JSON object file (a fold's ``result.json``, a frozen
  ``prediction.json``) with the fields the reader needs.

Example:
  >>> import tempfile
  >>> from pathlib import Path
  >>> path = Path(tempfile.mkdtemp()) / "result.json"
  >>> _ = path.write_text('{"held_out_debates": 4}')
  >>> load_json_object(path, "--folds", ("held_out_debates",))
  {'held_out_debates': 4}
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from slmmux_run.data.records import RecordStore
from slmmux_run.data.text_files import read_text
from slmmux_run.errors import UserError

__all__ = ["FOLD_FIELDS", "existing", "latest_records", "load_json_object"]

FOLD_FIELDS = ("held_out_question_ids", "held_out_debates", "measured_held_out",
               "measured_held_out_se", "model", "settings")  # fmt: skip
"""What a cross-fit fold (a report's ``result.json``) must hold."""


def existing(path: str | os.PathLike, flag: str) -> Path:
    """``path`` as a Path; a missing one is a UserError naming ``flag``."""
    found = Path(path)
    if not found.exists():
        raise UserError(f"{flag} {found} does not exist")
    return found


def latest_records(path: str | os.PathLike, models: Sequence[str] = (),
                   flag: str = "--samples") -> list:  # fmt: skip
    """The latest record of every sample in a record file: at least one, and a record of each
    of ``models``.

    Raises:
      UserError: naming ``flag`` and the file (missing, unreadable, not a record file, empty,
        or without one of the models).
    """
    records = list(RecordStore(existing(path, flag)).latest().values())
    if not records:
        raise UserError(f"{flag} {path}: holds no records")
    missing = sorted(set(models) - {record.model for record in records})
    if missing:
        raise UserError(f"{flag} {path}: no samples of model(s) {', '.join(missing)} "
                        f"(check --models)")
    return records


def load_json_object(path: str | os.PathLike, flag: str, fields: Sequence[str]) -> dict[str, Any]:
    """A JSON object file holding ``fields``.

    Raises:
      UserError: naming ``flag``, the file, and the line or field at fault.
    """
    text = read_text(existing(path, flag), flag)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{flag} {path}:{error.lineno}: not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise UserError(f"{flag} {path}: expected a JSON object, got {type(value).__name__}")
    for field in fields:
        if field not in value:
            raise UserError(f"{flag} {path}: field {field!r} missing")
    return value
