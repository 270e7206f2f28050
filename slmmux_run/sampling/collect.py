"""Sample models on a task into the record store: the collector of a real run.

Floor 2 of the runner. It turns (task, models, k, temperature, seed) into one
:class:`~slmmux_run.sampling.client.SampleRequest` per (model, question), asks the
:class:`~slmmux_run.data.records.RecordStore` which sample indices are still missing (the store is the
cache: a rerun pays nothing twice), sends only those through the async
:class:`~slmmux_run.sampling.client.Client`, extracts and grades each text with the task's own extractor
and grader, and appends each HTTP response's records in ONE fsynced write the moment it arrives,
before that question's next request is paid for: a killed run loses only the requests in
flight (at most :func:`in_flight_limit`: 1/32 of the job's samples), and the rerun asks only
for the missing sample indices (a response's samples are stored together, so a rerun resumes
at the same request boundaries and sends the same requests). Samples
refused by the budget (never sent) are not stored; everything sent is, with its call id, send
times and cost (:func:`timing_of`), so the caps of a rerun start from what the file spent
(:mod:`slmmux_run.sampling.spent`). Hold the store's
:meth:`~slmmux_run.data.records.RecordStore.exclusive` lock around a run (the command does).

A model's API decides its prompt style: chat endpoints get the task's chat prompt, plain
completion endpoints (base models such as Gemma-3-270M) its 2-shot completion prompt. The prompt
version, the extractor version and rule, the grade, the usage, the latency and the seed sent are
kept in every record.

Example (no network: the plan only):
  >>> from slmmux_run.sampling.config import parse_config
  >>> config = parse_config({"models": {"m": {"base_url": "http://127.0.0.1:1", "model": "x"}}})
  >>> plan = plan_requests({"m": build_task("arithmetic", "chat", {"n_questions": 2})}, 3, 0.7, 1)
  >>> len(plan), plan[0].request.samples, plan[0].prompt_version
  (2, 3, 'arithmetic-chat/1')
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from slmmux_run.sampling.arithmetic import make_arithmetic_task, make_preset_task
from slmmux_run.sampling.client import Client, SampleRequest, SampleResult, estimate_requests
from slmmux_run.sampling.config import RunnerConfig
from slmmux_run.errors import UserError
from slmmux_run.data.records import Record, RecordKey, RecordStore
from slmmux_run.sampling.spending import SpendEstimate
from slmmux_run.sampling.tasks import (
    Item,
    Task,
    gpqa_task,
    gsm8k_task,
    math_task,
    mmlu_pro_task,
    numeric_task,
)

__all__ = [
    "KILL_LOSS_SHARE",
    "TASKS",
    "CollectSummary",
    "QuestionRequest",
    "build_task",
    "collect",
    "collect_question",
    "estimate_plan",
    "in_flight_limit",
    "keys_of",
    "plan_requests",
    "question_seed",
    "style_of",
    "timing_of",
    "to_records",
]

KILL_LOSS_SHARE = 32
"""A collection keeps at most 1/32 of its job's samples in flight (:func:`in_flight_limit`)."""

TASKS = ("arithmetic", "gsm8k-500", "math-500", "mmlu-pro", "gpqa", "numeric")


def style_of(config: RunnerConfig, model: str) -> str:
    """Prompt style for a model: ``"chat"`` for chat endpoints, else ``"completion"``."""
    return "chat" if config.model(model).api == "chat" else "completion"


