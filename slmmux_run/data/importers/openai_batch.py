"""OpenAI Batch / vLLM ``run-batch`` files: input and output lines, and our ``custom_id``.

Data layer of the runner (``slmmux_run.data.importers``): reading and validating the two JSONL
files of a batch run, no task logic (:mod:`slmmux_run.sampling.batch` writes the input of a
planned run and turns the output into records). The layout was checked against the OpenAI API
spec (``BatchRequestOutput``: ``id``, ``custom_id``, ``response`` = {``status_code``,
``request_id``, ``body``}, ``error``; the input lines ``custom_id``, ``method``, ``url``,
``body``) and vLLM's own runner (vllm-project/vllm ``vllm/entrypoints/openai/run_batch.py``:
``BatchRequestInput`` and ``BatchRequestOutput`` with the same fields, ``response`` null and
``error`` set when a request fails; it serves ``/v1/chat/completions`` only). Output order is not
guaranteed: lines are joined on ``custom_id``.

Our ``custom_id`` names one request of a planned run unambiguously: ``slmmux1|task|prompt
version|model|question id|first sample|samples``, each text field percent-encoded (so no field
can hold a ``|``), the request drawing samples ``first .. first + samples - 1``.

Example:
  >>> custom_id = encode_custom_id("gsm8k-500", "gsm8k-chat/1", "org/m|x", "q#7", 2, 3)
  >>> custom_id
  'slmmux1|gsm8k-500|gsm8k-chat%2F1|org%2Fm%7Cx|q%237|2|3'
  >>> decode_custom_id(custom_id).model, decode_custom_id("row-17")
  ('org/m|x', None)
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from slmmux_run.data.jsonl_rows import open_rows, row_field
from slmmux_run.errors import UserError

__all__ = [
    "CUSTOM_ID_PREFIX", "BatchLine", "BatchResult", "RequestId", "decode_custom_id",
    "encode_custom_id", "read_batch_input", "read_batch_output",
]

CUSTOM_ID_PREFIX = "slmmux1"
"""First field of every ``custom_id`` we write (the encoding's version)."""


class RequestId(NamedTuple):
    """What one of our ``custom_id`` s names.

    Attributes:
      task, prompt_version, model, question_id: the record key without the sample index.
      first_sample: the sample index of the request's first choice.
      samples: how many samples (choices, ``n``) the request draws.
    """

    task: str
    prompt_version: str
    model: str
    question_id: str
    first_sample: int
    samples: int


def encode_custom_id(task: str, prompt_version: str, model: str, question_id: str,
                     first_sample: int, samples: int) -> str:  # fmt: skip
    """The ``custom_id`` of one request (see the module doc)."""
    fields = (task, prompt_version, model, question_id)
    return "|".join([CUSTOM_ID_PREFIX, *(quote(f, safe="") for f in fields),
                     str(first_sample), str(samples)])  # fmt: skip


def decode_custom_id(custom_id: str) -> RequestId | None:
    """The request a ``custom_id`` names, or ``None`` when it is not one of ours."""
    parts = custom_id.split("|")
    if len(parts) != 7 or parts[0] != CUSTOM_ID_PREFIX:
        return None
    if not (parts[5].isdigit() and parts[6].isdigit()) or int(parts[6]) < 1:
        return None
    return RequestId(*(unquote(p) for p in parts[1:5]), int(parts[5]), int(parts[6]))


class BatchLine(NamedTuple):
    """One input line.

    Attributes:
      line: its line number.
      custom_id: the id joining it to its output.
      url: the endpoint, e.g. ``/v1/chat/completions``.
      body: the request body.
      source: the file it was read from.
    """

    line: int
    custom_id: str
    url: str
    body: dict[str, Any]
    source: str = ""


class BatchResult(NamedTuple):
    """One output line.

    Attributes:
      line: its line number.
      custom_id: the id joining it to its input.
      body: the response body (a chat or completions response) when the request succeeded,
        else ``None``.
      error: ``None``, or a short text saying why the request failed.
      source: the file it was read from.
    """

    line: int
    custom_id: str
    body: dict[str, Any] | None
    error: str | None
    source: str = ""


def read_batch_input(path: str | os.PathLike) -> dict[str, BatchLine]:
    """The input lines by ``custom_id``.

    Raises:
      UserError: ``FILE:LINE`` and the field for a missing or ill-typed field, a method other
        than POST, or a repeated ``custom_id``.
    """
    name, rows = open_rows(path)
    lines: dict[str, BatchLine] = {}
    for number, row in rows:
        where = f"{name}:{number}"
        custom_id = row_field(row, "custom_id", str, where)
        method = row_field(row, "method", str, where)
        if method.upper() != "POST":
            raise UserError(f"{where}: field 'method' is {method!r}; batch requests are POST")
        url = row_field(row, "url", str, where)
        body = row.get("body")
        if not isinstance(body, dict):
            raise UserError(f"{where}: field 'body' must be an object")
        if custom_id in lines:
            raise UserError(f"{where}: custom_id {custom_id!r} repeats line "
                            f"{lines[custom_id].line}")  # fmt: skip
        lines[custom_id] = BatchLine(number, custom_id, url, body, name)
    return lines


def _error_text(row: dict, response: Any) -> str | None:
    error = row.get("error")
    if error:
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or json.dumps(error))[:200]
        return str(error)[:200]
    status = response.get("status_code", 200)
    if status != 200:
        body = response.get("body")
        message = body.get("message") if isinstance(body, dict) else None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
        return f"HTTP {status}: {message or json.dumps(body)[:160]}"
    return None


def read_batch_output(path: str | os.PathLike) -> dict[str, BatchResult]:
    """The output lines by ``custom_id`` (any order; an error file's lines too).

    Raises:
      UserError: ``FILE:LINE`` and the field for a missing ``custom_id``, a ``response`` that is
        not an object, a successful response without ``choices``, or a repeated ``custom_id``.
    """
    name, rows = open_rows(path)
    results: dict[str, BatchResult] = {}
    for number, row in rows:
        where = f"{name}:{number}"
        custom_id = row_field(row, "custom_id", str, where)
        response = row.get("response")
        if response is not None and not isinstance(response, dict):
            raise UserError(f"{where}: field 'response' must be an object or null")
        error = _error_text(row, response or {})
        if response is None and error is None:
            error = "no response"
        body = None
        if error is None:
            body = response.get("body")
            choices = body.get("choices") if isinstance(body, dict) else None
            if not isinstance(choices, list) or not choices:
                raise UserError(f"{where}: field 'response.body.choices' must be a non-empty "
                                "list")  # fmt: skip
        if custom_id in results:
            raise UserError(f"{where}: custom_id {custom_id!r} repeats line "
                            f"{results[custom_id].line}")  # fmt: skip
        results[custom_id] = BatchResult(number, custom_id, body, error, name)
    return results
