"""Tests of slmmux_run.data.slots: the one correctness rule and the one slot builder.

Expected slots are worked out by hand in the comments, never by the code under test.
"""

from __future__ import annotations

import pytest

from slmmux_run.data.slots import SampleAnswer, build_sample_set, is_correct, same_number
from slmmux_run.errors import UserError
from slmmux_run.sampling.grade import grade_exact


@pytest.mark.parametrize(
    "answer, gold, graded, expected",
    [
        ("7", "7", None, True),
        ("7.00", "7", None, True),  # equal plain decimals (rule N1 of the shared data)
        ("-.5", "-0.5", None, True),
        ("1/2", "0.5", None, False),  # not a plain decimal: the exact layer decides
        ("8", "7", None, False),
        (None, "7", None, False),  # ⊥ is never correct
        (None, "7", True, False),  # ... not even with an upstream verdict
        ("7", None, None, False),  # no reference, no verdict
        ("x", "7", True, True),  # the grader's verdict (e.g. its symbolic layer) decides
        ("7", "7", False, False),
    ],
)
def test_is_correct(answer, gold, graded, expected):
    assert is_correct(answer, gold, graded=graded) is expected


def test_is_correct_is_the_graders_exact_layer_on_non_numbers():
    cases = [("a", "a"), ("a", "b"), (r"\frac{1}{2}", r"\frac{1}{2}"), ("(3,4)", "(3, 4)")]
    for answer, gold in cases:
        assert is_correct(answer, gold) == grade_exact(answer, gold).correct


def test_a_verdict_must_be_a_real_boolean():
    with pytest.raises(TypeError, match="boolean"):
        is_correct("7", "7", graded="false")
    rows = [SampleAnswer("m", "q", 0, "7", "7", "false", False, 12)]
    with pytest.raises(UserError, match=r"^f\.jsonl:12: field 'extra\.correct' must be a boolean"):
        build_sample_set("t", rows, models=["m"], question_ids=["q"], source="f.jsonl")


def test_same_number():
    assert same_number("18.00", "18") and same_number("1e2", "100")
    assert not same_number("18", "19") and not same_number("x", "18")


def _rows(cells: dict, gold: dict, failed=()) -> list[SampleAnswer]:
    return [
        SampleAnswer(model, question, i, answer, gold[question], None, (model, question, i) in failed)
        for (question, model), answers in cells.items()
        for i, answer in enumerate(answers)
    ]


def test_slots_shared_by_frequency_then_first_appearance():
    # q: gold 5. Wrong answers in scan order (model a, then b; samples in order):
    #   a: 4 6 5.0   b: 6 4 3 -> "4" 2x (first at a0), "6" 2x (first at a1), "3" 1x.
    #   Ties broken by first appearance: 4 -> 1, 6 -> 2, 3 -> 3; "5.0" is correct (slot 0).
    rows = _rows({("q", "a"): ["4", "6", "5.0"], ("q", "b"): ["6", "4", "3"]}, {"q": "5"})
    built = build_sample_set("t", rows, models=["a", "b"], question_ids=["q"])
    assert built.sample_set.slot_labels == (("5", "4", "6", "3", None),)
    assert built.sample_set.samples.tolist() == [[[1, 2, 0]], [[2, 1, 3]]]
    # Loading b first changes the first appearances: 6 -> 1, 4 -> 2.
    built = build_sample_set("t", rows, models=["b", "a"], question_ids=["q"])
    assert built.sample_set.slot_labels == (("5", "6", "4", "3", None),)


def test_failures_are_bottom_and_flagged_and_padding_and_missing():
    # q1: a = 7 FAIL ; b = 8   -> wrong "8" (the failed sample's answer is not counted)
    # q2: a = None 2 ; b = (none) -> wrong "2"; q1 gets no padding, A = 3.
    rows = _rows({("q1", "a"): ["7", "9"], ("q1", "b"): ["8"], ("q2", "a"): [None, "2"]},
                 {"q1": "7", "q2": "1"}, failed={("a", "q1", 1)})  # fmt: skip
    built = build_sample_set("t", rows, models=["a", "b"], question_ids=["q1", "q2"])
    sample_set = built.sample_set
    assert sample_set.num_answers == 3
    assert sample_set.slot_labels == (("7", "8", None), ("1", "2", None))
    assert sample_set.samples.tolist() == [[[0, 2], [2, 1]], [[1, -1], [-1, -1]]]
    assert built.failed.tolist() == [[[False, True], [False, False]], [[False, False]] * 2]


def test_max_wrong_slots_merges_the_rarest():
    # gold 1; wrong 2 (3x), 3 (2x), 4 (1x), 5 (1x); keep 2 -> 4 and 5 share "other wrong".
    rows = _rows({("q", "m"): ["2", "2", "2", "3", "3", "4", "5", "1"]}, {"q": "1"})
    built = build_sample_set("t", rows, models=["m"], question_ids=["q"], max_wrong_slots=2)
    assert built.sample_set.other_wrong_slot == 3
    assert built.sample_set.slot_labels == (("1", "2", "3", "<other wrong>", None),)
    assert built.sample_set.samples.tolist() == [[[1, 1, 1, 2, 2, 3, 3, 0]]]


def test_two_golds_on_one_question_is_an_error():
    rows = [SampleAnswer("a", "q", 0, "1", "1", line=3), SampleAnswer("b", "q", 0, "1", "2", line=9)]
    with pytest.raises(UserError, match=r"^f:9: field 'gold' is '2' but line 3 has '1'"):
        build_sample_set("t", rows, models=["a", "b"], question_ids=["q"], source="f")


def test_a_question_without_samples_is_an_error():
    rows = _rows({("q", "a"): ["1"]}, {"q": "1"})
    with pytest.raises(UserError, match="question_id 'other' has no row"):
        build_sample_set("t", rows, models=["a"], question_ids=["q", "other"])
