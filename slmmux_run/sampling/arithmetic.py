"""A generated arithmetic task family with tunable difficulty, for tiny local models.

Floor 1 of the runner (it builds :class:`~slmmux_run.sampling.tasks.Task` objects; no I/O). Real small
models on this CPU (SmolLM2-135M, Gemma-3-270M) score far below the benchmarks, so studies of
orchestration rules need a family whose accuracy can be dialled between about 20 % and 80 %,
where the rules differ. Difficulty knobs:

* ``digits``: operand size (``1`` draws 1–9, ``2`` draws 10–99, ...);
* ``steps``: number of operations (``steps + 1`` operands), applied left to right;
* ``ops``: operations drawn uniformly from ``"+"``, ``"-"``, ``"*"``;
* ``distractors``: irrelevant sentences with numbers, inside a word-problem wrapper;
* ``wrapper``: ``"bare"`` ("What is 7 + 5?") or ``"word"`` (a short story).

Gold answers are exact integers. Problems come from an explicitly seeded numpy Generator and
are distinct within one call; the first ``n`` problems do not depend on how many are requested.
Question ids encode every parameter, e.g. ``arith-d1-s1-x0-a-bare-seed0-q0003``.

Presets (:data:`PRESETS`), ordered by difficulty. Measured here on 20 questions (seed 0) at
T = 0.7 with 4 samples per question, lenient extraction, on a heavily loaded 2-core machine
(SmolLM2-135M-Instruct zero-shot chat with ``max_tokens`` 32 / 96; Gemma-3-270M base 2-shot
completion); per-sample accuracy, so each value has a standard error of about 0.05:

=============  ==================================================  ===========  ========
preset         settings                                            SmolLM2      Gemma-3
=============  ==================================================  ===========  ========
``easy``       one single-digit addition, bare                     0.41 / 0.46  0.14
``easy-word``  one single-digit + or - as a word problem           0.38         0.11
``medium``     ``easy-word`` plus one distractor sentence          0.16         --
``two-step``   two single-digit + or -, bare                       0.05 / 0.08  --
``hard``       one two-digit addition, bare                        0.06         0.00
=============  ==================================================  ===========  ========

The models README reports 0.39 (SmolLM2, single-digit addition, T = 0.7, 5 samples) and ≈ 0.02
for two-digit addition, consistent with these. For orchestration studies ``easy`` and
``easy-word`` land in the 20–80 % band (majority-of-4 0.39–0.51, any-of-4 0.65–0.80).

Example:
  >>> problems = generate_problems(3, seed=0)
  >>> [p.question_id for p in problems][0]
  'arith-d1-s1-x0-a-bare-seed0-q0000'
  >>> all(eval(p.expression.replace("×", "*")) == p.answer for p in problems)
  True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slmmux_run.errors import UserError
from slmmux_run.sampling.extract import get_extractor
from slmmux_run.sampling.tasks import Item, PromptTemplate, Task

__all__ = [
    "ARITHMETIC_CHAT",
    "ARITHMETIC_COMPLETION",
    "ARITHMETIC_WORD_COMPLETION",
    "PRESETS",
    "ArithmeticProblem",
    "ArithmeticSettings",
    "generate_problems",
    "make_arithmetic_task",
    "make_preset_task",
]

_OPERATIONS = {"+": "+", "-": "-", "−": "-", "*": "*", "×": "*", "x": "*"}
_CODES = {"+": "a", "-": "s", "*": "m"}
_DISPLAY = {"+": "+", "-": "-", "*": "×"}


@dataclass(frozen=True)
class ArithmeticSettings:
    """Difficulty parameters of one family member (see the module docstring)."""

    digits: int = 1
    steps: int = 1
    distractors: int = 0
    ops: tuple[str, ...] = ("+",)
    wrapper: str = "bare"


PRESETS: dict[str, ArithmeticSettings] = {
    "easy": ArithmeticSettings(digits=1, steps=1, ops=("+",)),
    "easy-word": ArithmeticSettings(digits=1, steps=1, ops=("+", "-"), wrapper="word"),
    "medium": ArithmeticSettings(digits=1, steps=1, distractors=1, ops=("+", "-"), wrapper="word"),
    "two-step": ArithmeticSettings(digits=1, steps=2, ops=("+", "-")),
    "hard": ArithmeticSettings(digits=2, steps=1, ops=("+",)),
}


@dataclass(frozen=True)
class ArithmeticProblem:
    """One generated problem.

    Attributes:
      question_id: encodes the parameters, the seed and the index.
      question: the text shown to the model.
      expression: the same computation as a parenthesised expression, e.g. ``"(7 + 5) × 3"``.
      operands: the operands, in order, length ``steps + 1``.
      operations: the operations (``"+"``, ``"-"``, ``"*"``), length ``steps``.
      answer: the exact integer result (left-to-right application).
    """

    question_id: str
    question: str
    expression: str
    operands: tuple[int, ...]
    operations: tuple[str, ...]
    answer: int


_NAMES = ("Ana", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivan", "Jo", "Kim", "Lea")
_OBJECTS = ("apples", "marbles", "stickers", "books", "coins", "shells", "pencils", "cards")


def _normalize_ops(ops: Sequence[str]) -> tuple[str, ...]:
    if isinstance(ops, str):
        ops = tuple(ops)
    normalized = []
    for op in ops:
        if op not in _OPERATIONS:
            raise UserError(f"arithmetic ops: unknown operation {op!r}; use '+', '-' or '*'")
        if _OPERATIONS[op] not in normalized:
            normalized.append(_OPERATIONS[op])
    if not normalized:
        raise UserError("arithmetic ops: give at least one operation")
    return tuple(sorted(normalized, key="+-*".index))


def _expression(operands: Sequence[int], operations: Sequence[str]) -> str:
    text = str(operands[0])
    additive = False  # does the text so far end in a top-level + or -?
    for operand, op in zip(operands[1:], operations):
        if op == "*" and additive:
            text = f"({text})"
        text = f"{text} {_DISPLAY[op]} {operand}"
        additive = op in "+-"
    return text


def _apply(operands: Sequence[int], operations: Sequence[str]) -> int:
    value = operands[0]
    for operand, op in zip(operands[1:], operations):
        value = value + operand if op == "+" else value - operand if op == "-" else value * operand
    return value


def _word_question(rng, operands, operations, distractors, digits) -> tuple[str, list[str]]:
    name = str(rng.choice(_NAMES))
    thing = str(rng.choice(_OBJECTS))
    sentences = [f"{name} has {operands[0]} {thing}."]
    for operand, op in zip(operands[1:], operations):
        if op == "+":
            sentences.append(f"Then {name} gets {operand} more {thing}.")
        elif op == "-":
            sentences.append(f"Then {name} gives away {operand} {thing}.")
        else:
            sentences.append(
                f"Then the number of {thing} {name} has becomes {operand} times as large."
            )
    low, high = 10 ** (digits - 1), 10**digits
    others = [n for n in _NAMES if n != name]
    for _ in range(distractors):
        other = str(rng.choice(others))
        other_thing = str(rng.choice([t for t in _OBJECTS if t != thing]))
        number = int(rng.integers(low, high))
        position = int(rng.integers(1, len(sentences) + 1))  # never before the first sentence
        sentences.insert(position, f"{other} has {number} {other_thing}.")
    sentences.append(f"How many {thing} does {name} have now?")
    return " ".join(sentences), sentences


def generate_problems(
    n_questions: int,
    seed: int,
    digits: int = 1,
    steps: int = 1,
    distractors: int = 0,
    ops: Sequence[str] = ("+",),
    wrapper: str | None = None,
    max_attempts_per_question: int = 200,
) -> tuple[ArithmeticProblem, ...]:
    """Generate ``n_questions`` distinct problems from ``numpy.random.default_rng(seed)``.

    Args:
      n_questions: how many problems.
      seed: the explicit seed; the same arguments always give the same problems.
      digits: operand size in digits (>= 1).
      steps: number of operations (>= 1).
      distractors: irrelevant numeric sentences (needs the word wrapper).
      ops: operations among ``"+"``, ``"-"``, ``"*"`` (``"−"``, ``"×"`` accepted).
      wrapper: ``"bare"`` or ``"word"``; default ``"word"`` when there are distractors.
      max_attempts_per_question: rejection budget for distinctness.

    Returns:
      tuple of :class:`ArithmeticProblem`, length ``n_questions``.

    Raises:
      UserError: for impossible settings, or when too few distinct problems exist (e.g. more
        than 81 single-digit additions).

    In the word wrapper a subtraction never goes below zero: if the running value is smaller
    than the drawn operand, the step becomes an addition (stories do not give away more than
    they have). Bare problems keep negative results.
    """
    ops = _normalize_ops(ops)
    wrapper = wrapper or ("word" if distractors else "bare")
    if wrapper not in ("bare", "word"):
        raise UserError(f"arithmetic wrapper must be 'bare' or 'word', got {wrapper!r}")
    if digits < 1 or steps < 1 or distractors < 0 or n_questions < 0:
        raise UserError("arithmetic: digits and steps must be >= 1, distractors and n >= 0")
    if distractors and wrapper == "bare":
        raise UserError("arithmetic: distractors need wrapper='word'")
    rng = np.random.default_rng(seed)
    low, high = 10 ** (digits - 1), 10**digits
    code = "".join(_CODES[op] for op in ops)
    problems: list[ArithmeticProblem] = []
    seen: set[str] = set()
    attempts = 0
    while len(problems) < n_questions:
        attempts += 1
        if attempts > max_attempts_per_question * max(n_questions, 1):
            raise UserError(
                f"arithmetic: could not find {n_questions} distinct problems with digits={digits}, "
                f"steps={steps}, ops={''.join(ops)}; ask for fewer questions"
            )
        operands = [int(value) for value in rng.integers(low, high, size=steps + 1)]
        operations = [str(rng.choice(ops)) for _ in range(steps)]
        if wrapper == "word":
            value = operands[0]
            for index, op in enumerate(operations):
                if op == "-" and operands[index + 1] > value:
                    operations[index] = "+"
                value = _apply([value, operands[index + 1]], [operations[index]])
            question, _ = _word_question(rng, operands, operations, distractors, digits)
        else:
            question = f"What is {_expression(operands, operations)}?"
        if question in seen:
            continue
        seen.add(question)
        index = len(problems)
        problems.append(
            ArithmeticProblem(
                question_id=(
                    f"arith-d{digits}-s{steps}-x{distractors}-{code}-{wrapper}-seed{seed}-q{index:04d}"
                ),
                question=question,
                expression=_expression(operands, operations),
                operands=tuple(operands),
                operations=tuple(operations),
                answer=_apply(operands, operations),
            )
        )
    return tuple(problems)


ARITHMETIC_CHAT = PromptTemplate(
    version="arithmetic-chat/1",
    style="chat",
    user="{question}",
)
ARITHMETIC_COMPLETION = PromptTemplate(
    version="arithmetic-completion/1",
    style="completion",
    user="Question: What is 3 + 4?\nAnswer: 7\n\nQuestion: What is 6 + 2?\nAnswer: 8\n\n"
    "Question: {question}\nAnswer:",
    stop=("\n",),
)
ARITHMETIC_WORD_COMPLETION = PromptTemplate(
    version="arithmetic-word-completion/1",
    style="completion",
    user=(
        "Question: Mia has 3 cups. Then Mia gets 4 more cups. How many cups does Mia have now?\n"
        "Answer: 7\n\n"
        "Question: Tom has 9 keys. Then Tom gives away 2 keys. How many keys does Tom have now?\n"
        "Answer: 7\n\n"
        "Question: {question}\nAnswer:"
    ),
    stop=("\n",),
)


def make_arithmetic_task(
    n_questions: int,
    seed: int,
    digits: int = 1,
    steps: int = 1,
    distractors: int = 0,
    ops: Sequence[str] = ("+",),
    wrapper: str | None = None,
    style: str = "chat",
) -> Task:
    """A :class:`~slmmux_run.sampling.tasks.Task` over generated problems, read by the lenient extractor.

    Args:
      n_questions, seed, digits, steps, distractors, ops, wrapper: see :func:`generate_problems`.
      style: ``"chat"`` (zero-shot; best for SmolLM2) or ``"completion"`` (2-shot, ``stop=["\\n"]``,
        for base models such as Gemma-3-270M).

    >>> task = make_arithmetic_task(2, seed=1)
    >>> task.name, task.items[0].gold == str(eval(task.items[0].inputs["expression"]))
    ('arithmetic-d1-s1-x0-a-bare', True)
    """
    problems = generate_problems(n_questions, seed, digits, steps, distractors, ops, wrapper)
    wrapper = wrapper or ("word" if distractors else "bare")
    if style == "chat":
        prompt = ARITHMETIC_CHAT
    elif style == "completion":
        prompt = ARITHMETIC_WORD_COMPLETION if wrapper == "word" else ARITHMETIC_COMPLETION
    else:
        raise UserError(f"arithmetic style must be 'chat' or 'completion', got {style!r}")
    items = tuple(
        Item(
            p.question_id,
            {"question": p.question, "expression": p.expression.replace("×", "*")},
            reference=str(p.answer),
            gold=str(p.answer),
        )
        for p in problems
    )
    code = "".join(_CODES[op] for op in _normalize_ops(ops))
    name = f"arithmetic-d{digits}-s{steps}-x{distractors}-{code}-{wrapper}"
    settings = {
        "digits": digits, "steps": steps, "distractors": distractors, "ops": code,
        "wrapper": wrapper, "seed": seed,
    }  # fmt: skip
    return Task(name, items, prompt, get_extractor("lenient_number"), metadata=settings)


def make_preset_task(preset: str, n_questions: int, seed: int, style: str = "chat") -> Task:
    """A task from :data:`PRESETS` (``easy``, ``easy-word``, ``medium``, ``two-step``, ``hard``).

    >>> make_preset_task("hard", 1, seed=0).items[0].question_id
    'arith-d2-s1-x0-a-bare-seed0-q0000'
    """
    if preset not in PRESETS:
        raise UserError(f"unknown arithmetic preset {preset!r}; choose one of {sorted(PRESETS)}")
    settings = PRESETS[preset]
    return make_arithmetic_task(
        n_questions, seed, settings.digits, settings.steps, settings.distractors, settings.ops,
        settings.wrapper, style,
    )  # fmt: skip
