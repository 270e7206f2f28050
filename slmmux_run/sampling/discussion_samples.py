"""Independent samples beside debates: answers per (question, model), golds, slot probabilities.

Runner layer (``slmmux_run.sampling``; no I/O, no theory): the debate study reads its transcripts
(:class:`~slmmux_run.sampling.discussion_files.TranscriptStore`) and the independent samples of the
same models (records), and needs them in the shapes the theory takes: complete debates
(:func:`complete_discussions`), answers and token spend per (question, model)
(:func:`sample_answers`), and each agent's answer distribution on slot arrays laid out as
:func:`~slmmux_run.sampling.discussion.transcript_slots` lays them out, from samples only
(:func:`sample_slot_probs`, for questions not yet debated).

Example:
  >>> p = sample_slot_probs({("q", "m"): ["2", "3", None, "3"]}, {"q": "2"}, ["q"], ["m"], 4, 0.0)
  >>> p[0, 0].tolist()
  [0.25, 0.5, 0.0, 0.25]
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from slmmux_run.data.slots import is_correct
from slmmux_run.errors import UserError
from slmmux_run.sampling.discussion import Turn

__all__ = ["complete_discussions", "golds_of", "sample_answers", "sample_slot_probs"]


def complete_discussions(turns: list[Turn], method: str) -> dict[str, list[Turn]]:
    """Discussions of one method that have every turn of the most common shape.

    Returns:
      discussion id -> turns, in file order.
    """
    groups: dict[str, list[Turn]] = defaultdict(list)
    for turn in turns:
        if turn.method == method:
            groups[turn.discussion_id].append(turn)
    if not groups:
        return {}
    shape = Counter(len(g) for g in groups.values()).most_common(1)[0][0]
    return {key: group for key, group in groups.items() if len(group) == shape}


def sample_answers(records) -> tuple[dict, dict]:
    """Answers and token spend of independent samples per (question, model).

    Returns:
      (answers: (question_id, model) -> list of answer strings (None for ⊥ or failure),
       tokens: (question_id, model) -> list of per-sample tokens: completion tokens plus the
       request's prompt tokens divided by the choices it returned).
    """
    answers: dict = defaultdict(list)
    tokens: dict = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.question_id, r.model, r.sample_index)):
        key = (record.question_id, record.model)
        answers[key].append(record.answer if record.error is None else None)
        usage = record.usage or {}
        share = (usage.get("prompt_tokens") or 0) / max(usage.get("call_choices") or 1, 1)
        tokens[key].append(share + (usage.get("completion_tokens") or 0))
    return dict(answers), dict(tokens)


def sample_slot_probs(answers_by_key, golds: dict, question_ids, agent_models,
                      max_answers: int, smoothing: float) -> np.ndarray:  # fmt: skip
    """Each agent's answer distribution on each question, from independent samples only.

    The slot layout follows :func:`slmmux_run.sampling.discussion.transcript_slots` without debates:
    slot 0 is correct (:func:`slmmux_run.data.slots.is_correct`), wrong answers get slots 1..
    by total frequency over the agents' models' samples (first appearance breaks ties; beyond ``max_answers - 2`` the rarer ones
    share the last wrong slot), the last slot is ⊥; ``smoothing`` is added to every slot seen
    in the question's samples and to the correct slot.

    Args:
      answers_by_key: ``(question_id, model) -> list of answers`` (None for ⊥).
      golds: ``question_id -> gold answer string``.
      question_ids: the questions, length Q.
      agent_models: model of each agent, length N.
      max_answers: A.
      smoothing: pseudo-count.

    Returns:
      probs, shape [Q, N, A].

    Example:
      >>> p = sample_slot_probs({("q", "m"): ["2", "3", None, "3"]}, {"q": "2"}, ["q"], ["m"],
      ...                       4, 0.0)
      >>> p[0, 0].tolist()
      [0.25, 0.5, 0.0, 0.25]
    """
    if max_answers < 3:
        raise ValueError("max_answers must be >= 3 (correct, one wrong, ⊥)")
    bottom = max_answers - 1
    models = list(dict.fromkeys(agent_models))
    probs = np.zeros((len(question_ids), len(agent_models), max_answers))
    for q, question in enumerate(question_ids):
        gold = golds[question]
        own = {m: list(answers_by_key.get((question, m), ())) for m in models}
        missing = [m for m in models if not own[m]]
        if missing:
            raise UserError(f"no independent samples of model(s) {missing} on question {question!r}")
        wrong = Counter(a for m in models for a in own[m]
                        if a is not None and not is_correct(a, gold))  # fmt: skip
        order = sorted(wrong, key=lambda a: -wrong[a])
        slot_of = {a: min(1 + i, bottom - 1) for i, a in enumerate(order)}
        seen = np.zeros(max_answers, dtype=bool)
        per_model = {}
        for m in models:
            counts = np.zeros(max_answers)
            for a in own[m]:
                counts[bottom if a is None else 0 if is_correct(a, gold) else slot_of[a]] += 1
            per_model[m] = counts
            seen |= counts > 0
        seen[0] = True
        for i, m in enumerate(agent_models):
            counts = per_model[m] + smoothing * seen
            probs[q, i] = counts / counts.sum()
    return probs


def golds_of(records) -> dict[str, str]:
    """``question_id -> gold answer`` from the records' ``extra.gold`` (first one stated)."""
    golds = {}
    for record in records:
        gold = (record.extra or {}).get("gold")
        if gold is not None:
            golds.setdefault(record.question_id, str(gold))
    return golds
