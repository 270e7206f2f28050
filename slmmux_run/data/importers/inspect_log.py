"""Inspect AI eval logs (``.json`` or ``.eval``) -> a sample set (epochs are the repeats).

Data layer of the runner (``slmmux_run.data.importers``). The layout was checked against
Inspect's own source (UKGovernmentBEIS/inspect_ai: ``src/inspect_ai/log/_log.py`` defines
``EvalLog`` with ``eval`` (an ``EvalSpec``: ``task``, ``model``) and ``samples``, a list of
``EvalSample`` with ``id`` (int or str), ``epoch``, ``input``, ``choices``, ``target`` (str or
list of str), ``output`` (``ModelOutput``), ``scores`` (scorer name -> ``Score`` with ``value``,
``answer``, ``explanation``) and ``error``; ``src/inspect_ai/model/_model_output.py`` defines
``ModelOutput`` with ``completion`` (the first choice's text), ``choices`` and ``usage``
(``ModelUsage``: ``input_tokens``, ``output_tokens``)). The ``.eval`` format is a zip of the same
objects (``src/inspect_ai/log/_recorders/eval.py``: the spec in ``start.json`` as
``{"version", "eval", "plan"}``, later versions also ``header.json`` and ``_journal/start.json``;
one ``samples/<id>_epoch_<epoch>.json`` per sample), read here too.

Each (``id``, ``epoch``) is one sample of the log's model on question ``id``; epochs in
increasing order are the sample axis. By default the answer is the package's extraction of
``output.completion`` (the answer format given or guessed from the task name), the gold is the
``target`` read the same way, and correctness is the package's one rule, so a log is slotted
like our own records. With ``scorer=NAME`` that scorer's verdict decides instead (``value``
``"C"``/``"I"`` (Inspect's CORRECT/INCORRECT), a boolean, or 1/0) and its ``answer`` is the
answer. A sample with an ``error`` is a failed request (⊥, flagged). Tokens are
``output.usage.output_tokens``. Errors name the file and the JSON path (``samples[3].epoch``).

Example:
  >>> import json, os, tempfile
  >>> log = {"eval": {"task": "gsm8k", "model": "openai/tiny"}, "samples": [
  ...     {"id": 7, "epoch": e, "target": "4", "output": {"completion": f"#### {a}",
  ...      "usage": {"output_tokens": 3}}, "scores": {"match": {"value": "C" if a == 4 else "I"}}}
  ...     for e, a in ((1, 4), (2, 5))]}
  >>> path = os.path.join(tempfile.mkdtemp(), "log.json")
  >>> _ = open(path, "w").write(json.dumps(log))
  >>> built = load_inspect_log(path)
  >>> built.sample_set.models, built.sample_set.samples.tolist(), built.sample_set.tokens.tolist()
  (('openai/tiny',), [[[0, 1]]], [[[3.0, 3.0]]])
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from slmmux_run.data.importers.answers import (
    LETTERS,
    answer_format,
    build_imported,
    extract_answer,
    gold_answer,
    natural_sample_order,
)
from slmmux_run.data.slots import SampleAnswer, SlottedSamples
from slmmux_run.data.text_files import read_bytes
from slmmux_run.errors import UserError

__all__ = ["is_inspect_log", "load_inspect_log", "read_log"]

_VERDICTS = {"C": True, "I": False, True: True, False: False, 1: True, 0: False}


_SPEC_MEMBERS = ("header.json", "_journal/start.json", "start.json")


def _read_eval_zip(path: Path) -> tuple[dict, list[str]]:
    """The spec and samples of a ``.eval`` log, and each sample's member name."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            spec_member = next((m for m in _SPEC_MEMBERS if m in names), None)
            if spec_member is None:
                raise UserError(f"{path}: an Inspect .eval log needs one of "
                                f"{', '.join(_SPEC_MEMBERS)}; it has none")  # fmt: skip
            members = sorted(m for m in names if m.startswith("samples/") and m.endswith(".json"))
            loaded = {}
            for member in (spec_member, *members):
                try:
                    loaded[member] = json.loads(archive.read(member).decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as error:
                    raise UserError(f"{path}: member {member} is not JSON ({error})") from None
    except (zipfile.BadZipFile, OSError, NotImplementedError) as error:
        raise UserError(f"{path}: cannot be read as a zip ({error})") from None
    spec = loaded[spec_member]
    log = {"eval": spec.get("eval") if isinstance(spec, dict) else None,
           "samples": [loaded[m] for m in members]}  # fmt: skip
    return log, [f"member {m}" for m in members]


def read_log(path: str | os.PathLike) -> dict:
    """The parsed log (a JSON log, or a ``.eval`` zip as the same ``eval``/``samples`` fields).

    Raises:
      UserError: a missing file, invalid JSON, or no ``eval``/``samples``.
    """
    return _read_log(Path(path))[0]


def _read_log(path: Path) -> tuple[dict, list[str]]:
    """The log and how each sample is named in errors."""
    if not path.is_file():
        raise UserError(f"{path}: file does not exist")
    if zipfile.is_zipfile(path):
        log, labels = _read_eval_zip(path)
        if not isinstance(log["eval"], dict):
            raise UserError(f"{path}: the spec member has no object 'eval'")
        if not log["samples"]:
            raise UserError(f"{path}: holds no samples/*.json member (was the log written with "
                            "log_samples off?)")  # fmt: skip
        return log, labels
    try:
        log = json.loads(read_bytes(path).decode("utf-8"))
    except (UnicodeDecodeError, OSError, EOFError) as error:
        raise UserError(f"{path}: cannot be read ({error})") from None
    except json.JSONDecodeError as error:
        raise UserError(f"{path}:{error.lineno}: invalid JSON: {error.msg}") from None
    if not is_inspect_log(log):
        raise UserError(f"{path}: not an Inspect eval log (needs the fields 'eval' and 'samples')")
    if not isinstance(log["samples"], list) or not log["samples"]:
        raise UserError(f"{path}: field 'samples' holds no sample (was the log written with "
                        "log_samples off?)")  # fmt: skip
    return log, [f"field samples[{i}]" for i in range(len(log["samples"]))]


def is_inspect_log(value) -> bool:
    """Whether a parsed JSON value looks like an Inspect ``EvalLog`` (``eval`` and ``samples``)."""
    return isinstance(value, dict) and isinstance(value.get("eval"), dict) and "samples" in value


def _text(output: dict, where: str) -> str | None:
    completion = output.get("completion")
    if isinstance(completion, str) and completion:
        return completion
    choices = output.get("choices") or []
    if choices and isinstance(choices[0], dict):  # the same text, when completion was not kept
        content = (choices[0].get("message") or {}).get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "".join(part.get("text", "") for part in content
                           if isinstance(part, dict) and part.get("type") == "text")  # fmt: skip
    if completion is not None and not isinstance(completion, str):
        raise UserError(f"{where}.output.completion must be a string")
    return completion


def _field(sample: dict, key: str, kinds, where: str):
    value = sample.get(key)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise UserError(f"{where}.{key} is {json.dumps(value)[:40]}; expected "
                        f"{' or '.join(k.__name__ for k in kinds)}")  # fmt: skip
    return value


def load_inspect_log(
    path: str | os.PathLike,
    *,
    models: Sequence[str] | None = None,
    answer_format_name: str | None = None,
    scorer: str | None = None,
) -> SlottedSamples:
    """Load one Inspect JSON eval log (one task, one model) as a sample set.

    Args:
      path: the ``.json`` log or ``.eval`` zip.
      models: checked to name the log's model (``eval.model``), if given.
      answer_format_name: extractor family; default guessed from ``eval.task``.
      scorer: take this scorer's verdict and answer instead of the package's extraction and
        correctness rule.

    Raises:
      UserError: naming the file and the JSON path of a bad field, a duplicate (id, epoch), a
        scorer missing from a sample or a verdict that is not C/I, a boolean or 1/0.
    """
    log, labels = _read_log(Path(path))
    spec = log["eval"]
    name = str(path)
    task = _field(spec, "task", (str,), f"{name}: field eval")
    model = _field(spec, "model", (str,), f"{name}: field eval")
    family = answer_format(task, answer_format_name, source=name)
    entries = []
    seen: dict[tuple[str, int], int] = {}
    for index, sample in enumerate(log["samples"]):
        where = f"{name}: {labels[index]}"
        if not isinstance(sample, dict):
            raise UserError(f"{where} must be an object")
        question = str(_field(sample, "id", (int, str), where))
        epoch = _field(sample, "epoch", (int,), where)
        if (question, epoch) in seen:
            raise UserError(f"{where} repeats id {question!r}, epoch {epoch} (first at "
                            f"{labels[seen[question, epoch]]})")  # fmt: skip
        seen[question, epoch] = index
        entries.append((index, question, epoch, sample, where))
    epochs = natural_sample_order(epoch for _, _, epoch, _, _ in entries)
    rows = []
    for index, question, epoch, sample, where in entries:
        choices = sample.get("choices")
        letters = LETTERS[: len(choices)] if isinstance(choices, list) and choices else LETTERS
        target = sample.get("target")
        target = target[0] if isinstance(target, list) and target else target
        gold = gold_answer(family, target, letters)
        if gold is None:
            raise UserError(f"{where}.target holds no {family} answer: "
                            f"{json.dumps(sample.get('target'))[:60]}")  # fmt: skip
        output = sample.get("output") or {}
        if not isinstance(output, dict):
            raise UserError(f"{where}.output must be an object")
        failed = sample.get("error") is not None
        answer, verdict = None, None
        if not failed:
            answer = extract_answer(family, _text(output, where), letters)
            if scorer is not None:
                score = (sample.get("scores") or {}).get(scorer)
                if not isinstance(score, dict) or "value" not in score:
                    raise UserError(f"{where}.scores has no scorer {scorer!r}")
                value = score["value"]
                if isinstance(value, float) and value in (0.0, 1.0):
                    value = int(value)
                if isinstance(value, (list, dict)) or value not in _VERDICTS:
                    raise UserError(f"{where}.scores.{scorer}.value is {json.dumps(value)[:40]}; "
                                    "expected \"C\", \"I\", a boolean, 1 or 0")  # fmt: skip
                verdict = _VERDICTS[value]
                if isinstance(score.get("answer"), str) and score["answer"].strip():
                    answer = score["answer"].strip()
        usage = output.get("usage") or {}
        tokens = usage.get("output_tokens") if isinstance(usage, dict) else None
        if isinstance(tokens, bool) or not isinstance(tokens, (int, float)):
            tokens = None
        rows.append(SampleAnswer(model, question, epochs[epoch], answer, gold, verdict, failed,
                                 None, tokens))  # fmt: skip
    if models is not None:
        wanted = [models] if isinstance(models, str) else list(models)
        if wanted != [model]:
            raise UserError(f"{name}: holds model {model!r} only, not {', '.join(wanted)}")
    return build_imported(task, rows, models=None, source=name)
