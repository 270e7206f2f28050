"""A planned run as an OpenAI Batch / vLLM ``run-batch`` input file, and its output as records.

Floor 2 of the runner, beside :mod:`slmmux_run.sampling.collect`: the same plan
(:func:`~slmmux_run.sampling.collect.plan_requests`: a task, models, k, temperature, seed) is
written as batch input lines instead of being sent, so the full run can go through a batch API
at a lower price or through ``vllm run-batch`` on a cluster; the output then becomes the very
records ``collect`` would have stored (:func:`~slmmux_run.sampling.collect.to_records`:
extraction, grading, usage), so everything downstream reads it unchanged.

* :func:`batch_lines`: one line per HTTP request the client would have sent: a model's k
  samples are split into requests of at most ``max_choices_per_call`` choices (``n``), the
  request starting at sample j sending the seed :func:`~slmmux_run.sampling.client.derive_seed`
  ``(base seed, j)``, exactly as :class:`~slmmux_run.sampling.client.Client` does, so a batch
  draws the same requests as a live run. ``custom_id`` names (task, prompt version, model,
  question, first sample, samples)
  (:func:`~slmmux_run.data.importers.openai_batch.encode_custom_id`).
  Samples already in a record store can be left out (a pilot is reused, not paid twice).
* :func:`import_batch`: join output to input on ``custom_id`` (output order is not
  guaranteed), check each input line's prompt is the task's prompt for that question (the task
  flags must match the export's), and append records: a failed request stores failed records
  (retried by a later run), a request without output stores nothing, samples already stored
  are skipped (importing twice pays nothing twice and stores nothing twice).

Costs in the records use the config's list prices; a batch API's discount is not applied.

Example (no network):
  >>> from slmmux_run.sampling.collect import build_task, plan_requests
  >>> from slmmux_run.sampling.config import parse_config
  >>> config = parse_config({"models": {"m": {"base_url": "http://127.0.0.1:1", "model": "x",
  ...                                         "max_choices_per_call": 2}}})
  >>> plan = plan_requests({"m": build_task("arithmetic", "chat", {"n_questions": 1})}, 3, 0.7, 1)
  >>> lines = batch_lines(plan, config)
  >>> [(line["custom_id"].split("|")[-2:], line["body"].get("n")) for line in lines]
  [(['0', '2'], 2), (['2', '1'], None)]
  >>> lines[0]["url"], lines[0]["method"]
  ('/v1/chat/completions', 'POST')
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slmmux_run.data.importers.openai_batch import (
    BatchLine,
    BatchResult,
    decode_custom_id,
    encode_custom_id,
)
from slmmux_run.data.records import RecordKey, RecordStore
from slmmux_run.errors import UserError
from slmmux_run.sampling._wire import as_messages, as_text, choice_text, own_token_count
from slmmux_run.sampling.client import SampleRequest, SampleResult, Usage, derive_seed
from slmmux_run.sampling.collect import QuestionRequest, keys_of, to_records
from slmmux_run.sampling.config import ModelConfig, RunnerConfig
from slmmux_run.sampling.tasks import Task

__all__ = [
    "BATCH_URLS", "BatchExport", "BatchImport", "batch_lines", "batch_models", "export_run",
    "import_batch", "model_paths", "request_body", "select_questions", "write_batch_input",
]

BATCH_URLS = {"chat": "/v1/chat/completions", "completions": "/v1/completions"}
"""The endpoint of each API; vLLM's ``run-batch`` serves the chat endpoint only."""


