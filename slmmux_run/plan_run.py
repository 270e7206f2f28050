"""Execute a frozen plan: the chosen candidate's samples on every question of the population.

Runner glue (HTTP through the client, the record store as the cache). ``slmmux run --plan``
reads ``plan.json`` (:mod:`slmmux_run.frozen_plan`), builds the task it names (its questions
are the population), copies the pilot's records into the output store when they live in another
file (the pilot's content hash must still match: the plan was made from exactly those samples),
and samples only what is missing: k samples per chosen model and question, pilot samples reused
(a pilot question with fewer than k samples gets the rest), a rerun resuming where a killed run
stopped. Fixed rules go through :func:`slmmux_run.sampling.collect.collect`; ModelSwitch runs
live (:func:`slmmux_run.orchestrate.live_model_switch`: the second model only where the first
did not stop). Caps (``max_requests``, ``max_cost``) come from
:mod:`slmmux_run.sampling.spending`; the progress of the samples still to send, with the tokens
and money spent so far, is :class:`slmmux_run.progress.Progress` (a bar on a terminal, a status
line every few seconds in a log, as ``collect``'s). Nothing here decides anything about
answers.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import NamedTuple

from slmmux_run.errors import UserError

__all__ = ["RunOutcome", "execute_plan", "pilot_file"]

DEFAULT_TEMPERATURE = 0.7
DEFAULT_MAX_TOKENS = 64


class RunOutcome(NamedTuple):
    """What ``slmmux run --plan`` did.

    Attributes:
      rule: the chosen rule.
      models: the chosen models (ModelSwitch: in visiting order).
      k: samples per model and question.
      questions: questions of the population.
      planned: samples of the full plan (every model, every question).
      already_stored: planned samples found in the store before sampling (pilot included).
      new: samples stored by this run.
      failed: samples whose request failed (a rerun retries them).
      not_sent: samples refused by the caps.
      requests: HTTP requests sent.
      cost: money spent by this run.
      pilot_copied: pilot records copied into the output store.
      out: the record file.
    """

    rule: str
    models: tuple[str, ...]
    k: int
    questions: int
    planned: int
    already_stored: int
    new: int
    failed: int
    not_sent: int
    requests: int
    cost: float
    pilot_copied: int
    out: str


def pilot_file(document: dict, pilot=None, plan_path=None) -> str:
    """The pilot file of a plan: ``pilot`` when given, else the path the plan was made from,
    as typed then (relative to the working directory), or else relative to the plan's folder
    (a plan run from another directory).

    Raises:
      UserError: no such file, naming the paths tried and ``--pilot``.

    Example:
      >>> import os, tempfile
      >>> folder = tempfile.mkdtemp()
      >>> open(os.path.join(folder, "my-pilot.jsonl"), "w").close()
      >>> found = pilot_file({"pilot": {"file": "my-pilot.jsonl"}},
      ...                    plan_path=os.path.join(folder, "plan.json"))
      >>> found == os.path.join(folder, "my-pilot.jsonl")
      True
    """
    if pilot:
        if not os.path.isfile(pilot):
            raise UserError(f"--pilot {pilot}: file does not exist")
        return str(pilot)
    recorded = document["pilot"].get("file")
    if not recorded:
        raise UserError("the plan names no pilot file; give --pilot FILE (the file the plan "
                        "was made from)")
    tried = [recorded]
    if os.path.isfile(recorded):
        return recorded
    if plan_path is not None and not os.path.isabs(recorded):
        beside = os.path.join(os.path.dirname(os.fspath(plan_path)), recorded)
        if os.path.isfile(beside):
            return beside
        tried.append(beside)
    raise UserError(f"pilot file {' or '.join(tried)} does not exist; give --pilot FILE (the "
                    f"file the plan was made from)")


def _copy_pilot(document: dict, pilot_path, store, models) -> int:
    """Append the pilot's records of the chosen models that ``store`` lacks; returns how many."""
    from slmmux_run.data.records import RecordStore
    from slmmux_run.data.sample_files import RECORDS, sniff_schema
    from slmmux_run.frozen_plan import file_sha256

    if Path(pilot_path).resolve() == store.path.resolve():
        return 0
    if file_sha256(pilot_path) != document["pilot"]["sha256"]:
        raise UserError(f"pilot file {pilot_path}: its sha256 differs from the plan's "
                        f"(the plan was made from other samples); re-plan on this pilot")
    if sniff_schema(pilot_path) != RECORDS:
        return 0  # a shared samples file holds no request settings or texts to reuse
    done = store.latest()
    rows = [record for key, record in RecordStore(pilot_path).latest().items()
            if record.model in models and record.error is None and key not in done]
    if rows:
        store.append_many(rows)
    return len(rows)


