"""Best-of-∞ ``analysis_<task>_<model>.jsonl``: model and task from the file name, an empty
answer is ⊥, the shared files' light normalization, tokens kept; and the upstream layout of
the shared AIME file loads to the very sample set the shared file gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from slmmux_run.data.importers.best_of_infinity import load_best_of_infinity
from slmmux_run.data.paths import data_file
from slmmux_run.data.sample_files import BEST_OF_INFINITY, load_sample_set, sniff_schema
from slmmux_run.data.shared_samples import load_samples
from slmmux_run.errors import UserError

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "best_of_infinity"
EXAONE = "analysis_aime2024_EXAONE-Deep-32B.jsonl"


def test_a_folder_is_one_sample_set_with_tokens():
    assert sniff_schema(FIXTURE) == BEST_OF_INFINITY
    samples = load_sample_set(FIXTURE)
    assert (samples.task, samples.models) == ("aime2024", ("EXAONE-Deep-32B", "Qwen3-4B"))
    assert samples.question_ids == ("0", "1", "2")
    # By hand: "033" and "\boxed{23}" are the gold after normalization, "" is ⊥ (slot 2); the
    # wrong answers are "35" (q0), "121" (q1), "58" (q2).
    assert samples.samples.tolist() == [
        [[0, 2, 1, 1], [0, 0, 1, 0], [0, 2, 0, 1]],
        [[0, 0, 1, 0], [0, 2, 1, 0], [0, 0, 0, 0]],
    ]
    assert samples.slot_labels == (("33", "35", None), ("23", "121", None), ("116", "58", None))
    assert samples.tokens[0, 0].tolist() == [5100, 30000, 5300, 5400]
    assert samples.tokens[1, 2].tolist() == [3100, 3200, 3300, 3400]


def test_one_file_is_one_model():
    samples = load_sample_set(FIXTURE / EXAONE)
    assert samples.models == ("EXAONE-Deep-32B",)
    assert samples.samples[0].tolist() == [[0, 2, 1, 1], [0, 0, 1, 0], [0, 2, 0, 1]]


@pytest.mark.parametrize("change, message", [
    (lambda row: row.update(problem_num=[1]), r":2: field 'problem_num' must be an integer"),
    (lambda row: row.update(gold_answer=""), r":2: field 'gold_answer' is empty"),
    (lambda row: row["all_answers"].__setitem__(1, ["23"]), r":2: field 'all_answers\[1\]' must be \[answer, tokens\]"),
    (lambda row: row["all_answers"].__setitem__(1, ["23", -4]), r":2: field 'all_answers\[1\]\[1\]' must be a token count"),
    (lambda row: row.update(problem_num=0), r":2: duplicate problem_num 0 \(first at line 1\)"),
])  # fmt: skip
def test_a_bad_line_names_file_line_and_field(tmp_path, change, message):
    path = tmp_path / EXAONE
    rows = [json.loads(line) for line in (FIXTURE / EXAONE).open()]
    change(rows[1])
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(UserError, match=f"{EXAONE}{message}"):
        load_sample_set(path)


def test_golds_that_differ_between_models_are_refused(tmp_path):
    for file in FIXTURE.iterdir():
        shutil.copy(file, tmp_path / file.name)
    path = tmp_path / EXAONE
    rows = [json.loads(line) for line in path.open()]
    rows[0]["gold_answer"] = "34"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with pytest.raises(UserError, match="field 'gold' is '33' but"):
        load_sample_set(tmp_path)


def test_a_file_named_otherwise_is_refused(tmp_path):
    path = tmp_path / "answers.jsonl"
    shutil.copy(FIXTURE / EXAONE, path)
    assert sniff_schema(path) == BEST_OF_INFINITY  # the fields say what it is ...
    with pytest.raises(UserError, match=r"named analysis_<task>_<model>\.jsonl"):
        load_sample_set(path)  # ... but the model and task are in the name only


def _upstream_copy(shared_path, folder: Path, task: str, questions: int | None = None):
    """The shared file's rows written back in the upstream layout (and, with ``questions``, a
    shared-schema file of the first ones); returns the shared file to compare with."""
    by_model: dict[str, list[dict]] = {}
    kept = []
    for line in open(shared_path, encoding="utf-8"):
        row = json.loads(line)
        if questions is not None and int(row["question_id"]) >= questions:
            continue
        kept.append(line)
        by_model.setdefault(row["model"], []).append({
            "problem_num": int(row["question_id"]), "total_answers": len(row["answers"]),
            "gold_answer": row["gold"],
            "all_answers": [[answer or "", tokens]
                            for answer, tokens in zip(row["answers"], row["tokens"])],
        })  # fmt: skip
    folder.mkdir()
    for model, rows in by_model.items():
        with open(folder / f"analysis_{task}_{model}.jsonl", "w", encoding="utf-8") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
    if questions is None:
        return shared_path, sorted(by_model)
    subset = folder.parent / "shared_subset.jsonl"
    subset.write_text("".join(kept), encoding="utf-8")
    return subset, sorted(by_model)


def _shared(name: str):
    try:
        return data_file(f"samples/{name}")
    except UserError as error:  # pragma: no cover - the data folder is not everywhere
        pytest.skip(f"shared data not found: {error}")


def test_the_upstream_layout_of_the_shared_aime_file_gives_the_shared_sample_set(tmp_path):
    """The shared file is these upstream files (README section F): writing its rows back in the
    upstream layout and importing them must give the same slots, labels and tokens."""
    shared_path, models = _upstream_copy(_shared("boinf_aime2024_30x80_11models.jsonl"),
                                         tmp_path / "up", "aime2024")  # fmt: skip
    shared = load_samples(shared_path, models=models)
    imported = load_best_of_infinity(tmp_path / "up", models=models).sample_set
    assert imported.question_ids == shared.question_ids
    assert imported.slot_labels == shared.slot_labels
    np.testing.assert_array_equal(imported.samples, shared.samples)
    np.testing.assert_array_equal(imported.tokens, shared.tokens)
    assert len(models) == 11 and imported.samples.shape == (11, 30, 80)


def test_math500_is_regraded_as_the_shared_copy_is(tmp_path):
    """On MATH-500 both paths regrade (equal answers merged into one vote group); on the first 25
    problems the upstream layout gives the shared file's sample set, and without the regrade
    some answers the grader finds equal to the gold would count wrong."""
    shared_path, models = _upstream_copy(_shared("boinf_math500_500x80_7models.jsonl"),
                                         tmp_path / "up", "math500", questions=25)  # fmt: skip
    shared = load_samples(shared_path, models=models)
    imported = load_best_of_infinity(tmp_path / "up", models=models).sample_set
    assert imported.question_ids == shared.question_ids and len(shared.question_ids) == 25
    assert imported.slot_labels == shared.slot_labels
    np.testing.assert_array_equal(imported.samples, shared.samples)
    plain = load_best_of_infinity(tmp_path / "up", models=models, regrade=False).sample_set
    # Upstream string equality misses equal forms (README section F): the regrade finds more
    # correct samples and fewer distinct wrong answers.
    assert (plain.samples == 0).sum() < (imported.samples == 0).sum()
    assert plain.num_answers > imported.num_answers
