"""Check a frozen plan against the full run: realised accuracy, tokens and money vs predicted.

Runner glue (files; every accuracy comes from the theory,
:func:`slmmux_theory.planning.heldout.replayed_rule_accuracy` and
:func:`~slmmux_theory.planning.heldout.score_plan`). ``slmmux check --plan plan.json --records
FULL`` reads the record file of the run (or any file holding the population's samples), keeps
the population's questions and the first k samples of every row, and reports for the chosen
candidate: its realised accuracy (exact replay of those k samples with the plan's frozen tie
ranks: the run's own outcome, averaged only over its random tie-breaks), whether it lies in the
frozen 90 % interval and by how many points it missed, the error in points, realised tokens and
money per question beside the expected ones; and, over every candidate the file can replay
(all its models hold k samples on every question), the regret of the chosen one against the
best in hindsight, with the plan's MAE and coverage over them.

A live ModelSwitch run has no second-model samples where the first model stopped; those rows
are filled with k ⊥ samples, which changes nothing (the stop rule never looks at them), and
only for the chosen ModelSwitch pair.
"""

from __future__ import annotations

import numpy as np

from slmmux_run.errors import UserError

__all__ = ["check_plan"]


def _population_set(document, sample_set, source):
    """The file restricted to the population's questions (and a note when it cannot tell)."""
    ids = document["population"].get("question_ids")
    notes = []
    if ids is not None:
        missing = [q for q in ids if q not in set(sample_set.question_ids)]
        if missing:
            raise UserError(f"{source}: holds no sample of population question {missing[0]!r} "
                            f"({len(missing)} of {len(ids)} missing); run the plan first")
        return sample_set.select(questions=list(ids)), notes
    size = document["population"]["questions"]
    if sample_set.num_questions != size:
        notes.append(f"the plan's population has {size} questions, {source} holds "
                     f"{sample_set.num_questions}: all of them are scored")
    return sample_set, notes


def _money(path, models, question_ids, k):
    """Money per question the record file says was spent on these rows (None: no costs)."""
    from slmmux_run.data.records import RecordStore
    from slmmux_run.data.sample_files import RECORDS, sniff_schema

    if sniff_schema(path) != RECORDS:
        return None
    wanted, total, seen = set(question_ids), 0.0, False
    for record in RecordStore(path).latest().values():
        if (record.model in models and record.question_id in wanted
                and record.sample_index < k):
            cost = (record.extra or {}).get("cost")
            if cost is not None:
                total, seen = total + float(cost), True
    return total / len(question_ids) if seen else None


def check_plan(document: dict, records) -> dict:
    """Compare the run in ``records`` with the frozen plan ``document``; JSON-ready result.

    Raises:
      UserError: a file without the population's questions, or without k samples of the chosen
        models on some question.
    """
    from slmmux_run.data.sample_files import load_sample_set
    from slmmux_theory.planning.heldout import replayed_rule_accuracy, score_plan

    chosen, k = document["chosen"], int(document["chosen"]["k"])
    pilot_models = document["pilot"]["models"]
    priority_all = np.asarray(document["pilot"]["tie_priority"])
    full = load_sample_set(records)
    full = full.select(models=[m for m in pilot_models if m in full.models])
    full, notes = _population_set(document, full, records)
    rows = full.select(samples=slice(0, k))
    recorded = rows.num_recorded
    complete = {m: bool((recorded[i] >= k).all()) for i, m in enumerate(rows.models)}
    counts = np.array(rows.counts)
    if chosen["rule"] == "model-switch" and all(m in complete for m in chosen["models"]):
        first, second = (rows.models.index(m) for m in chosen["models"])
        empty = recorded[second] == 0
        counts[second, empty] = 0
        counts[second, empty, -1] = k  # never read: the first model stopped there
        complete[chosen["models"][1]] = complete[chosen["models"][0]] and bool(
            (recorded[second][~empty] >= k).all())
    missing = [m for m in chosen["models"] if not complete.get(m)]
    if missing:
        raise UserError(f"{records}: model {missing[0]!r} lacks some of its k = {k} samples on "
                        f"the population's questions; finish the run (slmmux run --plan)")
    priority = np.array([priority_all[pilot_models.index(m)] for m in rows.models])
    index = {m: i for i, m in enumerate(rows.models)}
    scored = []
    for candidate in document["candidates"]:
        if int(candidate["k"]) != k or not all(complete.get(m) for m in candidate["models"]):
            continue
        subset = [[index[m] for m in candidate["models"]]]
        value = replayed_rule_accuracy(counts, candidate["rule"], subset, k, priority)[0]
        scored.append((candidate, float(value)))
    if len(scored) < len(document["candidates"]):
        notes.append(f"{len(scored)} of {len(document['candidates'])} candidates could be "
                     f"replayed (the others' models lack k = {k} samples on some question: a "
                     f"run samples only the chosen models); regret, MAE and coverage are over "
                     f"those {len(scored)}")
    realised = next(v for c, v in scored
                    if c["rule"] == chosen["rule"] and c["models"] == chosen["models"])
    low, high = chosen["interval"]
    members = [index[m] for m in chosen["models"]]
    tokens = None
    if rows.tokens is not None:
        known = rows.tokens[members]
        if np.isfinite(known[np.asarray(recorded[members]) > 0]).all():
            tokens = float(np.nansum(known) / rows.num_questions)
    best, best_value = max(scored, key=lambda item: item[1])
    score = score_plan([c["predicted_accuracy"] for c, _ in scored],
                       [c["interval"] for c, _ in scored], [v for _, v in scored])
    return {
        "records": str(records),
        "questions": rows.num_questions,
        "chosen": {"models": chosen["models"], "rule": chosen["rule"], "k": k},
        "predicted_accuracy": chosen["predicted_accuracy"],
        "interval": [low, high],
        "realised_accuracy": realised,
        "inside_interval": bool(low <= realised <= high),
        "error_points": 100 * (realised - chosen["predicted_accuracy"]),
        "missed_by_points": 100 * max(low - realised, realised - high, 0.0),
        "expected_tokens": chosen.get("expected_tokens"),
        "realised_tokens": tokens,
        "expected_cost": chosen.get("expected_cost"),
        "realised_cost": _money(records, chosen["models"], rows.question_ids, k),
        "replayed_candidates": len(scored),
        "best_in_hindsight": {"models": best["models"], "rule": best["rule"],
                              "realised_accuracy": best_value},
        "regret_points": 100 * (best_value - realised),
        "mae_points": 100 * score.mae,
        "coverage": score.coverage,
        "notes": notes,
    }

