"""Tests of slmmux_run.data.datasets: hand-written fixtures (good and malformed) and the real files.

Expected values for fixtures are worked out by hand in the comments; expected values for the real
files are typed in from the shared data README, which was produced independently of this code.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from slmmux_run.data.datasets import (
    MISSING_SAMPLE,
    OTHER_WRONG_LABEL,
    MissingSamplesWarning,
    SampleSet,
    correctness_to_counts,
    load_correctness,
    load_greedy,
    load_samples,
    split_questions,
    split_samples,
)
from slmmux_run.errors import UserError

FIXTURES = Path(__file__).parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[3]


def fixture(name: str) -> Path:
    return FIXTURES / name


# --------------------------------------------------------------------------- good samples file

# samples_good.jsonl, worked by hand. Models in file order: m-b, m-a. Question ids 0, 2, 10
# (numeric order, not string order). Wrong slots per question, by frequency then first sight
# (scanning m-b then m-a):
#   q "0"  gold 72 : "70" x2 (first at m-b), "68" x2 (m-a; " 68 " is stripped) -> 70:1, 68:2
#   q "2"  gold 5  : "4" x2, "3" x1                                           -> 4:1, 3:2
#   q "10" gold 1.5: "9" x3, "2" x2, "0" x1; "1.50" is numerically gold       -> 9:1, 2:2, 0:3
# A = 3 wrong + 2 = 5, ⊥ = slot 4.
GOOD_SAMPLES = np.array(
    [
        [[0, 1, 0, 4], [0, 0, 0, 0], [0, 2, 2, 1]],  # m-b
        [[1, 2, 0, 2], [2, 1, 1, 4], [1, 1, 0, 3]],  # m-a
    ]
)


def test_good_file_slots_labels_and_order():
    sample_set = load_samples(fixture("samples_good.jsonl"))
    assert sample_set.task == "toy"
    assert sample_set.models == ("m-b", "m-a")
    assert sample_set.question_ids == ("0", "2", "10")
    assert sample_set.num_answers == 5
    assert sample_set.other_wrong_slot is None
    assert sample_set.slot_labels == (
        ("72", "70", "68", "", None),
        ("5", "4", "3", "", None),
        ("1.5", "9", "2", "0", None),
    )
    np.testing.assert_array_equal(sample_set.samples, GOOD_SAMPLES)


def test_counts_by_hand():
    counts = load_samples(fixture("samples_good.jsonl")).counts
    expected = np.array(
        [
            [[2, 1, 0, 0, 1], [4, 0, 0, 0, 0], [1, 1, 2, 0, 0]],
            [[1, 1, 2, 0, 0], [0, 2, 1, 0, 1], [1, 2, 0, 1, 0]],
        ]
    )
    np.testing.assert_array_equal(counts, expected)


def test_arrays_are_read_only():
    sample_set = load_samples(fixture("samples_good.jsonl"))
    with pytest.raises(ValueError):
        sample_set.samples[0, 0, 0] = 3
    with pytest.raises(ValueError):
        sample_set.counts[0, 0, 0] = 3


def test_select_by_name_keeps_given_order():
    sample_set = load_samples(fixture("samples_good.jsonl"), models=["m-a", "m-b"],
                              question_ids=["10", "0"])
    assert sample_set.models == ("m-a", "m-b")
    assert sample_set.question_ids == ("10", "0")
    # Slots are rebuilt from the same two models, so they equal the full load's slots.
    np.testing.assert_array_equal(sample_set.samples, GOOD_SAMPLES[::-1][:, [2, 0]])


def test_load_subset_of_models_rebuilds_wrong_slots():
    # m-a alone: q "0" wrong = "68" x2, "70" x1 -> 68:1, 70:2; q "2": 4:1, 3:2; q "10": 9:1, 0:2.
    sample_set = load_samples(fixture("samples_good.jsonl"), models=["m-a"])
    assert sample_set.num_answers == 4
    assert sample_set.slot_labels[0] == ("72", "68", "70", None)
    np.testing.assert_array_equal(
        sample_set.samples, [[[2, 1, 0, 1], [2, 1, 1, 3], [1, 1, 0, 2]]]
    )


def test_select_method_by_name_index_and_samples():
    full = load_samples(fixture("samples_good.jsonl"))
    part = full.select(models=["m-a"], questions=[2, "0"], samples=[3, 0])
    assert part.models == ("m-a",)
    assert part.question_ids == ("10", "0")
    assert part.slot_labels == (full.slot_labels[2], full.slot_labels[0])
    np.testing.assert_array_equal(part.samples, [[[3, 1], [2, 1]]])
    assert part.num_answers == full.num_answers


def test_select_unknown_name_is_user_error():
    full = load_samples(fixture("samples_good.jsonl"))
    with pytest.raises(UserError, match="model 'nope' not found"):
        full.select(models=["nope"])
    with pytest.raises(UserError, match="same model twice"):
        full.select(models=["m-a", 1])


def test_load_unknown_model_names_the_file():
    path = fixture("samples_good.jsonl")
    with pytest.raises(UserError, match=re.escape(f"{path}: model 'nope' is not in the file")):
        load_samples(path, models=["nope"])


def test_cap_merges_rare_wrong_answers_into_other_slot():
    # W = 1: keep the most frequent wrong answer; slot 2 = other wrong, slot 3 = ⊥.
    sample_set = load_samples(fixture("samples_good.jsonl"), max_wrong_slots=1)
    assert sample_set.num_answers == 4
    assert sample_set.other_wrong_slot == 2
    assert sample_set.slot_labels == (
        ("72", "70", OTHER_WRONG_LABEL, None),
        ("5", "4", OTHER_WRONG_LABEL, None),
        ("1.5", "9", OTHER_WRONG_LABEL, None),
    )
    np.testing.assert_array_equal(
        sample_set.samples,
        [
            [[0, 1, 0, 3], [0, 0, 0, 0], [0, 2, 2, 1]],
            [[1, 2, 0, 2], [2, 1, 1, 3], [1, 1, 0, 2]],
        ],
    )


def test_cap_zero_gives_correct_other_abstain():
    sample_set = load_samples(fixture("samples_good.jsonl"), max_wrong_slots=0)
    assert (sample_set.num_answers, sample_set.other_wrong_slot) == (3, 1)
    # Every wrong sample lands in slot 1: m-b q "10" = [0, 1, 1, 1].
    np.testing.assert_array_equal(sample_set.samples[0, 2], [0, 1, 1, 1])


def test_cap_not_reached_leaves_no_other_slot():
    sample_set = load_samples(fixture("samples_good.jsonl"), max_wrong_slots=3)
    assert sample_set.other_wrong_slot is None
    np.testing.assert_array_equal(sample_set.samples, GOOD_SAMPLES)


def test_cap_pads_before_other_slot():
    # W = 2: q "10" has 3 wrong answers, so "0" is merged; q "0" and "2" have exactly 2.
    sample_set = load_samples(fixture("samples_good.jsonl"), max_wrong_slots=2)
    assert (sample_set.num_answers, sample_set.other_wrong_slot) == (5, 3)
    assert sample_set.slot_labels[0] == ("72", "70", "68", "", None)
    assert sample_set.slot_labels[2] == ("1.5", "9", "2", OTHER_WRONG_LABEL, None)


def test_bad_cap_value():
    with pytest.raises(ValueError, match="max_wrong_slots"):
        load_samples(fixture("samples_good.jsonl"), max_wrong_slots=-1)


# --------------------------------------------------------------------------- ragged rows


def test_ragged_rows_are_padded_and_reported():
    with pytest.warns(MissingSamplesWarning, match="1 rows have fewer than 3 samples.*line 2"):
        sample_set = load_samples(fixture("samples_ragged.jsonl"))
    # q "0": wrong "2" x3 -> slot 1; q "1": "3" -> slot 1. A = 3, ⊥ = 2.
    np.testing.assert_array_equal(
        sample_set.samples,
        [[[0, 1, 0], [0, 1, MISSING_SAMPLE]], [[1, 1, 2], [-1, -1, -1]]],
    )
    np.testing.assert_array_equal(sample_set.num_recorded, [[3, 2], [3, 0]])
    np.testing.assert_array_equal(sample_set.counts[1, 1], [0, 0, 0])


def test_ragged_rows_warning_names_missing_pair():
    with pytest.warns(MissingSamplesWarning, match="'m-y', question_id '1'"):
        load_samples(fixture("samples_ragged.jsonl"))


def test_good_file_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_samples(fixture("samples_good.jsonl"))


# --------------------------------------------------------------------------- malformed files


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("samples_torn_last_line.jsonl", r":3: invalid JSON \(torn last line"),
        ("samples_bad_json_middle.jsonl", r":2: invalid JSON"),
        ("samples_wrong_types.jsonl", r":2: field 'answers\[0\]' must be a string or null, got 4"),
        ("samples_question_id_int.jsonl", r":1: field 'question_id' must be a string, got 0"),
        ("samples_is_correct_mismatch.jsonl", r":3: field 'is_correct\[2\]' is false but answer "
                                              r"\"9\" equals gold \"9\""),
        ("samples_duplicate_rows.jsonl", r":3: duplicate row for model 'm', question_id '0' "
                                         r"\(first at line 1\)"),
        ("samples_gold_conflict.jsonl", r":2: field 'gold' is '2' but line 1 has '1'"),
    ],
)
def test_malformed_fixture_is_user_error_naming_file_and_line(name, message):
    path = fixture(name)
    with pytest.raises(UserError, match=re.escape(str(path)) + message):
        load_samples(path)


ROW = ('{"task": "t", "question_id": "0", "model": "m", "gold": "1", '
       '"answers": ["1", "2"], "is_correct": [true, false]}')


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r": no rows"),
        ("[1, 2]\n", r":1: expected a JSON object, got list"),
        (ROW.replace('"gold": "1", ', "") + "\n", r":1: field 'gold' is missing"),
        (ROW.replace('"gold": "1"', '"gold": " "') + "\n", r":1: field 'gold' is empty"),
        (ROW.replace('["1", "2"]', '"12"') + "\n", r":1: field 'answers' must be a list"),
        (ROW.replace("[true, false]", '[true, "false"]') + "\n",
         r":1: field 'is_correct\[1\]' must be a boolean"),
        (ROW.replace("[true, false]", "[true]") + "\n",
         r":1: field 'is_correct' has 1 entries but 'answers' has 2"),
        (ROW.replace("[true, false]", "[true, true]") + "\n",
         r":1: field 'is_correct\[1\]' is true but answer \"2\" differs from gold \"1\""),
        (ROW + "\n" + ROW.replace('"t"', '"u"').replace('"0"', '"1"') + "\n",
         r":2: field 'task' is 'u' but .*:1 has 't'"),
    ],
)
def test_malformed_rows_are_user_errors(tmp_path, text, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=re.escape(str(path)) + message):
        load_samples(path)


def test_missing_file_is_user_error(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_samples(tmp_path / "absent.jsonl")


def test_not_utf8_is_user_error(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b'{"task": "\xe9"}\n')
    with pytest.raises(UserError, match="not UTF-8"):
        load_samples(path)


def test_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "blank.jsonl"
    path.write_text("\n" + ROW + "\n\n", encoding="utf-8")
    np.testing.assert_array_equal(load_samples(path).samples, [[[0, 1]]])


# --------------------------------------------------------------------------- splits


def test_split_samples_first_and_rest():
    full = load_samples(fixture("samples_good.jsonl"))
    fit, held = split_samples(full, 3)
    np.testing.assert_array_equal(fit.samples, GOOD_SAMPLES[:, :, :3])
    np.testing.assert_array_equal(held.samples, GOOD_SAMPLES[:, :, 3:])
    assert fit.slot_labels == held.slot_labels == full.slot_labels


@pytest.mark.parametrize("bad", [0, 4, -1, 2.5])
def test_split_samples_rejects_empty_parts(bad):
    with pytest.raises(ValueError, match="fit_samples"):
        split_samples(load_samples(fixture("samples_good.jsonl")), bad)


def _twenty_questions() -> SampleSet:
    ids = tuple(str(i) for i in range(20))
    samples = np.arange(20).reshape(1, 20, 1) % 2
    return SampleSet("t", ("m",), ids, (("1", None),) * 20, samples, 2, None)


def test_split_questions_partitions_and_is_seeded():
    sample_set = _twenty_questions()
    first, rest = split_questions(sample_set, 0.25, 7)
    assert len(first.question_ids) == 5 and len(rest.question_ids) == 15
    assert sorted(first.question_ids + rest.question_ids, key=int) == list(sample_set.question_ids)
    # Each part keeps the original order.
    assert list(first.question_ids) == sorted(first.question_ids, key=int)
    again, _ = split_questions(sample_set, 0.25, 7)
    assert again.question_ids == first.question_ids
    other = {split_questions(sample_set, 0.25, seed)[0].question_ids for seed in range(5)}
    assert len(other) > 1
    # Samples travel with their question.
    for part in (first, rest):
        np.testing.assert_array_equal(
            part.samples[0, :, 0], [int(q) % 2 for q in part.question_ids]
        )


def test_split_questions_with_jax_key():
    import jax

    sample_set = _twenty_questions()
    first, rest = split_questions(sample_set, 0.5, jax.random.PRNGKey(3))
    again, _ = split_questions(sample_set, 0.5, jax.random.PRNGKey(3))
    assert first.question_ids == again.question_ids
    assert len(first.question_ids) == 10
    assert set(first.question_ids).isdisjoint(rest.question_ids)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.01])
def test_split_questions_rejects_empty_parts(fraction):
    with pytest.raises(ValueError, match="empty"):
        split_questions(_twenty_questions(), fraction, 0)


# --------------------------------------------------------------------------- greedy files


def test_greedy_numbers_with_correct_field_and_missing_row():
    with pytest.warns(MissingSamplesWarning, match="'g-3', question_id 'toy-#1'"):
        sample_set = load_greedy(fixture("greedy_numbers.jsonl"))
    assert sample_set.models == ("g-1", "g-2", "g-3")
    assert sample_set.question_ids == ("toy-#0", "toy-#1")
    # q0: no wrong answer; q1: "4" (shared by g-1 and g-2) -> slot 1. A = 3, ⊥ = 2.
    # "18.00" is numerically the gold "18".
    assert sample_set.slot_labels == (("18", "", None), ("3", "4", None))
    np.testing.assert_array_equal(sample_set.samples, [[[0], [1]], [[2], [1]], [[0], [-1]]])


def test_greedy_model_subset_keeps_only_its_questions():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sample_set = load_greedy(fixture("greedy_numbers.jsonl"), models=["g-3"])
    assert sample_set.question_ids == ("toy-#0",)
    assert sample_set.num_answers == 2  # no wrong answer among the loaded models
    np.testing.assert_array_equal(sample_set.samples, [[[0]]])


def test_greedy_letters_without_correct_field():
    sample_set = load_greedy(fixture("greedy_letters.jsonl"))
    assert sample_set.slot_labels == (("I", "B", None), ("F", "D", None))
    np.testing.assert_array_equal(sample_set.samples, [[[0], [1]], [[1], [2]]])


def test_greedy_correct_mismatch(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text(
        '{"task": "g", "question_id": "0", "model": "m", "gold": "3", "answer": "3", '
        '"correct": false}\n',
        encoding="utf-8",
    )
    with pytest.raises(UserError, match=re.escape(f"{path}:1: field 'correct' is false")):
        load_greedy(path)


def test_greedy_missing_answer_field(tmp_path):
    path = tmp_path / "g.jsonl"
    path.write_text('{"task": "g", "question_id": "0", "model": "m", "gold": "3"}\n')
    with pytest.raises(UserError, match=re.escape(f"{path}:1: field 'answer' is missing")):
        load_greedy(path)


# --------------------------------------------------------------------------- correctness files


def test_correctness_good():
    correctness = load_correctness(fixture("correctness_good.jsonl"))
    assert correctness.task == "toy-test"
    assert correctness.models == ("z-model", "a-model")
    assert correctness.question_ids == ("0", "1")
    assert correctness.questions == ("How many eggs?", "How many ducks?")
    np.testing.assert_array_equal(correctness.n_correct, [[7, 0], [10, 3]])
    np.testing.assert_array_equal(correctness.n, [[10, 10], [10, 10]])
    np.testing.assert_array_equal(
        correctness_to_counts(correctness),
        [[[7, 3, 0], [0, 10, 0]], [[10, 0, 0], [3, 7, 0]]],
    )


def test_correctness_select():
    correctness = load_correctness(fixture("correctness_good.jsonl"))
    part = correctness.select(models=["a-model"], questions=["1"])
    assert part.questions == ("How many ducks?",)
    np.testing.assert_array_equal(part.n_correct, [[3]])
    loaded = load_correctness(fixture("correctness_good.jsonl"), models=["a-model"],
                              question_ids=[1])
    np.testing.assert_array_equal(loaded.n_correct, [[3]])


def test_correctness_out_of_range():
    path = fixture("correctness_out_of_range.jsonl")
    with pytest.raises(UserError, match=re.escape(f"{path}:2: field 'n_correct' is 11")):
        load_correctness(path)


def test_correctness_text_conflict_and_duplicate(tmp_path):
    row = ('{"task": "t", "question_id": "0", "question": "%s", "model": "%s", '
           '"n_correct": 1, "n": 2}\n')
    path = tmp_path / "c.jsonl"
    path.write_text(row % ("A?", "m") + row % ("B?", "n"))
    with pytest.raises(UserError, match=re.escape(f"{path}:2: field 'question' differs")):
        load_correctness(path)
    path.write_text(row % ("A?", "m") + row % ("A?", "m"))
    with pytest.raises(UserError, match=re.escape(f"{path}:2: duplicate row")):
        load_correctness(path)


# --------------------------------------------------------------------------- real data


def _real(relative: str) -> Path:
    from slmmux_run.data.paths import data_dir

    try:
        folder = data_dir()
    except UserError:
        pytest.skip("shared data folder absent")
    path = folder / relative
    if not path.is_file():
        pytest.skip(f"{relative} absent")
    return path


# From the data README, section B: (mean sample acc, frac 10 identical, mean # distinct answers,
# questions with 10/10 correct, null answers, majority-vote acc).
README_SAMPLES = {
    "Ministral-8B-Instruct-2410": (0.8944, 0.656, 1.544, 163, 8, 0.944),
    "Mistral-Nemo-Instruct-2407": (0.8508, 0.572, 1.848, 139, 12, 0.920),
    "Mistral-Small-3.2-24B-Instruct-2506": (0.9544, 0.948, 1.060, 231, 0, 0.956),
    "Magistral-Small-2507": (0.9528, 0.904, 1.136, 219, 0, 0.968),
    "gemma-3-27b-it": (0.9424, 0.948, 1.076, 227, 0, 0.948),
    "Qwen3-30B-A3B-Instruct-2507": (0.9584, 0.972, 1.040, 236, 0, 0.960),
    "Qwen3-30B-A3B-Thinking-2507": (0.9096, 0.724, 1.032, 176, 134, 0.960),
    "gpt-oss-20b": (0.9440, 0.904, 1.096, 220, 15, 0.956),
    "DeepSeek-R1-Distill-Qwen-32B": (0.9328, 0.880, 1.128, 214, 12, 0.944),
    "Llama-4-Scout-17B-16E-Instruct": (0.9660, 0.976, 1.032, 239, 0, 0.964),
    "Llama-3.3-70B-Instruct": (0.9728, 0.980, 1.020, 240, 0, 0.972),
    "DeepSeek-R1-Distill-Llama-70B": (0.9492, 0.844, 1.184, 207, 0, 0.960),
    "gpt-oss-120b": (0.9476, 0.964, 1.052, 232, 2, 0.944),
}
SAMPLES_FILE = "samples/gsm8k_train_250x10_13models.jsonl"


def test_real_samples_shape_and_readme_table():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real file is complete: no padding
        sample_set = load_samples(_real(SAMPLES_FILE), models=list(README_SAMPLES))
    assert sample_set.samples.shape == (13, 250, 10)
    assert sample_set.question_ids == tuple(str(i) for i in range(250))
    assert sample_set.task == "gsm8k-train"
    counts = sample_set.counts
    abstain = sample_set.abstain_slot
    answered = counts[:, :, :abstain]  # every slot but ⊥
    top = answered.max(axis=2)
    unique_top = (answered == top[..., None]).sum(axis=2) == 1
    for m, (accuracy, identical, distinct, all_correct, nulls, majority) in enumerate(
        README_SAMPLES.values()
    ):
        assert round(counts[m, :, 0].sum() / 2500, 4) == accuracy
        assert round(float(np.mean(top[m] == 10)), 3) == identical
        assert round(float(np.mean((answered[m] > 0).sum(axis=1))), 3) == distinct
        assert int(np.sum(counts[m, :, 0] == 10)) == all_correct
        assert int(counts[m, :, abstain].sum()) == nulls
        wins = (answered[m].argmax(axis=1) == 0) & unique_top[m] & (top[m] > 0)
        assert round(float(np.mean(wins)), 3) == majority


def test_real_samples_mean_over_models():
    counts = load_samples(_real(SAMPLES_FILE)).counts
    assert round(counts[:, :, 0].sum() / counts.sum(), 4) == 0.9366


def test_real_samples_cap_keeps_correct_and_null_counts():
    full = load_samples(_real(SAMPLES_FILE))
    capped = load_samples(_real(SAMPLES_FILE), max_wrong_slots=2)
    assert capped.num_answers == 5 and full.num_answers > 5
    np.testing.assert_array_equal(capped.counts[:, :, 0], full.counts[:, :, 0])
    np.testing.assert_array_equal(capped.counts[:, :, -1], full.counts[:, :, -1])
    np.testing.assert_array_equal(capped.counts.sum(axis=2), full.counts.sum(axis=2))


# From the data README, section C: test mean accuracy and fraction of questions with 10/10.
README_ROUTERDC_TEST = {
    "HuggingFaceH4/zephyr-7b-beta": (0.3300, 0.104),
    "cognitivecomputations/dolphin-2.6-mistral-7b": (0.5238, 0.267),
    "cognitivecomputations/dolphin-2.9-llama3-8b": (0.6981, 0.490),
    "itpossible/Chinese-Mistral-7B-v0.1": (0.4103, 0.187),
    "meta-llama/Meta-Llama-3-8B": (0.4776, 0.191),
    "meta-math/MetaMath-Mistral-7B": (0.6963, 0.560),
    "mistralai/Mistral-7B-v0.1": (0.3671, 0.127),
}


def test_real_routerdc_test_table():
    correctness = load_correctness(
        _real("correctness/routerdc_gsm8k_test_7models.jsonl"), models=list(README_ROUTERDC_TEST)
    )
    assert correctness.n_correct.shape == (7, 1319)
    assert np.all(correctness.n == 10)
    for m, (accuracy, all_correct) in enumerate(README_ROUTERDC_TEST.values()):
        assert round(correctness.n_correct[m].sum() / (10 * 1319), 4) == accuracy
        assert round(float(np.mean(correctness.n_correct[m] == 10)), 3) == all_correct
    # README: oracle "some model has >= 1 correct sample" on test = 0.9545.
    assert round(float(np.mean(correctness.n_correct.max(axis=0) >= 1)), 4) == 0.9545


def test_real_zeroeval_accuracies():
    path = _real("greedy/zeroeval_gsm8k_test.jsonl")
    sample_set = load_greedy(
        path, models=["claude-3-5-sonnet-20240620", "gemma-2-2b-it", "Phi-3.5-mini-instruct"]
    )
    assert sample_set.samples.shape == (3, 1319, 1)
    accuracy = (sample_set.samples[:, :, 0] == 0).mean(axis=1).round(4)
    np.testing.assert_array_equal(accuracy, [0.9560, 0.5163, 0.8264])


@pytest.mark.slow  # parses the 30 MB MMLU-Pro file twice
def test_real_mmlu_gold_conflict_and_agreeing_models():
    path = _real("greedy/mmlu_pro_small_models.jsonl")
    with pytest.raises(UserError, match="field 'gold' .* question_id '143'"):
        load_greedy(path, models=["Llama-2-7b-hf", "Meta-Llama-3_1-8B"])
    sample_set = load_greedy(path, models=["Llama-2-7b-hf", "Yi-6B"])
    assert sample_set.samples.shape == (2, 12032, 1)
    accuracy = (sample_set.samples[:, :, 0] == 0).mean(axis=1).round(4)
    np.testing.assert_array_equal(accuracy, [0.1834, 0.2497])
    no_answer = (sample_set.samples[:, :, 0] == sample_set.abstain_slot).mean(axis=1).round(4)
    np.testing.assert_array_equal(no_answer, [0.1713, 0.1338])


# --------------------------------------------------------------------------- experiment script


def test_data_summary_script_on_fixture(tmp_path):
    folder = tmp_path / "data" / "samples"
    folder.mkdir(parents=True)
    (folder / "gsm8k_train_250x10_13models.jsonl").write_bytes(
        fixture("samples_good.jsonl").read_bytes()
    )
    result = subprocess.run(
        [sys.executable, "-m", "experiments.data_summary.run", "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # m-b: accuracy 7/12; q "2" has 4 identical of 4; majority: q "0" (0 twice vs 70 once) and
    # q "2" win, q "10" loses (2 twice) -> 2/3.
    line = next(line for line in result.stdout.splitlines() if line.startswith("m-b"))
    assert line.split()[1:4] == ["0.5833", "0.333", "2.000"]
    assert line.split()[-1] == "0.667"