def execute_plan(document: dict, config_path, out, *, pilot=None, max_requests=None,
                 max_cost=None, stream=None, plan_path=None) -> RunOutcome:
    """Sample what the frozen plan's chosen candidate still lacks into the record file ``out``.

    Args:
      document: the frozen plan (:func:`slmmux_run.frozen_plan.load_plan`).
      config_path: the models TOML (endpoints; the model ids must match the plan's).
      out: the record file (appended to; may be the pilot's own record file).
      pilot: the pilot file (default: the path the plan was made from, see
        :func:`pilot_file`).
      max_requests: cap on HTTP requests, or None.
      max_cost: cap on money, or None.
      plan_path: the plan's file (its folder is where a relative pilot path is looked for
        when the working directory has none).
      stream: where the progress goes (default stderr: a bar on a terminal, a status line
        every few seconds otherwise; nothing with ``--quiet``).

    Raises:
      UserError: a plan without a task, a model missing from the config or with another model
        id, a population that does not match the task, a changed pilot.
    """
    from slmmux_run.cli_args import tasks_for_models
    from slmmux_run.data.records import RecordStore
    from slmmux_run.orchestrate import live_model_switch
    from slmmux_run.sampling.client import Client
    from slmmux_run.sampling.collect import collect, plan_requests
    from slmmux_run.sampling.config import load_config
    from slmmux_run.progress import Progress
    from slmmux_run.sampling.spending import Budget

    chosen, task = document["chosen"], document.get("task") or {}
    if not task.get("name"):
        raise UserError("the plan names no task to run: make it with 'slmmux plan --task NAME "
                        "--config TOML ...'")
    config = load_config(config_path)
    models = tuple(chosen["models"])
    frozen = document.get("models") or {}
    for name in models:
        model = config.model(name)
        if name in frozen and frozen[name]["model_id"] != model.model:
            raise UserError(f"{config_path}: model {name!r} sends model id {model.model!r}, "
                            f"the plan was made for {frozen[name]['model_id']!r}")
    tasks = tasks_for_models(config, task["name"], task.get("options") or {}, list(models))
    ids = [item.question_id for item in next(iter(tasks.values())).items]
    population = document["population"]
    if population.get("question_ids") is not None and ids != population["question_ids"]:
        raise UserError(f"task {task['name']!r} now holds other questions than the plan's "
                        f"population ({len(ids)} vs {len(population['question_ids'])})")
    sampling = (document.get("sampling") or {}).get(models[0]) or {}
    temperature = sampling.get("temperature", DEFAULT_TEMPERATURE)
    max_tokens = sampling.get("max_tokens", DEFAULT_MAX_TOKENS)
    k = int(chosen["k"])
    requests = plan_requests(tasks, k, temperature, document["seeds"]["run"], max_tokens)
    store = RecordStore(out)
    budget = Budget(max_requests, max_cost)
    with store.exclusive():
        copied = _copy_pilot(document, pilot_file(document, pilot, plan_path), store, models)
        planned = len(requests) * k
        before = _stored(store, requests)
        # ModelSwitch asks its second model only where the first did not stop: no fixed total.
        to_send = None if chosen["rule"] == "model-switch" else planned - before

        async def main(progress):
            async with Client(config, budget=budget, progress=progress) as client:
                if chosen["rule"] == "model-switch":
                    by_model = {name: [q for q in requests if q.request.model == name]
                                for name in models}
                    return await live_model_switch(client, store, by_model, models)
                return await collect(client, store, requests)

        with Progress(f"run --plan {chosen['rule']} k={k}", to_send, unit="samples",
                      stream=stream) as progress:
            result = asyncio.run(main(progress))
    after = _stored(store, requests)
    failed = sum(not_done for not_done in _failed(store, requests))
    not_sent = getattr(result, "not_sent", 0)
    if chosen["rule"] == "model-switch":
        # Live: a question stops after its first model when that model was unanimous, so the
        # planned samples are those of the models the rule visited, not every model's k.
        planned = int(result.samples_used)
    return RunOutcome(chosen["rule"], models, k, len(ids), planned, before, after - before,
                      failed, not_sent, budget.requests, budget.cost, copied, str(out))


def _stored(store, requests) -> int:
    from slmmux_run.sampling.collect import keys_of

    return sum(len(keys_of(q)) - len(store.missing(keys_of(q))) for q in requests)


def _failed(store, requests):
    """Per planned key: whether its latest record is a failure."""
    from slmmux_run.sampling.collect import keys_of

    latest = store.latest()
    for question in requests:
        for key in keys_of(question):
            yield key in latest and latest[key].error is not None
