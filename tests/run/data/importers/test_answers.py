"""The shared importer helpers: the answer format of a task name, gold from a reference."""

from __future__ import annotations

import pytest

from slmmux_run.data.importers.answers import answer_format, extract_answer, gold_answer
from slmmux_run.errors import UserError


@pytest.mark.parametrize("task, family", [
    ("gsm8k_cot_self_consistency", "gsm8k"), ("inspect_evals/gsm8k", "gsm8k"),
    ("hendrycks_math_algebra", "math"), ("aime2024", "math"), ("minerva_math", "math"),
    ("mmlu_pro", "multiple_choice"), ("gpqa_diamond", "multiple_choice"),
    ("arc_challenge", "multiple_choice"), ("svamp", "lenient_number"),
])  # fmt: skip
def test_the_answer_format_is_guessed_from_the_task_name(task, family):
    assert answer_format(task) == family


def test_an_unknown_name_or_format_is_a_user_error():
    with pytest.raises(UserError, match=r"f\.jsonl: cannot tell the answer format of task 'x'"):
        answer_format("x", source="f.jsonl")
    with pytest.raises(UserError, match="answer format 'words' is unknown"):
        answer_format("gsm8k", "words")
    assert answer_format("x", "math") == "math"


@pytest.mark.parametrize("family, reference, gold", [
    ("gsm8k", "She has 3 + 4 = 7 left.\n#### 7", "7"),
    ("gsm8k", "#### 1,000", "1000"),
    ("gsm8k", "18", "18"),
    ("math", r"\boxed{\dfrac{1}{2}}", r"\frac{1}{2}"),
    ("math", "070", "70"),
    ("multiple_choice", "(b)", "B"),
    ("multiple_choice", 3, "D"),
    ("multiple_choice", 12, None),
    ("multiple_choice", "maybe", None),
    ("lenient_number", "8.0", "8"),
    ("gsm8k", "   ", None),
])  # fmt: skip
def test_a_reference_is_read_as_the_task_s_gold(family, reference, gold):
    assert gold_answer(family, reference) == gold


def test_extraction_is_the_package_s_and_none_is_abstention():
    assert extract_answer("gsm8k", "so #### 1,000") == "1000"
    assert extract_answer("multiple_choice", "##Answer: C##", "ABCD") == "C"
    assert extract_answer("gsm8k", None) is None
