"""Tests for slmmux_run.sampling.tasks: prompts, loaders (shared and user-supplied files), task wiring."""

from __future__ import annotations

import json

import pytest

from slmmux_run.errors import UserError
from slmmux_run.sampling.extract import get_extractor
from slmmux_run.data.paths import data_dir
from slmmux_run.sampling.tasks import (
    GSM8K_CHAT,
    GSM8K_COMPLETION,
    MATH_CHAT,
    MULTIPLE_CHOICE_CHAT,
    NUMERIC_CHAT,
    NUMERIC_COMPLETION,
    Item,
    Task,
    format_choices,
    gpqa_task,
    gsm8k_task,
    load_gpqa,
    load_math_500,
    load_mmlu_pro,
    load_numeric_problems,
    math_task,
    mmlu_pro_task,
    numeric_task,
)

TEMPLATES = [GSM8K_CHAT, GSM8K_COMPLETION, MATH_CHAT, MULTIPLE_CHOICE_CHAT, NUMERIC_CHAT,
             NUMERIC_COMPLETION]  # fmt: skip
PLAIN_ITEM = Item("q", {"question": "How many?", "choices": ("one", "two")}, "1", "1", "AB")


def _shared_data_available() -> bool:
    try:
        data_dir()
    except UserError:
        return False
    return True


needs_data = pytest.mark.skipif(not _shared_data_available(), reason="no shared data directory")


def _texts(rendered) -> list[str]:
    if rendered.style == "completion":
        return [rendered.prompt]
    return [message["content"] for message in rendered.messages]


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.version for t in TEMPLATES])
def test_prompts_have_real_newlines_and_single_backslashes(template):
    rendered = template.render(PLAIN_ITEM)
    assert rendered.prompt_version == template.version
    for text in _texts(rendered):
        assert "\\n" not in text  # a literal backslash-n is the METHODS §8.5 pitfall
        assert "\\\\" not in text
    assert any("\n" in text for text in _texts(rendered))
    if template is MATH_CHAT:
        assert all("\\boxed{" in text for text in _texts(rendered))


def test_versions_are_distinct():
    assert len({template.version for template in TEMPLATES}) == len(TEMPLATES)


def test_completion_prompts_are_two_shot_with_newline_stop():
    for template in (GSM8K_COMPLETION, NUMERIC_COMPLETION):
        rendered = template.render(PLAIN_ITEM)
        assert rendered.messages is None and rendered.stop == ("\n",)
        assert rendered.prompt.count("Question:") == 3 and rendered.prompt.count("Answer:") == 3
        assert rendered.prompt.endswith("Question: How many?\nAnswer:")


def test_braces_in_questions_are_not_placeholders():
    item = Item("q", {"question": r"Is {choices} \frac{1}{2}? {question}"}, "1", "1")
    content = MATH_CHAT.render(item).messages[-1]["content"]
    assert r"Is {choices} \frac{1}{2}? {question}" in content


def test_multiple_choice_prompt_lists_choices_with_letters():
    content = MULTIPLE_CHOICE_CHAT.render(PLAIN_ITEM).messages[-1]["content"]
    assert "A) one\nB) two" in content and "##Answer: X##" in content


def test_format_choices_keeps_existing_prefixes():
    assert format_choices(["A) x", "B) y"]) == "A) x\nB) y"
    assert format_choices(["x", "B) y"]) == "A) x\nB) B) y"


# ---- shared data -----------------------------------------------------------------------------


@needs_data
def test_gsm8k_500_items_and_modes():
    robust, reference = gsm8k_task("robust"), gsm8k_task("reference")
    assert len(robust.items) == 500 and len({i.question_id for i in robust.items}) == 500
    by_reference = {item.reference: item for item in robust.items}
    assert by_reference["40,000"].gold == "40000"
    reference_golds = {item.reference: item.gold for item in reference.items}
    assert reference_golds["40,000"] == "40000"
    item = by_reference["40,000"]
    # The same response is right in robust mode and wrong in reference mode ("#### 40,000" -> "40").
    reference_item = next(i for i in reference.items if i.question_id == item.question_id)
    response = "So the total is #### 40,000"
    assert robust.grade(robust.extract(response, item).answer, item).correct
    assert not reference.grade(
        reference.extract(response, reference_item).answer, reference_item
    ).correct


@needs_data
def test_gsm8k_completion_style_uses_lenient_extractor():
    task = gsm8k_task(style="completion", n_questions=2)
    assert len(task.items) == 2
    assert task.extractor.name == "lenient_number"
    assert task.render(task.items[0]).stop == ("\n",)


@needs_data
def test_math_500_items():
    items = load_math_500()
    assert len(items) == 500 and len({i.question_id for i in items}) == 500
    assert all(item.gold for item in items)
    task = math_task(n_questions=3, grading_layers=("exact", "symbolic"))
    item = task.items[0]
    assert task.grade(task.extract(rf"so \boxed{{{item.reference}}}", item).answer, item).correct


