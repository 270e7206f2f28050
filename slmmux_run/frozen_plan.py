"""A frozen plan: the plan from a user's own pilot, written once as ``plan.json``.

Runner glue (files, the models TOML, hashes; every number comes from the theory through
:func:`slmmux_run.plan_study.pilot_plan_result`). ``slmmux plan --population N`` (or
``--questions N|FILE``, or ``--task``) reads a pilot file of any schema
:func:`~slmmux_run.data.sample_files.load_sample_set` accepts, plans for the full run and writes
one JSON document holding:

* ``candidates``: every (subset, k, rule) with ``predicted_accuracy``, its 90 % ``interval``,
  ``p_best`` (ties shared), ``expected_tokens`` and ``expected_cost`` per question (``null``
  when unknown: the JSON never holds a NaN);
* ``chosen``: the candidate the run executes (the top of the ranking);
* ``pilot``: the pilot's file, content hash (sha256), question ids, samples and tie ranks;
* ``seeds``, ``package_version``, the ``task`` (name, options, prompt versions) and the
  ``models`` (model ids, endpoints and API; never a key: the TOML holds only the NAME of a
  key's variable, and it is not copied).

``slmmux run --plan`` (:mod:`slmmux_run.plan_run`) executes it and ``slmmux check --plan``
(:mod:`slmmux_run.plan_check`) compares what was realised with it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from slmmux_run.errors import UserError

__all__ = [
    "PLAN_SCHEMA",
    "FrozenPlan",
    "default_subset_sizes",
    "file_sha256",
    "load_plan",
    "money_per_sample",
    "plan_from_pilot",
    "read_question_ids",
    "write_plan",
]

PLAN_SCHEMA = "slmmux-plan/1"
"""The ``schema`` field of a frozen plan."""


class FrozenPlan(NamedTuple):
    """A plan from a pilot and its JSON document.

    Attributes:
      run: the :class:`~slmmux_run.plan_study.PlanRun` (the theory's plan and its JSON).
      document: the frozen plan (``run.output`` plus what the run and the check need).
    """

    run: object
    document: dict


def default_subset_sizes(num_models: int) -> tuple[int, ...]:
    """The subset sizes ranked when ``--subset-sizes`` is not given: 2 and 3, or, with fewer
    than 3 models, every size from 1 up to their number (a 2-model pilot asks "one model or
    both?").

    >>> default_subset_sizes(13), default_subset_sizes(2), default_subset_sizes(1)
    ((2, 3), (1, 2), (1,))
    """
    return (2, 3) if num_models >= 3 else tuple(range(1, num_models + 1))


def file_sha256(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (the pilot's content hash)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_question_ids(path: str | os.PathLike) -> tuple[str, ...]:
    """Question ids of a question file: one per line, a bare id or a JSON object with
    ``question_id`` (or ``id``); blank lines skipped.

    Raises:
      UserError: a missing file, an object without an id, an id given twice, or no id at all.
    """
    if not os.path.isfile(path):
        raise UserError(f"--questions {path}: file does not exist")
    ids: list[str] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith("{"):
                try:
                    row = json.loads(text)
                except json.JSONDecodeError:
                    raise UserError(f"{path} line {number}: not a JSON object") from None
                value = row.get("question_id", row.get("id"))
                if value is None:
                    raise UserError(f"{path} line {number}: no field question_id (or id)")
                text = str(value)
            ids.append(text)
    if not ids:
        raise UserError(f"{path}: holds no question id")
    if len(set(ids)) != len(ids):
        repeated = next(i for i in ids if ids.count(i) > 1)
        raise UserError(f"{path}: question {repeated!r} is listed twice")
    return tuple(ids)


def money_per_sample(config, models, mean_tokens, k: int) -> np.ndarray:
    """Money of one sample of each model from the models TOML's prices.

    Completion tokens at the completion price (the pilot's mean tokens per sample), plus the
    per-call fee shared by the samples of one call (``ceil(k / max_choices_per_call)`` calls for
    k samples). Prompt tokens are not priced (a pilot file need not hold them).

    Args:
      config: the :class:`~slmmux_run.sampling.config.RunnerConfig`.
      models: model names, length M.
      mean_tokens: mean completion tokens per sample, shape [M] (NaN unknown).
      k: samples per model and question.

    Raises:
      UserError: a model priced per token whose pilot holds no token count.
    """
    out = np.zeros(len(models))
    for i, name in enumerate(models):
        price = config.model(name).price
        calls = -(-k // config.model(name).max_choices_per_call)
        if price.completion_per_1k > 0 and not np.isfinite(mean_tokens[i]):
            raise UserError(f"model {name!r} is priced per completion token but the pilot "
                            f"holds no token count for it")
        tokens = 0.0 if price.completion_per_1k == 0 else float(mean_tokens[i])
        out[i] = price.cost(0.0, tokens) + price.per_call * calls / k
    return out


def _population(pilot_set, population, questions, task_ids) -> tuple[int, tuple[str, ...] | None]:
    """N and, when known, the population's question ids (pilot ids checked to lie in them)."""
    ids = None
    if isinstance(questions, str):
        ids = read_question_ids(questions)
    elif task_ids is not None:
        ids = task_ids
    if ids is not None:
        outside = [q for q in pilot_set.question_ids if q not in set(ids)]
        if outside:
            raise UserError(f"pilot question {outside[0]!r} is not in the population's "
                            f"{len(ids)} questions")
        if population is not None and population != len(ids):
            raise UserError(f"--population {population} disagrees with the {len(ids)} "
                            f"questions of the population")
        return len(ids), ids
    if population is not None and isinstance(questions, int) and questions != population:
        raise UserError(f"--population {population} and --questions {questions} disagree")
    count = population if population is not None else questions
    if count is None:
        raise UserError("say how many questions the full run covers: --population N, "
                        "--questions N|FILE, or --task (with --config)")
    return int(count), None


def _sampling(records_path, models) -> dict | None:
    """Temperature, completion limit and prompt version per model from pilot records."""
    from slmmux_run.data.records import RecordStore
    from slmmux_run.data.sample_files import RECORDS, sniff_schema

    if sniff_schema(records_path) != RECORDS:
        return None
    out = {}
    for record in RecordStore(records_path).latest().values():
        if record.model in models and record.model not in out and record.request:
            out[record.model] = {"temperature": record.request.get("temperature"),
                                 "max_tokens": record.request.get("max_tokens"),
                                 "prompt_version": record.prompt_version, "task": record.task}
    return out


def plan_from_pilot(records, settings, *, population=None, questions=None, config_path=None,
                    task=None, task_options=None, models=None) -> FrozenPlan:
    """Load a pilot, plan the full run on it, and freeze the result.

    Args:
      records: the pilot file (records of ``collect``, a shared samples file, or any file
        :func:`~slmmux_run.data.sample_files.load_sample_set` reads).
      settings: the :class:`~slmmux_run.plan_study.PlanSettings` (empty ``subset_sizes``: the
        :func:`default_subset_sizes` of the pilot's models).
      population: N, the questions of the full run, or None.
      questions: an int (N) or a question file's path (the population's ids), or None.
      config_path: the models TOML (prices, endpoints), or None.
      task: the task of the full run (with ``config_path``: its questions are the population).
      task_options: the task's options (see :func:`slmmux_run.sampling.collect.build_task`).
      models: the pilot's models to plan over (default all).

    Raises:
      UserError: a file or flag the plan cannot use, naming it.
    """
    from importlib.metadata import PackageNotFoundError, version

    from slmmux_run.cli_args import tasks_for_models
    from slmmux_run.data.sample_files import load_record_set
    from slmmux_run.plan_study import pilot_plan_result
    from slmmux_run.sampling.config import load_config

    record_set = load_record_set(records, models=models)
    pilot_set = record_set.sample_set
    config = load_config(config_path) if config_path else None
    if config is not None:
        for name in pilot_set.models:
            config.model(name)
    task_ids, options = None, dict(task_options or {})
    if task is not None:
        if config is None:
            raise UserError("--task needs --config (the models' endpoints decide the prompts)")
        count = population if population is not None else (
            questions if isinstance(questions, int) else None)
        options["n_questions"] = count
        built = tasks_for_models(config, task, options, list(pilot_set.models))
        task_ids = tuple(item.question_id for item in next(iter(built.values())).items)
    size, ids = _population(pilot_set, population, questions, task_ids)
    if not settings.subset_sizes:
        settings = settings._replace(subset_sizes=default_subset_sizes(pilot_set.num_models))
    prices = None
    if config is not None:
        prices = money_per_sample(config, pilot_set.models, pilot_set.mean_tokens(), settings.k)
    run = pilot_plan_result(pilot_set, settings, size, money_per_sample=prices,
                            source=str(records))
    document = dict(run.output)
    document["schema"] = PLAN_SCHEMA
    candidates = document["candidates"]
    document["chosen"] = dict(candidates[0]) if candidates else None
    if task is None:
        # Only a plan that names its task can be run; say so now, not at 'slmmux run'.
        document["warnings"] = list(document.get("warnings") or []) + [
            "no --task: this plan can be checked against a full run ('slmmux check --plan') "
            "but 'slmmux run --plan' cannot sample it; to run it, plan again with the task "
            "flags of the pilot's 'slmmux collect' (e.g. --task arithmetic --preset easy) and "
            "--config MODELS.toml"]
    document["pilot"] = dict(document["pilot"], file=str(records), sha256=file_sha256(records),
                             models=list(pilot_set.models),
                             prompt_versions=list(record_set.prompt_versions))
    document["population"] = {"questions": size,
                              "question_ids": None if ids is None else list(ids)}
    document["seeds"] = {"plan": settings.seed, "run": settings.seed}
    try:
        document["package_version"] = version("slmmux")
    except PackageNotFoundError:
        document["package_version"] = "unknown"
    document["task"] = {"name": task, "options": options if task else None,
                        "pilot_task": pilot_set.task}
    document["sampling"] = _sampling(records, pilot_set.models)
    document["money"] = (None if prices is None else
                         "expected_cost per question: completion tokens at the TOML's "
                         "completion price plus per-call fees; prompt tokens not priced")
    document["models"] = (None if config is None else {
        name: {"model_id": config.model(name).model, "base_urls": list(config.model(name).base_urls),
               "api": config.model(name).api}
        for name in pilot_set.models})
    return FrozenPlan(run, document)


def write_plan(document: dict, path: str | os.PathLike) -> None:
    """Write a frozen plan as JSON (no NaN literal: unknown values are null)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")


def load_plan(path: str | os.PathLike) -> dict:
    """Read a frozen plan written by ``slmmux plan --population ... --json``.

    Raises:
      UserError: a missing or unreadable file, or one that is not a frozen plan.
    """
    from slmmux_run.cli_args import check_input_file

    check_input_file(path, "--plan")  # missing, a folder, unreadable: one line naming it
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise UserError(f"--plan {path}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise UserError(f"--plan {path}: not JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(document, dict) or document.get("schema") != PLAN_SCHEMA:
        raise UserError(f"--plan {path}: field schema is not {PLAN_SCHEMA!r}; write the plan "
                        f"with 'slmmux plan --population N --json {path}'")
    for field in ("chosen", "candidates", "pilot", "population"):
        if not document.get(field):
            raise UserError(f"--plan {path}: field {field} is missing or empty")
    return document