def build_task(name: str, style: str, options: Mapping[str, Any] | None = None) -> Task:
    """A task by name, in one prompt style.

    Args:
      name: one of :data:`TASKS`.
      style: ``"chat"`` or ``"completion"``.
      options: task options. ``arithmetic``: ``n_questions`` (default 80), ``task_seed``
        (default 0), and either ``preset`` or ``digits``/``steps``/``ops``/``distractors``/
        ``wrapper``. Shared-data tasks: ``n_questions``, ``mode``, ``data_dir``; ``mmlu-pro``:
        ``categories``; ``gpqa`` and ``numeric``: ``file`` (required).

    Raises:
      UserError: for an unknown task, a missing file option or a style the task lacks.
    """
    options = dict(options or {})
    n_questions = options.get("n_questions")
    mode = options.get("mode", "robust")
    data_dir = options.get("data_dir")
    if name == "arithmetic":
        count = 80 if n_questions is None else int(n_questions)
        seed = int(options.get("task_seed", 0))
        if options.get("preset"):
            return make_preset_task(options["preset"], count, seed, style)
        return make_arithmetic_task(
            count, seed, int(options.get("digits", 1)), int(options.get("steps", 1)),
            int(options.get("distractors", 0)), tuple(options.get("ops", "+")),
            options.get("wrapper"), style,
        )  # fmt: skip
    if name == "gsm8k-500":
        return gsm8k_task(mode, style, data_dir, n_questions)
    if name == "numeric":
        if not options.get("file"):
            raise UserError("task numeric needs --file PATH (a JSON or JSONL file of problems)")
        task = numeric_task(options["file"], style)
        return task.head(n_questions) if n_questions else task
    if style != "chat":
        raise UserError(f"task {name} has only a chat prompt; serve the model with api = 'chat'")
    if name == "math-500":
        return math_task(mode, data_dir, n_questions)
    if name == "mmlu-pro":
        return mmlu_pro_task(mode, data_dir, options.get("categories"), n_questions)
    if name == "gpqa":
        if not options.get("file"):
            raise UserError("task gpqa needs --file PATH (a JSON or JSONL file of questions)")
        task = gpqa_task(options["file"], mode)
        return task.head(n_questions) if n_questions else task
    raise UserError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")


