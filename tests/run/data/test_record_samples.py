"""Tests of slmmux_run.data.record_samples: ``collect``'s records -> one sample set.

Expected slots are worked out by hand in the comments, never by the code under test.
"""

from __future__ import annotations

import pytest

from slmmux_run.replay_report import failure_summary
from slmmux_run.data.record_samples import load_records
from slmmux_run.data.records import Record
from tests.run.hand_records import hand_records
from slmmux_run.errors import UserError



def test_load_records_builds_shared_slots_with_failures_as_abstentions():
    loaded = load_records(hand_records())
    sample_set = loaded.sample_set
    assert sample_set.models == ("a", "b") and sample_set.question_ids == ("q1", "q2", "q3")
    # q1 wrong: "8" (4 times); q2 wrong: "4" (2), "6" (1); q3 wrong: "2" (2), "1" (1). A = 4.
    assert sample_set.num_answers == 4
    assert sample_set.slot_labels == (("7", "8", "", None), ("5", "4", "6", None),
                                      ("9", "2", "1", None))  # fmt: skip
    assert sample_set.samples.tolist() == [
        [[0, 0, 1], [0, 0, 0], [0, 3, 3]],
        [[1, 1, 1], [1, 2, 1], [2, 1, 1]],
    ]
    assert loaded.failed.sum() == 1 and loaded.failed[0, 2, 1]
    assert loaded.abstained.sum() == 1 and loaded.abstained[0, 2, 2]
    summary = failure_summary(loaded)
    assert summary["a"]["failed"] == 1 and summary["a"]["abstained"] == 1
    # 2 + 3 + 1 right samples of 9; the failure counts wrong.
    assert summary["a"]["per_sample_accuracy"] == pytest.approx(6 / 9)


def test_the_graders_verdict_decides_and_without_it_the_one_rule():
    # "7.0" graded wrong upstream stays wrong (a wrong slot of its own); ungraded, the one
    # rule (equal decimals) makes it correct.
    rows = [Record("t", "q", "m", "v", i, answer=a, extra={"gold": "7"} | extra)
            for i, (a, extra) in enumerate([("7.0", {"correct": False}), ("7.0", {}),
                                            ("x", {"correct": True})])]  # fmt: skip
    sample_set = load_records(rows).sample_set
    assert sample_set.samples.tolist() == [[[1, 0, 0]]]
    assert sample_set.slot_labels == (("7", "7.0", None),)


def test_errors_name_the_problem():
    records = hand_records()
    with pytest.raises(UserError, match=r"model 'c' has no records"):
        load_records(records, models=["a", "c"])
    with pytest.raises(UserError, match=r"tasks \['other', 'toy'\]; choose one"):
        load_records([*records, Record("other", "q", "a", "v1", 0, answer="1")])
    conflict = Record("toy", "q1", "b", "v1", 3, answer="7", extra={"gold": "8"})
    with pytest.raises(UserError, match=r"r\.jsonl: field 'gold' is '8' but model 'a' has '7'"):
        load_records([*records, conflict], source="r.jsonl")
    bad = Record("toy", "q1", "b", "v1", 3, answer="7", extra={"gold": "7", "correct": "false"})
    with pytest.raises(UserError, match=r"field 'extra\.correct' must be a boolean"):
        load_records([*records, bad])
