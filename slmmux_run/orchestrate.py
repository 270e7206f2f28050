"""Live ModelSwitch: sample model j+1 only when the theory's stop rule did not end the question.

Runner layer (HTTP through the client, the record store as the cache). Nothing here decides
anything about answers: the stop rule and the vote are
:func:`slmmux_theory.rules.model_switch.model_switch_visited`; calls are really saved because model j+1
is sampled only on demand. The replay of stored samples (literal, exact, plug-in; the replay
table) is :mod:`slmmux_theory.engines.replay_table`, reached from the runner through
:mod:`slmmux_run.replay`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from slmmux_run.data.record_samples import load_records
from slmmux_run.data.records import Record
from slmmux_run.sampling.collect import collect_question, estimate_plan, keys_of
from slmmux_theory.rules.model_switch import model_switch_visited

__all__ = ["LiveSwitchResult", "live_model_switch"]


@dataclass(frozen=True)
class LiveSwitchResult:
    """Outcome of a live ModelSwitch run.

    Attributes:
      correct: per question, whether the chosen answer is correct, shape [questions].
      models_used: per question, how many models were sampled, shape [questions].
      samples_used: samples the rule consumed (cached or new).
      samples_max: samples if every model were sampled on every question.
      requests_sent: HTTP requests actually sent (cached samples cost none).
      requests_max: requests sampling every model on every question would take.
    """

    correct: np.ndarray
    models_used: np.ndarray
    samples_used: int
    samples_max: int
    requests_sent: int
    requests_max: int


async def live_model_switch(client, store, plan_by_model: Mapping[str, Sequence[Any]],
                            models: Sequence[str]) -> LiveSwitchResult:
    """ModelSwitch sampling on demand: model j+1 only when the stop rule did not fire at j.

    Args:
      client: an open :class:`~slmmux_run.sampling.client.Client`.
      store: the :class:`~slmmux_run.data.records.RecordStore` used as the cache.
      plan_by_model: per model, its :class:`~slmmux_run.sampling.collect.QuestionRequest` list (same
        questions, same order).
      models: visiting order.
    """
    budget_before = client.budget.requests
    num_questions = len(plan_by_model[models[0]])
    k = plan_by_model[models[0]][0].request.samples

    async def one(q: int) -> tuple[bool, int]:
        rows: list[Record] = []
        for j, name in enumerate(models):
            question = plan_by_model[name][q]
            await collect_question(client, store, question, client.config)
            latest = store.latest()
            rows.extend(latest[key] for key in keys_of(question) if key in latest)
            loaded = load_records(rows, models=models[: j + 1]).sample_set
            outcome = model_switch_visited(loaded.samples[:, 0], len(models), loaded.num_answers)
            if int(outcome.stopped_at) == j or j == len(models) - 1:
                return bool(int(outcome.answer) == 0), j + 1
        raise AssertionError("unreachable")

    outcomes = await asyncio.gather(*(one(q) for q in range(num_questions)))
    full_plan = [question for name in models for question in plan_by_model[name]]
    return LiveSwitchResult(
        correct=np.array([c for c, _ in outcomes], dtype=np.float64),
        models_used=np.array([u for _, u in outcomes]),
        samples_used=int(sum(u for _, u in outcomes) * k),
        samples_max=len(models) * num_questions * k,
        requests_sent=client.budget.requests - budget_before,
        requests_max=estimate_plan(client.config, full_plan).requests,
    )