def question_seed(seed: int, model: str, question_id: str) -> int:
    """The base seed of one (model, question): fixed by the run seed, distinct per question.

    >>> question_seed(1, "m", "q1") == question_seed(1, "m", "q1") != question_seed(1, "m", "q2")
    True
    """
    digest = hashlib.sha256(f"{seed}|{model}|{question_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class QuestionRequest(NamedTuple):
    """What to ask one model about one question.

    Attributes:
      task: the task (in the model's prompt style).
      item: the question.
      request: the k-sample request (model, prompt, temperature, seed, ...).
      prompt_version: the prompt template version (part of every record key).
    """

    task: Task
    item: Item
    request: SampleRequest
    prompt_version: str


def plan_requests(
    tasks: Mapping[str, Task],
    k: int,
    temperature: float,
    seed: int,
    max_tokens: int = 64,
) -> list[QuestionRequest]:
    """One request per (question, model), questions outer so early questions finish first.

    Args:
      tasks: the task for each model name (in that model's prompt style); all must hold the
        same question ids in the same order.
      k: samples per (model, question).
      temperature: sampling temperature.
      seed: run seed; each (model, question) gets :func:`question_seed`.
      max_tokens: completion limit per sample.
    """
    if k < 1:
        raise UserError(f"--k must be >= 1, got {k}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise UserError(f"--max-tokens must be an integer >= 1, got {max_tokens!r}")
    names = list(tasks)
    ids = [tuple(item.question_id for item in tasks[name].items) for name in names]
    if any(other != ids[0] for other in ids[1:]):
        raise UserError("the models' tasks do not hold the same questions")
    plan = []
    for index in range(len(ids[0]) if ids else 0):
        for name in names:
            task = tasks[name]
            item = task.items[index]
            rendered = task.render(item)
            prompt: Any = rendered.prompt
            if rendered.style == "chat":
                prompt = tuple((m["role"], m["content"]) for m in rendered.messages or ())
            request = SampleRequest(
                model=name, prompt=prompt, samples=k, temperature=temperature,
                max_tokens=max_tokens, seed=question_seed(seed, name, item.question_id),
                stop=tuple(rendered.stop),
            )  # fmt: skip
            plan.append(QuestionRequest(task, item, request, rendered.prompt_version))
    return plan


def keys_of(question: QuestionRequest) -> list[RecordKey]:
    """The record keys of one planned (model, question), sample indices ``0..k-1``."""
    request = question.request
    return [
        RecordKey(question.task.name, question.item.question_id, request.model,
                  question.prompt_version, index)
        for index in range(request.samples)
    ]  # fmt: skip


def estimate_plan(
    config: RunnerConfig, plan: Sequence[QuestionRequest], store: RecordStore | None = None
) -> SpendEstimate:
    """Dry-run estimate of what is still missing (everything when ``store`` is None)."""
    requests = []
    for question in plan:
        missing = len(store.missing(keys_of(question))) if store else question.request.samples
        if missing:
            requests.append(dataclasses.replace(question.request, samples=missing))
    return estimate_requests(config, requests)


def timing_of(result: SampleResult) -> dict[str, Any]:
    """A record's ``timing``: latency, attempts, end time, and what the caps and the rate limit
    of a resumed run read back (:mod:`slmmux_run.sampling.spent`): the call id shared by the
    samples of one request, the wall-clock time of each attempt sent, the replica index and the
    sample's share of what failed attempts were charged (``retry_cost``; the answer's own cost is
    ``extra.cost``). All of it depends on the path (faults, retries), not on the answer.

    >>> from slmmux_run.sampling.client import SampleResult
    >>> timing = timing_of(SampleResult(0, "7", None, 0.5, 1, 1, call_id="c", sent_at=(9.0,)))
    >>> timing["call"], timing["sent_at"], timing["attempts"]
    ('c', [9.0], 1)
    """
    timing: dict[str, Any] = {
        "latency_seconds": result.latency_seconds,
        "attempts": result.attempts,
        "finished_at": time.time(),
    }
    if result.call_id is not None:
        timing.update(call=result.call_id, sent_at=list(result.sent_at), replica=result.replica,
                      retry_cost=result.retry_cost)
    return timing


def to_records(
    question: QuestionRequest, results: Sequence[SampleResult], config: RunnerConfig
) -> list[Record]:
    """Extract, grade and wrap one (model, question)'s results; budget refusals are dropped."""
    request, item, task = question.request, question.item, question.task
    model = config.model(request.model)
    records = []
    for result in results:
        if result.error_kind == "budget":
            continue  # never sent: storing it would claim a sample that was not drawn
        extra: dict[str, Any] = {
            "gold": item.gold,
            "finish_reason": result.finish_reason,
            "system_fingerprint": result.system_fingerprint,
            "cost": result.cost,
            "error_kind": result.error_kind,
            "base_seed": request.seed,
        }
        answer = None
        if result.error is None and result.text is not None:
            extraction = task.extract(result.text, item)
            verdict = task.grade(extraction.answer, item)
            answer = extraction.answer
            extra.update(extraction.record_fields())
            extra.pop("answer")
            extra.update(correct=verdict.correct, grade_layer=verdict.layer,
                         grade_detail=verdict.detail)  # fmt: skip
        records.append(
            Record(
                task=task.name,
                question_id=item.question_id,
                model=request.model,
                prompt_version=question.prompt_version,
                sample_index=result.sample_index,
                request={
                    "model_id": model.model, "api": model.api,
                    "temperature": request.temperature, "max_tokens": request.max_tokens,
                    "seed": result.seed, "n": result.choices_requested,
                    "stop": list(request.stop),
                },  # fmt: skip
                text=result.text,
                answer=answer,
                usage=None if result.usage is None else dataclasses.asdict(result.usage),
                timing=timing_of(result),
                error=result.error,
                extra=extra,
            )
        )
    return records


@dataclass(frozen=True)
class CollectSummary:
    """What one collection call did.

    Attributes:
      planned: samples in the plan.
      cached: samples already stored before the call (not requested again).
      stored: new records stored that succeeded.
      failed: new records stored with an error (retried by a later run).
      not_sent: samples refused by the budget (not stored).
    """

    planned: int
    cached: int
    stored: int
    failed: int
    not_sent: int


async def collect_question(
    client: Client, store: RecordStore, question: QuestionRequest, config: RunnerConfig
) -> tuple[int, int, int, int]:
    """Draw one (model, question)'s missing samples, storing each response as it arrives.

    Returns:
      (already stored, new successes, new failures, refused by the budget).

    Raises:
      UserError: when the record file cannot be written (disk full, file too large): one line
        naming the file, what is kept and what to do.
    """
    missing = store.missing(keys_of(question))
    if not missing:
        return question.request.samples, 0, 0, 0
    indices = [key.sample_index for key in missing]

    async def store_response(results: list[SampleResult]) -> None:
        try:
            await store.append_many_async(to_records(question, results, config))
        except OSError as error:  # ENOSPC, EFBIG, EIO: stop paying for what cannot be kept
            reason = error.strerror or "a short write: is the disk full?"
            raise UserError(
                f"cannot write record file {store.path} ({reason}); the records stored before "
                f"are kept: free some space and rerun the same command, it asks only for the "
                f"missing samples"
            ) from None

    results = await client.sample(question.request, indices, on_response=store_response)
    not_sent = sum(result.error_kind == "budget" for result in results)
    failed = sum(result.error is not None for result in results) - not_sent
    return question.request.samples - len(missing), len(results) - failed - not_sent, failed, (
        not_sent
    )


def in_flight_limit(planned_samples: int, choices_per_request: int) -> int:
    """Most requests a collection keeps sent and not yet stored: ``1/KILL_LOSS_SHARE`` of the
    job's samples, at least one request.

    A SIGKILL loses exactly the requests in flight (they are paid, their answers never stored),
    and by Little's law a run keeps ``throughput x latency`` of them in flight, so no speed-up
    can make a kill cheaper: only fewer requests in flight can. This bound makes one kill cost at
    most about 3 % of a job (three kills under 10 %) whatever the concurrency; it slows only
    small jobs (under ``32 x max_concurrency`` samples), which are quick anyway. A request in
    flight that is retrying may also have been billed for its earlier attempts (timeouts,
    malformed bodies): at most ``max_attempts`` answers per request.

    >>> in_flight_limit(400, 1), in_flight_limit(400, 5), in_flight_limit(10_000, 1)
    (12, 2, 312)
    """
    return max(1, planned_samples // (KILL_LOSS_SHARE * max(1, choices_per_request)))


async def collect(
    client: Client, store: RecordStore, plan: Sequence[QuestionRequest]
) -> CollectSummary:
    """Draw every missing sample of ``plan`` and store it (see the module docstring).

    Requests run concurrently; the client's limits, and :func:`in_flight_limit` of the plan,
    bound how many are in flight. When a store fails (disk full), no further question is started
    and the :class:`UserError` is raised: what was paid and not stored is at most the requests
    in flight, ``min(in_flight_limit, max_concurrency)``.
    """
    planned = sum(question.request.samples for question in plan)
    choices = max((min(question.request.samples,
                       client.config.model(question.request.model).max_choices_per_call)
                   for question in plan), default=1)  # fmt: skip
    # Never more questions under way than global slots: then no question that passed the
    # ``broken`` check waits for a slot, so a failed store loses at most the slots' requests.
    limit = asyncio.Semaphore(min(in_flight_limit(planned, choices),
                                  client.config.max_concurrency))  # fmt: skip
    broken: list[UserError] = []

    async def bounded(question: QuestionRequest) -> tuple[int, int, int, int]:
        async with limit:
            if broken:  # the record file stopped taking writes: send nothing more
                raise broken[0]
            try:
                return await collect_question(client, store, question, client.config)
            except UserError as error:
                broken.append(error)
                raise

    parts = await asyncio.gather(*(bounded(question) for question in plan))
    totals = [sum(part[i] for part in parts) for i in range(4)]
    return CollectSummary(planned, *totals)
