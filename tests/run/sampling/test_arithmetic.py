"""Tests for slmmux_run.sampling.arithmetic: determinism, ids, difficulty knobs, independent gold check."""

from __future__ import annotations

import ast
import operator
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slmmux_run.sampling.arithmetic import PRESETS, generate_problems, make_arithmetic_task, make_preset_task
from slmmux_run.errors import UserError

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def evaluate_bare(question: str) -> int:
    """Independent gold for "What is <expression>?": parse with ``ast`` and evaluate."""
    match = re.fullmatch(r"What is (.+)\?", question)
    assert match, question

    def walk(node):
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        raise AssertionError(f"unexpected node {ast.dump(node)}")

    return walk(ast.parse(match.group(1).replace("×", "*"), mode="eval").body)


def evaluate_story(question: str) -> int:
    """Independent gold for a word problem: follow the protagonist's sentences."""
    sentences = re.findall(r"[^.?]+[.?]", question)
    protagonist = re.match(r"(\w+) has (\d+) (\w+)\.", sentences[0])
    name, value, thing = protagonist.group(1), int(protagonist.group(2)), protagonist.group(3)
    for sentence in sentences[1:-1]:
        sentence = sentence.strip()
        if m := re.fullmatch(rf"Then {name} gets (\d+) more {thing}\.", sentence):
            value += int(m.group(1))
        elif m := re.fullmatch(rf"Then {name} gives away (\d+) {thing}\.", sentence):
            value -= int(m.group(1))
        elif m := re.fullmatch(
            rf"Then the number of {thing} {name} has becomes (\d+) times as large\.", sentence
        ):
            value *= int(m.group(1))
        else:
            assert re.fullmatch(r"(\w+) has (\d+) (\w+)\.", sentence), sentence
            assert not sentence.startswith(f"{name} "), "a distractor about the protagonist"
    assert sentences[-1].strip() == f"How many {thing} does {name} have now?"
    return value


def _settings():
    return st.fixed_dictionaries(
        {
            "seed": st.integers(0, 2**32 - 1),
            "digits": st.integers(1, 3),
            "steps": st.integers(1, 4),
            "ops": st.sets(st.sampled_from("+-*"), min_size=1).map(lambda s: "".join(sorted(s))),
            "wrapper": st.sampled_from(["bare", "word"]),
        }
    )


@settings(max_examples=60, deadline=None)
@given(_settings(), st.integers(0, 3))
def test_gold_matches_an_independent_evaluation(params, distractors):
    if params["wrapper"] == "bare":
        distractors = 0
    problems = generate_problems(12, distractors=distractors, **params)
    for problem in problems:
        if params["wrapper"] == "bare":
            expected = evaluate_bare(problem.question)
        else:
            expected = evaluate_story(problem.question)
            assert expected >= 0  # stories never give away more than they have
        assert problem.answer == expected, problem


@settings(max_examples=40, deadline=None)
@given(_settings())
def test_operands_have_the_requested_size_and_ops(params):
    for problem in generate_problems(10, **params):
        assert len(problem.operands) == params["steps"] + 1
        for operand in problem.operands:
            assert len(str(operand)) == params["digits"]
        if params["wrapper"] == "bare":
            assert set(problem.operations) <= set(params["ops"])


def test_same_seed_same_problems_and_prefix_property():
    first = generate_problems(30, seed=11, digits=2, steps=2, ops="+-")
    assert first == generate_problems(30, seed=11, digits=2, steps=2, ops="+-")
    assert first[:10] == generate_problems(10, seed=11, digits=2, steps=2, ops="+-")
    assert first != generate_problems(30, seed=12, digits=2, steps=2, ops="+-")


def test_question_ids_encode_parameters_and_are_unique():
    problems = generate_problems(50, seed=3, digits=2, steps=3, distractors=2, ops=("+", "×"))
    assert len({p.question_id for p in problems}) == 50
    assert problems[7].question_id == "arith-d2-s3-x2-am-word-seed3-q0007"
    assert len({p.question for p in problems}) == 50


def test_distractor_sentences_are_counted():
    for problem in generate_problems(20, seed=5, steps=2, distractors=3, ops="+-"):
        sentences = re.findall(r"[^.?]+[.?]", problem.question)
        assert len(sentences) == 1 + 2 + 3 + 1  # start, steps, distractors, question


def test_all_81_single_digit_additions_then_exhaustion():
    problems = generate_problems(81, seed=0)
    pairs = {problem.operands for problem in problems}
    assert pairs == {(a, b) for a in range(1, 10) for b in range(1, 10)}
    with pytest.raises(UserError, match="distinct problems"):
        generate_problems(82, seed=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"ops": "/"}, {"ops": ""}, {"digits": 0}, {"steps": 0}, {"wrapper": "poem"},
     {"distractors": 1, "wrapper": "bare"}],
)  # fmt: skip
def test_bad_settings_are_user_errors(kwargs):
    with pytest.raises(UserError):
        generate_problems(3, seed=0, **kwargs)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_build_tasks_in_both_styles(preset):
    chat = make_preset_task(preset, 5, seed=1)
    completion = make_preset_task(preset, 5, seed=1, style="completion")
    assert [i.question_id for i in chat.items] == [i.question_id for i in completion.items]
    rendered = completion.render(completion.items[0])
    assert rendered.stop == ("\n",) and rendered.prompt.endswith("\nAnswer:")
    assert rendered.prompt.count("Question:") == 3
    assert chat.render(chat.items[0]).messages[-1]["content"] == chat.items[0].inputs["question"]
    assert chat.extractor.name == "lenient_number"


def test_easy_preset_is_single_digit_addition():
    task = make_preset_task("easy", 10, seed=2)
    for item in task.items:
        assert re.fullmatch(r"What is [1-9] \+ [1-9]\?", item.inputs["question"])
    assert PRESETS["hard"].digits == 2


def test_task_grades_tiny_model_style_answers():
    task = make_arithmetic_task(3, seed=4)
    item = task.items[0]
    expression = item.inputs["question"].removeprefix("What is ").removesuffix("?")
    response = f"{expression} = {evaluate_bare(item.inputs['question'])}"
    assert task.grade(task.extract(response, item).answer, item).correct
    assert not task.grade(task.extract("I don't know", item).answer, item).correct
    assert task.extract("I don't know", item).answer is None
    assert task.metadata["seed"] == 4