def request_body(request: SampleRequest, model: ModelConfig, n: int, seed: int | None) -> dict:
    """The body the client sends for ``n`` choices of ``request`` (the same fields as
    :class:`~slmmux_run.sampling.client.Client`; a test keeps the two equal)."""
    body: dict[str, Any] = {
        "model": model.model,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if model.api == "chat":
        body["messages"] = as_messages(request.prompt)
    else:
        body["prompt"] = as_text(request.prompt)
    if n > 1:
        body["n"] = n
    if seed is not None:
        body["seed"] = seed
    if request.stop:
        body["stop"] = list(request.stop)
    return body


def _runs(indices: Sequence[int], width: int) -> list[list[int]]:
    """Contiguous runs of sample indices, each cut into pieces of at most ``width``."""
    runs: list[list[int]] = []
    for index in indices:
        if runs and runs[-1][-1] == index - 1 and len(runs[-1]) < width:
            runs[-1].append(index)
        else:
            runs.append([index])
    return runs


def batch_lines(
    plan: Sequence[QuestionRequest], config: RunnerConfig, store: RecordStore | None = None
) -> list[dict]:
    """The batch input lines of ``plan`` (see the module doc), leaving out stored samples."""
    lines = []
    for question in plan:
        request = question.request
        model = config.model(request.model)
        keys = keys_of(question)
        wanted = [key.sample_index for key in (store.missing(keys) if store else keys)]
        for run in _runs(wanted, model.max_choices_per_call):
            seed = derive_seed(request.seed, run[0])
            custom_id = encode_custom_id(question.task.name, question.prompt_version,
                                         request.model, question.item.question_id, run[0],
                                         len(run))  # fmt: skip
            lines.append({"custom_id": custom_id, "method": "POST", "url": BATCH_URLS[model.api],
                          "body": request_body(request, model, len(run), seed)})  # fmt: skip
    return lines


@dataclass(frozen=True)
class BatchExport:
    """What :func:`write_batch_input` wrote.

    Attributes:
      lines: requests written.
      samples: samples they draw.
      path: the file.
      longest_id: the longest ``custom_id`` written (some providers take at most 64).
    """

    lines: int
    samples: int
    path: str
    longest_id: int = 0


def write_batch_input(lines: Sequence[dict], path: str | os.PathLike) -> BatchExport:
    """Write the lines as JSONL (replacing the file in one rename: never half a file).

    Raises:
      UserError: when the file cannot be written.
    """
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        os.replace(temporary, path)
    except OSError as error:
        raise UserError(f"cannot write batch input {path}: {error.strerror or error}") from None
    samples = sum(line["body"].get("n", 1) for line in lines)
    longest = max((len(line["custom_id"]) for line in lines), default=0)
    return BatchExport(len(lines), samples, str(path), longest)


@dataclass(frozen=True)
class BatchImport:
    """What :func:`import_batch` did.

    Attributes:
      requests: input lines.
      stored: new successful records.
      failed: new failed records (their requests failed; a later run retries them).
      cached: samples already stored before (skipped).
      not_returned: samples whose request has no output line, or choices the server did not
        return (not stored).
    """

    requests: int
    stored: int
    failed: int
    cached: int
    not_returned: int


def _results(line: BatchLine, result: BatchResult | None, request: SampleRequest,
             model: ModelConfig, first: int, count: int,
             output_name: str) -> tuple[list[SampleResult], int]:  # fmt: skip
    """The samples of one request and how many of them came back missing."""
    seed = line.body.get("seed")
    seed = seed if isinstance(seed, int) and not isinstance(seed, bool) else None
    if result is None:
        return [], count
    if result.error is not None:
        return [SampleResult(first + i, None, None, 0.0, seed, count, error=result.error,
                             error_kind="http") for i in range(count)], 0  # fmt: skip
    body = result.body or {}
    choices = sorted(body["choices"][:count],
                     key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)  # fmt: skip
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    reported = usage.get("completion_tokens")
    prompt_tokens = usage.get("prompt_tokens")
    prompt_tokens = prompt_tokens if isinstance(prompt_tokens, int) else None
    samples, counts = [], []
    for i, choice in enumerate(choices):
        try:
            text = choice_text(choice, model.api)
        except (ValueError, KeyError, TypeError):
            raise UserError(f"{result.source or output_name}:{result.line}: field "
                            f"'response.body.choices[{i}]' has "
                            f"no {'message.content' if model.api == 'chat' else 'text'}") from None
        own = own_token_count(choice)
        if own is not None:
            counts.append((own, False))
        elif len(choices) == 1 and isinstance(reported, int):
            counts.append((reported, False))
        elif choice.get("finish_reason") == "length":
            counts.append((request.max_tokens, False))
        else:
            counts.append((math.ceil(len(text) / 4), True))
        samples.append((choice, text))
    completion = sum(tokens for tokens, _ in counts)
    if isinstance(reported, int):
        completion = max(completion, reported)  # as the client settles a request's cost
    cost = model.price.cost(prompt_tokens or 0, completion) / max(len(samples), 1)
    fingerprint = body.get("system_fingerprint")
    out = [
        SampleResult(first + i, text, Usage(prompt_tokens, tokens, estimated, len(samples)), 0.0,
                     seed, count, choice.get("finish_reason"),
                     fingerprint if isinstance(fingerprint, str) else None, 1, cost)
        for i, ((choice, text), (tokens, estimated)) in enumerate(zip(samples, counts))
    ]  # fmt: skip
    return out, count - len(out)


def _question_of(line: BatchLine, request_id, tasks: Mapping[str, Task], items: Mapping,
                 base_seeds: Mapping, api: str, where: str) -> QuestionRequest:  # fmt: skip
    """The planned (model, question) an input line belongs to, checked against the task."""
    task = tasks.get(request_id.model)
    if task is None:
        raise UserError(f"{where}: model {request_id.model!r} is not among the models given")
    item = items[request_id.model].get(request_id.question_id)
    if task.name != request_id.task or item is None:
        raise UserError(f"{where}: question {request_id.question_id!r} of task "
                        f"{request_id.task!r} is not in task {task.name!r} as built from the "
                        "flags (give the export's task flags)")  # fmt: skip
    rendered = task.render(item)
    if rendered.prompt_version != request_id.prompt_version:
        raise UserError(f"{where}: prompt version {request_id.prompt_version!r} differs from "
                        f"the task's {rendered.prompt_version!r}")  # fmt: skip
    prompt: Any = rendered.prompt
    if rendered.style == "chat":
        prompt = tuple((m["role"], m["content"]) for m in rendered.messages or ())
    chat = api == "chat"
    sent = line.body.get("messages" if chat else "prompt")
    if sent != (as_messages(prompt) if chat else as_text(prompt)):
        raise UserError(f"{where}: field 'body' holds another prompt than task {task.name!r} "
                        f"gives question {item.question_id!r} (give the export's task flags "
                        "and config)")  # fmt: skip
    request = SampleRequest(
        model=request_id.model, prompt=prompt,
        samples=request_id.first_sample + request_id.samples,
        temperature=line.body.get("temperature", 1.0), max_tokens=line.body.get("max_tokens", 0),
        seed=base_seeds.get((request_id.model, request_id.question_id)),
        stop=tuple(line.body.get("stop") or ()),
    )  # fmt: skip
    return QuestionRequest(task, item, request, rendered.prompt_version)


def import_batch(
    tasks: Mapping[str, Task],
    config: RunnerConfig,
    inputs: Mapping[str, BatchLine],
    outputs: Mapping[str, BatchResult],
    store: RecordStore,
    *,
    input_name: str = "batch input",
    output_name: str = "batch output",
) -> BatchImport:
    """Turn a batch's output into records appended to ``store`` (see the module doc).

    Args:
      tasks: the task of each model, in its prompt style (all questions: lines are matched by
        question id), as :func:`~slmmux_run.cli_args.tasks_for_models` builds them.
      config: the models config (model ids, APIs, prices).
      inputs, outputs: :func:`~slmmux_run.data.importers.openai_batch.read_batch_input` and
        ``read_batch_output`` of the two files.
      store: the record store (hold its ``exclusive`` lock).
      input_name, output_name: the two files, for error messages.

    Raises:
      UserError: naming the line: an input ``custom_id`` not of ours, a model or question the
        task lacks, a prompt that is not the task's, an output line without input.
    """
    for custom_id, result in outputs.items():
        if custom_id not in inputs:
            raise UserError(f"{result.source or output_name}:{result.line}: custom_id "
                            f"{custom_id!r} is not in "
                            f"{input_name}")  # fmt: skip
    items = {name: {item.question_id: item for item in task.items} for name, task in tasks.items()}
    # The base seed of a (model, question) is the seed its request at sample 0 sent (later
    # requests send a hash of it); kept in every record as collect keeps it.
    base_seeds = {}
    for custom_id, line in inputs.items():
        request_id = decode_custom_id(custom_id)
        if request_id is not None and request_id.first_sample == 0:
            base_seeds[request_id.model, request_id.question_id] = line.body.get("seed")
    records, cached, not_returned = [], 0, 0
    done = store.done_keys()
    for custom_id, line in inputs.items():
        where = f"{line.source or input_name}:{line.line}"
        request_id = decode_custom_id(custom_id)
        if request_id is None:
            raise UserError(f"{where}: custom_id {custom_id!r} was not written by 'slmmux batch "
                            "export' (expected slmmux1|task|prompt version|model|question|first|"
                            "samples)")  # fmt: skip
        model = config.model(request_id.model)
        question = _question_of(line, request_id, tasks, items, base_seeds, model.api, where)
        results, missing = _results(line, outputs.get(custom_id), question.request, model,
                                    request_id.first_sample, request_id.samples,
                                    output_name)  # fmt: skip
        not_returned += missing
        fresh = []
        for result in results:
            key = RecordKey(question.task.name, request_id.question_id, request_id.model,
                            question.prompt_version, result.sample_index)  # fmt: skip
            if key in done:
                cached += 1
            else:
                fresh.append(result)
        records.extend(to_records(question, fresh, config))
    store.append_many(records)
    failed = sum(record.error is not None for record in records)
    return BatchImport(len(inputs), len(records) - failed, failed, cached, not_returned)


def select_questions(tasks: Mapping[str, Task], question_ids: Sequence[str] | None,
                     source: str = "--question-ids") -> dict[str, Task]:  # fmt: skip
    """The tasks restricted to ``question_ids`` (in that order); all when ``None``.

    Raises:
      UserError: for an id the task lacks (naming ``source``).
    """
    if question_ids is None:
        return dict(tasks)
    chosen = {}
    for name, task in tasks.items():
        by_id = {item.question_id: item for item in task.items}
        missing = [q for q in question_ids if q not in by_id]
        if missing:
            raise UserError(f"{source}: question id {missing[0]!r} is not in task {task.name!r} "
                            f"({len(missing)} unknown)")  # fmt: skip
        chosen[name] = dataclasses.replace(task, items=tuple(by_id[q] for q in question_ids))
    return chosen


def export_run(
    config: RunnerConfig,
    tasks: Mapping[str, Task],
    k: int,
    temperature: float,
    seed: int,
    max_tokens: int,
    out: str | os.PathLike,
    *,
    store: RecordStore | None = None,
) -> list[BatchExport]:
    """Plan the run (as ``collect`` would) and write its batch input, leaving out stored samples:
    one file per model (:func:`model_paths`), since a batch API takes one model and one
    endpoint per file (OpenAI's Batch API; ``vllm run-batch`` serves one model)."""
    from slmmux_run.sampling.collect import plan_requests

    plan = plan_requests(tasks, k, temperature, seed, max_tokens)
    lines = batch_lines(plan, config, store)
    paths = model_paths(out, list(tasks))
    return [write_batch_input([line for line in lines if decode_custom_id(
                line["custom_id"]).model == model], path)  # fmt: skip
            for model, path in paths.items()]  # fmt: skip


def model_paths(out: str | os.PathLike, models: Sequence[str]) -> dict[str, Path]:
    """The batch file of each model: ``out`` itself for one model, else ``out`` with the model's
    name before the suffix (``batch.jsonl`` -> ``batch.smollm2.jsonl``; characters other than
    letters, digits, ``.``, ``_``, ``-`` become ``_``).

    >>> {m: p.name for m, p in model_paths("b.jsonl", ["org/a", "c"]).items()}
    {'org/a': 'b.org_a.jsonl', 'c': 'b.c.jsonl'}

    Raises:
      UserError: when two model names give one file name.
    """
    out = Path(out)
    if len(models) == 1:
        return {models[0]: out}
    paths: dict[str, Path] = {}
    for model in models:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", model)
        path = out.with_name(f"{out.stem}.{safe}{out.suffix}")
        if path in paths.values():
            raise UserError(f"models {model!r} and another give the same batch file {path}; "
                            "export them one at a time")  # fmt: skip
        paths[model] = path
    return paths


def batch_models(inputs: Mapping[str, BatchLine], input_name: str = "batch input") -> list[str]:
    """The models named by the input's ``custom_id`` s, in order of first appearance.

    Raises:
      UserError: for a ``custom_id`` that is not ours.
    """
    models: dict[str, None] = {}
    for custom_id, line in inputs.items():
        request_id = decode_custom_id(custom_id)
        if request_id is None:
            raise UserError(f"{line.source or input_name}:{line.line}: custom_id {custom_id!r} "
                            "was not written "
                            "by 'slmmux batch export'")  # fmt: skip
        models[request_id.model] = None
    return list(models)
