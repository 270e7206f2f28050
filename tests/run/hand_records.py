"""Two models' records on three questions, worked by hand: shared by the records-loading and replay tests."""

from __future__ import annotations

from slmmux_run.data.records import Record

# Three questions, gold 7 / 5 / 9; models a and b, three samples each.
#   q1: a = 7 7 8 (mode 7, 2/3)          b = 8 8 8 (mode 8, 3/3)
#   q2: a = 5 5 5 (mode 5, 3/3)          b = 4 6 4 (mode 4, 2/3)
#   q3: a = 9 FAIL None (mode 9, 1/3)    b = 1 2 2 (mode 2, 2/3)
ANSWERS = {
    ("q1", "a"): ["7", "7", "8"], ("q1", "b"): ["8", "8", "8"],
    ("q2", "a"): ["5", "5", "5"], ("q2", "b"): ["4", "6", "4"],
    ("q3", "a"): ["9", "FAIL", None], ("q3", "b"): ["1", "2", "2"],
}  # fmt: skip
GOLD = {"q1": "7", "q2": "5", "q3": "9"}


def hand_records() -> list[Record]:
    records = []
    for (question, model), answers in ANSWERS.items():
        for index, answer in enumerate(answers):
            failed = answer == "FAIL"
            records.append(Record(
                "toy", question, model, "v1", index, text=None if failed else f"{answer}",
                answer=None if failed else answer, error="HTTP 500" if failed else None,
                extra={"gold": GOLD[question]}
                | ({} if failed else {"correct": answer == GOLD[question]}),
            ))  # fmt: skip
    return records
