r"""Tests for slmmux_run.data.regrade, regrade_file and the loader's regrade of Best-of-∞'s
MATH-500 rows: a hand-built file in the boinf layout whose verdicts and vote groups are worked
out by hand below (not by the code under test)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from slmmux_run.cli import main
from slmmux_run.data.paths import data_file
from slmmux_run.data.regrade import answers_equal, regrade_question
from slmmux_run.data.regrade_file import regrade_file
from slmmux_run.data.sample_files import load_sample_set
from slmmux_run.data.shared_samples import load_samples
from slmmux_run.errors import UserError

GOLD_0 = r"(3,\frac{\pi}{2})"
GOLD_1 = r"\frac{14}{3}"
# Upstream flags are string equality with the gold, as in the data README's section F.
ROWS = [
    ("A", "0", GOLD_0, [GOLD_0, r"(3,\pi/2)", r"(3,\pi)", None], [True, False, False, False]),
    ("A", "1", GOLD_1, ["14/3", GOLD_1, "4.6", "5"], [False, True, False, False]),
    ("B", "0", GOLD_0, [r"(3,\pi/2)", r"(3, \pi)", r"(3,\pi)", r"(3,\frac{\pi}{1})"], [False] * 4),
    ("B", "1", GOLD_1, ["5", "5.0", "1/2", "0.5"], [False] * 4),
]


def write_boinf(path, task="math500", rows=ROWS):
    with open(path, "w", encoding="utf-8") as handle:
        for model, question, gold, answers, flags in rows:
            handle.write(json.dumps({
                "source": "best-of-infinity", "task": task, "question_id": question,
                "model": model, "gold": gold, "answers": answers,
                "tokens": [10 * (i + 1) for i in range(len(answers))], "is_correct": flags,
            }) + "\n")
    return path


@pytest.fixture
def boinf(tmp_path):
    return write_boinf(tmp_path / "boinf_math500.jsonl")


def test_known_equal_forms():
    assert answers_equal(r"(3,\pi/2)", GOLD_0)
    assert answers_equal("14/3", GOLD_1)
    assert answers_equal(".0000672", "0.0000672")  # line 177 of the shared file
    assert not answers_equal("4.6", GOLD_1)
    assert not answers_equal(r"(3,\pi)", GOLD_0)
    assert not answers_equal("(1,2]", "(1,2)")


def test_regrade_question_merges_wrong_answers_under_the_most_frequent_spelling():
    regraded = regrade_question([ROWS[1][3], ROWS[3][3]], GOLD_1)
    assert regraded.labels == (
        (GOLD_1, GOLD_1, "4.6", "5"),
        ("5", "5", "1/2", "1/2"),
    )
    assert regraded.correct == ((True, True, False, False), (False,) * 4)
    # 14/3, \frac{14}{3}, 4.6, 5, 5.0, 1/2, 0.5 -> correct, {5, 5.0}, {4.6}, {1/2, 0.5}
    assert (regraded.distinct_answers, regraded.groups) == (7, 4)


def test_the_loader_regrades_best_of_infinity_math500_rows(boinf):
    sample_set = load_sample_set(boinf)
    assert sample_set.slot_labels == (
        (GOLD_0, r"(3,\pi)", "", "", None),
        (GOLD_1, "5", "1/2", "4.6", None),
    )
    assert sample_set.samples.tolist() == [
        [[0, 0, 1, 4], [0, 0, 3, 1]],
        [[0, 1, 1, 1], [1, 1, 2, 2]],
    ]
    assert sample_set.tokens[0, 0].tolist() == [10, 20, 30, 40]


def test_without_the_regrade_equal_forms_stay_apart(boinf):
    plain = load_samples(boinf, regrade=False)
    # Two samples each; the tie goes to first appearance.
    assert plain.slot_labels[0][:3] == (GOLD_0, r"(3,\pi/2)", r"(3,\pi)")
    assert plain.samples[0, 0].tolist() == [0, 1, 2, plain.num_answers - 1]


def test_without_the_regrade_a_flag_against_our_rule_is_refused(tmp_path):
    # Line 177 of the shared MATH-500 file: upstream's string equality says wrong.
    rows = [("A", "0", ".0000672", ["0.0000672", "1"], [False, False])]
    path = write_boinf(tmp_path / "m.jsonl", rows=rows)
    with pytest.raises(UserError, match=r"m.jsonl:1: field 'is_correct\[0\]' is false"):
        load_samples(path, regrade=False)
    assert load_samples(path).samples.tolist() == [[[0, 1]]]


def test_other_best_of_infinity_files_keep_the_flag_check(tmp_path):
    # The AIME file is not regraded: a flag that disagrees with our rule is still an error.
    rows = [("A", "0", "70", ["70", "70.0"], [True, False])]
    path = write_boinf(tmp_path / "aime.jsonl", task="aime2024", rows=rows)
    with pytest.raises(UserError, match=r"aime.jsonl:1: field 'is_correct\[1\]' is false"):
        load_samples(path)
    assert load_samples(path, regrade=True).samples.tolist() == [[[0, 0]]]


def test_a_subset_of_models_keeps_the_groups_of_the_whole_file(boinf):
    only_b = load_samples(boinf, models=["B"])
    assert only_b.samples.tolist() == [[[0, 1, 1, 1], [1, 1, 2, 2]]]
    assert only_b.slot_labels[1] == (GOLD_1, "5", "1/2", None)


def test_regrade_file_reports_and_writes_a_file_that_loads_the_same(boinf, tmp_path):
    report = regrade_file(boinf, tmp_path / "out")
    by_model = {m.model: m for m in report.models}
    a, b = by_model["A"], by_model["B"]
    assert (a.samples, a.accuracy_before, a.accuracy_after) == (8, 2 / 8, 4 / 8)
    assert (b.samples, b.accuracy_before, b.accuracy_after) == (8, 0.0, 1 / 8)
    assert (a.wrong_to_right, a.right_to_wrong, b.wrong_to_right, b.right_to_wrong) == (2, 0, 1, 0)
    assert (a.distinct_answers, a.groups_merged) == (7, 2)
    assert (b.distinct_answers, b.groups_merged) == (8, 4)
    assert (report.distinct_answers, report.groups) == (12, 6)
    assert report.output.endswith("boinf_math500.regraded.jsonl")
    written = [json.loads(line) for line in open(report.output, encoding="utf-8")]
    assert written[0]["raw_answers"] == ROWS[0][3]
    assert written[0]["upstream_is_correct"] == ROWS[0][4]
    assert written[0]["source"] == "best-of-infinity+regraded"
    assert written[2]["answers"] == [GOLD_0, r"(3,\pi)", r"(3,\pi)", r"(3,\pi)"]
    again, original = load_sample_set(report.output), load_sample_set(boinf)
    assert np.array_equal(again.samples, original.samples)
    assert again.slot_labels == original.slot_labels


def test_regrade_file_refuses_a_bad_file_before_writing(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"task": "t", "question_id": "0", "model": "m", "gold": "1",
                                "answers": ["1", 2]}) + "\n")
    with pytest.raises(UserError, match=r"bad.jsonl:1: field 'answers\[1\]'"):
        regrade_file(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_command_prints_per_model_accuracy_and_merges(boinf, tmp_path, capsys):
    assert main(["regrade", "--samples", str(boinf), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "out" / "boinf_math500.regraded.jsonl").is_file()
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line[:2] in ("A ", "B ")}
    assert lines["A"][1:] == ["8", "0.2500", "0.5000", "2", "0", "7", "2"]
    assert lines["B"][1:] == ["8", "0.0000", "0.1250", "1", "0", "8", "4"]
    assert "12 distinct answers per question (summed) form 6 vote groups (6 merged)" in out


def test_the_command_names_a_missing_file(tmp_path, capsys):
    assert main(["regrade", "--samples", str(tmp_path / "none.jsonl"), "--out", str(tmp_path)]) == 2
    assert "none.jsonl" in capsys.readouterr().err


def _shared(name):
    try:
        return data_file(f"samples/{name}")
    except UserError:
        pytest.skip("shared data directory not available")


def test_the_aime_file_loads_exactly_as_without_the_regrade():
    path = _shared("boinf_aime2024_30x80_11models.jsonl")
    default, plain = load_samples(path), load_samples(path, regrade=False)
    assert np.array_equal(default.samples, plain.samples)
    assert default.slot_labels == plain.slot_labels


@pytest.mark.slow
def test_the_math500_file_loads_regraded():
    path = _shared("boinf_math500_500x80_7models.jsonl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every row has its 80 samples
        sample_set = load_sample_set(path)
    assert sample_set.samples.shape == (7, 500, 80)
    first = sample_set.question_ids.index("0")
    assert sample_set.slot_labels[first][0] == GOLD_0
    # Regrading only turns upstream-wrong samples right: accuracy rises for every model (the
    # README's string-equality table: 0.8783 for Phi-4-reasoning, at least 0.9268 otherwise).
    accuracy = (sample_set.samples == 0).mean(axis=(1, 2))
    assert accuracy[sample_set.models.index("Phi-4-reasoning")] > 0.8783
    assert np.all(np.delete(accuracy, sample_set.models.index("Phi-4-reasoning")) > 0.9268)
