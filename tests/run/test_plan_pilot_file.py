"""A pilot written to its own file and planned with ``--population`` predicts what today's
subsampling path predicts on the same pilot, to Monte Carlo error (issue 17's target).

On the shared 13-model GSM8K file (84 questions x 3 samples, population 250) and the AIME 2024
80-sample file (all 30 questions x 4 samples, population 30). The two paths aim at the same
expectation by different routes: the subsampling path replays k of the file's n recorded
samples (the pilot's among them, the rest simulated), the pilot path draws k fresh samples per
question. Their predicted accuracies are means over posterior draws; the tolerance is four
standard errors of the difference, each path's standard error from the spread of its own
draws (the pilot path's read from its 90 % interval, as the CLI writes it).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from slmmux_run.cli import main
from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_run.errors import UserError
from slmmux_run.plan_study import PlanSettings, plan_result

DRAWS = 100
Z90 = 1.6449


def _path(name):
    try:
        return data_file(f"samples/{name}")
    except UserError:
        pytest.skip("the shared data folder is not available")


def _write_pilot(sample_set, path):
    """The pilot as a shared samples file of its own (answers as slot labels, gold slot 0)."""
    rows = []
    for m, model in enumerate(sample_set.models):
        for q, qid in enumerate(sample_set.question_ids):
            labels = sample_set.slot_labels[q]
            answers = [labels[s] for s in sample_set.samples[m, q] if s >= 0]
            rows.append({"task": sample_set.task, "question_id": qid, "model": model,
                         "gold": labels[0], "answers": answers,
                         "is_correct": [a == labels[0] for a in answers]})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("name, pilot_questions, pilot_samples, sizes", [
    ("gsm8k_train_250x10_13models.jsonl", 84, 3, "2"),
    ("boinf_aime2024_30x80_11models.jsonl", 30, 4, "2"),
])
def test_pilot_file_plan_matches_the_subsampling_path(tmp_path, name, pilot_questions,
                                                      pilot_samples, sizes):
    full = load_sample_set(_path(name))
    settings = PlanSettings(pilot_questions=pilot_questions, pilot_samples=pilot_samples,
                            seed=0, k=3, subset_sizes=(2,), rules=("slm-mux",),
                            predictor="hierarchical", draws=DRAWS)
    today = plan_result(full, settings, np.ones(full.num_models), source=name)
    pilot = full.select(questions=today.output["pilot"]["question_ids"],
                        samples=slice(0, pilot_samples))
    pilot_file = tmp_path / "pilot.jsonl"
    _write_pilot(pilot, pilot_file)
    out = tmp_path / "plan.json"
    assert main(["plan", "--samples", str(pilot_file), "--population",
                 str(full.num_questions), "--k", "3", "--subset-sizes", sizes,
                 "--draws", str(DRAWS), "--seed", "0", "--json", str(out)]) == 0
    ours = {tuple(sorted(c["models"])): c for c in json.loads(out.read_text())["candidates"]}
    names = full.models
    assert len(ours) == len(today.plan.candidates)
    for candidate, draws in zip(today.plan.candidates, today.plan.draws):
        mine = ours[tuple(sorted(names[i] for i in candidate.models))]
        se_today = draws.std(ddof=1) / np.sqrt(DRAWS)
        width = mine["interval"][1] - mine["interval"][0]
        se_mine = width / (2 * Z90) / np.sqrt(DRAWS)
        tolerance = 4 * np.hypot(se_today, se_mine)
        assert abs(mine["predicted_accuracy"] - candidate.predicted_accuracy) <= tolerance, (
            candidate.models, mine["predicted_accuracy"], candidate.predicted_accuracy)
