"""Read JSON-lines data files row by row, with errors naming ``FILE:LINE`` and the field.

Data layer of the runner (``slmmux_run.data``): the validation helpers shared by the loaders of
the shared samples, greedy and correctness files. No slot logic here.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slmmux_run.data.text_files import read_text
from slmmux_run.errors import UserError

__all__ = ["check_task", "choose", "natural_key", "open_rows", "row_field"]


def open_rows(path) -> tuple[str, Iterator[tuple[int, dict]]]:
    """Check the file and return its display name and an iterator of (line number, object).

    A ``.gz`` file is decompressed (:func:`slmmux_run.data.text_files.read_text`). Blank lines
    are skipped; a bad line or an empty file is a :class:`UserError` naming ``FILE:LINE``.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise UserError(f"{path}: file does not exist")
    text = read_text(path)
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


def row_field(row: dict, key: str, kind: type, where: str, *, optional: bool = False) -> Any:
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


def natural_key(question_id: str) -> tuple:
    """Order ids like ``"7"`` or ``"gsm8k-main-test-#7"`` by their trailing number."""
    match = re.fullmatch(r"(.*?)(\d+)", question_id)
    return (0, match.group(1), int(match.group(2))) if match else (1, question_id, 0)


def check_task(task: str, seen: dict, where: str) -> None:
    """Remember the file's task in ``seen``; a second, different task is an error."""
    if "task" not in seen:
        seen["task"] = (task, where)
    elif seen["task"][0] != task:
        raise UserError(
            f"{where}: field 'task' is {task!r} but {seen['task'][1]} has {seen['task'][0]!r}"
            f" (one file, one task)"
        )


def choose(name: str, available: list[str], wanted, what: str) -> list[str]:
    """The ``wanted`` items of ``available`` (all when ``None``), checked to exist once each."""
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