@needs_data
def test_mmlu_pro_filters_and_letters():
    items = load_mmlu_pro(categories=["math"], limit=20)
    assert len(items) == 20
    for item in items:
        assert len(item.letters) == len(item.inputs["choices"]) and item.gold in item.letters
    task = mmlu_pro_task(n_questions=1)
    item = task.items[0]
    assert task.extract(f"##Answer: {item.gold}##", item).answer == item.gold


# ---- user-supplied files ---------------------------------------------------------------------


def _write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_gpqa_jsonl_and_json_array(tmp_path):
    rows = [
        {"id": "g1", "question": "Q1?", "choices": ["w", "x", "y", "z"], "answer": "C"},
        {"question": "Q2?", "choices": ["(A) p", "(B) q"], "answer": 1},
    ]
    items = load_gpqa(_write_jsonl(tmp_path / "gpqa.jsonl", rows))
    assert [i.question_id for i in items] == ["g1", "gpqa-0001"]
    assert [i.gold for i in items] == ["C", "B"] and [i.letters for i in items] == ["ABCD", "AB"]
    array = tmp_path / "gpqa.json"
    array.write_text(json.dumps(rows), encoding="utf-8")
    assert load_gpqa(array) == items
    task = gpqa_task(array)
    assert task.extract("##Answer: D##", task.items[1]).answer is None  # D is not a choice here


@pytest.mark.parametrize(
    "row, needle",
    [
        ({"choices": ["a", "b"], "answer": "A"}, "missing field 'question'"),
        ({"question": "Q", "choices": "ab", "answer": "A"}, "field 'choices'"),
        ({"question": "Q", "choices": ["a"], "answer": "A"}, "field 'choices'"),
        ({"question": "Q", "choices": ["a", "b"], "answer": "E"}, "field 'answer'"),
        ({"question": "Q", "choices": ["a", "b"], "answer": 5}, "field 'answer'"),
        ({"question": "Q", "choices": ["a", "b"]}, "missing field 'answer'"),
    ],
)
def test_gpqa_errors_name_file_line_and_field(tmp_path, row, needle):
    good = {"question": "Q", "choices": ["a", "b"], "answer": "A"}
    path = _write_jsonl(tmp_path / "bad.jsonl", [good, row])
    with pytest.raises(UserError) as error:
        load_gpqa(path)
    message = str(error.value)
    assert f"{path}:2" in message and needle in message and "\n" not in message


def test_gpqa_broken_json_and_missing_file(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"question": "Q", "choices": ["a", "b"], "answer": "A"}\n{"question": \n')
    with pytest.raises(UserError, match=r"broken.jsonl:2: invalid JSON"):
        load_gpqa(path)
    with pytest.raises(UserError, match="does not exist"):
        load_gpqa(tmp_path / "absent.jsonl")
    duplicate = _write_jsonl(tmp_path / "dup.jsonl", [
        {"id": "x", "question": "Q", "choices": ["a", "b"], "answer": "A"},
        {"id": "x", "question": "R", "choices": ["a", "b"], "answer": "B"},
    ])  # fmt: skip
    with pytest.raises(UserError, match="repeats the question id 'x'"):
        load_gpqa(duplicate)


def test_numeric_problems_svamp_and_plain(tmp_path):
    svamp = tmp_path / "svamp.json"
    svamp.write_text(json.dumps([
        {"ID": "chal-1", "Body": "Jack had 8 pens.", "Question": "How many pens?", "Answer": 8.0},
        {"ID": "chal-2", "Body": "A tank holds 2.50 l.", "Question": "How much?", "Answer": "2.50"},
    ]), encoding="utf-8")  # fmt: skip
    items = load_numeric_problems(svamp)
    assert [i.gold for i in items] == ["8", "2.5"]
    assert items[0].inputs["question"] == "Jack had 8 pens. How many pens?"
    task = numeric_task(svamp, style="completion")
    assert task.grade(task.extract(" 8 pens", items[0]).answer, items[0]).correct
    bad = _write_jsonl(tmp_path / "bad.jsonl", [{"question": "Q", "answer": "eight"}])
    with pytest.raises(UserError, match=r"bad.jsonl:1: field 'answer'"):
        load_numeric_problems(bad)


def test_task_head_keeps_configuration():
    items = (PLAIN_ITEM, Item("r", {"question": "x"}, "2", "2"))
    full = Task("toy", items, NUMERIC_CHAT, get_extractor("lenient_number"), ("exact",))
    head = full.head(1)
    assert (
        head.items == items[:1] and head.prompt is full.prompt and head.extractor == full.extractor
    )
