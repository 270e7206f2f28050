r"""Task definitions: items, versioned prompts, the extractor and the grader of one benchmark.

Floor 1 of the runner. A :class:`Task` bundles what the collector needs to turn an item into a
request and a response into a graded answer; the prompt version and the extractor version are
meant to be stored in every record. Loaders read the shared question files (GSM8K-500,
MATH-500, MMLU-Pro) through :mod:`slmmux_run.data.paths`, or a user-supplied JSON/JSONL file (GPQA,
SVAMP-style numeric problems); malformed input raises a one-sentence
:class:`~slmmux_run.errors.UserError` naming file, line and field.

Prompts are our own wording of METHODS §8.3–8.5. They contain real newlines and a single
backslash before ``boxed`` (the §8.5 pitfall). Two styles exist: ``chat`` (messages for
``/v1/chat/completions``) and ``completion`` (a 2-shot plain prompt with ``stop=["\n"]`` for base
models such as Gemma-3-270M).

Example:
  >>> item = Item("q1", {"question": "What is 2 + 2?"}, reference="4", gold="4")
  >>> task = Task("toy", (item,), NUMERIC_CHAT, get_extractor("lenient_number"))
  >>> request = task.render(item)
  >>> request.messages[-1]["content"].splitlines()[0]
  'What is 2 + 2?'
  >>> task.grade(task.extract("2 + 2 = 4", item).answer, item).correct
  True
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from slmmux_run.errors import UserError
from slmmux_run.sampling.extract import (
    Extraction,
    Extractor,
    canonical_decimal,
    extract_gsm8k,
    get_extractor,
    normalize_gsm8k_reference,
    normalize_math_answer,
)
from slmmux_run.sampling.grade import Grade, grade
from slmmux_run.data.paths import data_file

__all__ = [
    "GSM8K_CHAT",
    "GSM8K_COMPLETION",
    "MATH_CHAT",
    "MULTIPLE_CHOICE_CHAT",
    "NUMERIC_CHAT",
    "NUMERIC_COMPLETION",
    "Item",
    "PromptTemplate",
    "RenderedPrompt",
    "Task",
    "format_choices",
    "gpqa_task",
    "gsm8k_task",
    "load_gpqa",
    "load_gsm8k_500",
    "load_math_500",
    "load_mmlu_pro",
    "load_numeric_problems",
    "math_task",
    "mmlu_pro_task",
    "numeric_task",
]

LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Item:
    """One question.

    Attributes:
      question_id: stable id, unique within the task.
      inputs: what the prompt needs: ``question`` and, for multiple choice, ``choices``.
      reference: the reference answer as the source gives it (e.g. the GSM8K ``#### n`` line).
      gold: the reference normalized with the task's own normalizer (METHODS §8.1).
      letters: the valid choice letters (multiple choice only), e.g. ``"ABCD"``.
    """

    question_id: str
    inputs: Mapping[str, Any]
    reference: str
    gold: str | None
    letters: str = ""


@dataclass(frozen=True)
class RenderedPrompt:
    """A request body fragment for one item.

    Attributes:
      style: ``"chat"`` or ``"completion"``.
      messages: chat messages (``role``/``content``), or ``None`` for completion style.
      prompt: the plain prompt, or ``None`` for chat style.
      stop: stop sequences to send.
      prompt_version: to be stored in the record.
    """

    style: str
    messages: tuple[dict[str, str], ...] | None
    prompt: str | None
    stop: tuple[str, ...]
    prompt_version: str


_PLACEHOLDER = re.compile(r"\{(question|choices)\}")


def _fill(template: str, values: Mapping[str, str]) -> str:
    # One pass, so braces inside a question ("\frac{1}{2}") are never re-read as placeholders.
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def format_choices(choices: Sequence[str]) -> str:
    """One choice per line with its letter prefix, unless the strings already carry it.

    >>> print(format_choices(["4", "5"]))
    A) 4
    B) 5
    >>> print(format_choices(["(A) 4", "(B) 5"]))
    (A) 4
    (B) 5
    """
    prefixed = all(
        re.match(rf"\(?{LETTERS[i]}[).:]", choice.strip()) for i, choice in enumerate(choices)
    )
    if prefixed:
        return "\n".join(choice.strip() for choice in choices)
    return "\n".join(f"{LETTERS[i]}) {choice}" for i, choice in enumerate(choices))


@dataclass(frozen=True)
class PromptTemplate:
    """A versioned prompt. Placeholders: ``{question}`` and ``{choices}``.

    Attributes:
      version: stored in every record; change it whenever the wording changes.
      style: ``"chat"`` or ``"completion"``.
      user: the user message (chat) or the whole prompt (completion).
      system: the system message (chat only), or ``None``.
      stop: stop sequences.
    """

    version: str
    style: str
    user: str
    system: str | None = None
    stop: tuple[str, ...] = ()

    def render(self, item: Item) -> RenderedPrompt:
        """Fill the template for ``item``."""
        values = {
            "question": str(item.inputs.get("question", "")),
            "choices": format_choices(item.inputs.get("choices", ())),
        }
        text = _fill(self.user, values)
        if self.style == "completion":
            return RenderedPrompt("completion", None, text, self.stop, self.version)
        messages = []
        if self.system is not None:
            messages.append({"role": "system", "content": _fill(self.system, values)})
        messages.append({"role": "user", "content": text})
        return RenderedPrompt("chat", tuple(messages), None, self.stop, self.version)


GSM8K_CHAT = PromptTemplate(
    version="gsm8k-chat/1",
    style="chat",
    system=(
        "You solve grade-school math word problems. Reason step by step. Then write the final "
        "answer on its own line, starting with ####, as a plain number without units.\n"
        "Example of the last line:\n#### 42"
    ),
    user=(
        "Problem:\n{question}\n\n"
        "Explain your reasoning, then give the final answer on its own line as #### <number>."
    ),
)
MATH_CHAT = PromptTemplate(
    version="math-chat/1",
    style="chat",
    system=(
        "You solve competition mathematics problems. Reason step by step and put the final "
        "answer in \\boxed{}."
    ),
    user="Problem:\n{question}\n\nSolve it step by step and write the final answer as \\boxed{answer}.",
)
MULTIPLE_CHOICE_CHAT = PromptTemplate(
    version="multiple-choice-chat/1",
    style="chat",
    system=(
        "You answer multiple-choice questions. Reason step by step, then give your final choice "
        "as a single letter in the form ##Answer: X##."
    ),
    user=(
        "Question:\n{question}\n\nChoices:\n{choices}\n\n"
        "Reason step by step. End with ##Answer: X##, where X is the letter of your choice."
    ),
)
NUMERIC_CHAT = PromptTemplate(
    version="numeric-chat/1",
    style="chat",
    user="{question}\nAnswer with a number.",
)
NUMERIC_COMPLETION = PromptTemplate(
    version="numeric-completion/1",
    style="completion",
    user=(
        "Question: Sam has 3 red pens and 4 blue pens. How many pens does Sam have?\nAnswer: 7\n\n"
        "Question: A box holds 9 eggs. 2 eggs break. How many eggs are left?\nAnswer: 7\n\n"
        "Question: {question}\nAnswer:"
    ),
    stop=("\n",),
)
GSM8K_COMPLETION = PromptTemplate(
    version="gsm8k-completion/1",
    style="completion",
    user=(
        "Question: A baker makes 12 rolls in the morning and 15 in the afternoon. She sells 20. "
        "How many rolls are left?\nAnswer: 7\n\n"
        "Question: Tickets cost $4 each. How much do 6 tickets cost in dollars?\nAnswer: 24\n\n"
        "Question: {question}\nAnswer:"
    ),
    stop=("\n",),
)


@dataclass(frozen=True)
class Task:
    """A benchmark ready for collection.

    Attributes:
      name: e.g. ``"gsm8k-500"``.
      items: the questions, in a fixed order.
      prompt: the prompt template (its version goes into each record).
      extractor: the configured extractor (its version goes into each record).
      grading_layers: grading layers, default normalized exact match only.
    """

    name: str
    items: tuple[Item, ...]
    prompt: PromptTemplate
    extractor: Extractor
    grading_layers: tuple[str, ...] = ("exact",)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def render(self, item: Item) -> RenderedPrompt:
        """The prompt for one item."""
        return self.prompt.render(item)

    def extract(self, text: str, item: Item) -> Extraction:
        """Extract the answer of one response (never raises)."""
        return self.extractor(text, item.letters)

    def grade(self, answer: str | None, item: Item) -> Grade:
        """Grade an extracted answer against the item's gold answer."""
        return grade(answer, item.gold, self.grading_layers)

    def head(self, n_questions: int) -> Task:
        """The same task restricted to its first ``n_questions`` items."""
        return Task(
            self.name, self.items[:n_questions], self.prompt, self.extractor,
            self.grading_layers, self.metadata,
        )  # fmt: skip


# ---- reading files ---------------------------------------------------------------------------


def _read_records(path: str | os.PathLike) -> list[tuple[str, Mapping[str, Any]]]:
    """Objects of a JSON array or a JSONL file, each with a location label for errors."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path} could not be read as UTF-8 text ({error})") from None
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as error:
            raise UserError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None
        located = [(f"{path} record {i}", row) for i, row in enumerate(rows)]
    else:
        located = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                located.append((f"{path}:{number}", json.loads(line)))
            except json.JSONDecodeError as error:
                raise UserError(f"{path}:{number}: invalid JSON ({error.msg})") from None
    for where, row in located:
        if not isinstance(row, dict):
            raise UserError(f"{where}: expected a JSON object, got {type(row).__name__}")
    if not located:
        raise UserError(f"{path} holds no records")
    return located


def _field(row: Mapping[str, Any], where: str, *names: str, kind=str) -> Any:
    lowered = {str(key).lower(): value for key, value in row.items()}
    for name in names:
        if name.lower() in lowered:
            value = lowered[name.lower()]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise UserError(
                    f"{where}: field '{name}' must be {getattr(kind, '__name__', kind)}, "
                    f"got {type(value).__name__}"
                )
            return value
    raise UserError(f"{where}: missing field '{names[0]}'")


# ---- GSM8K / MATH / MMLU-Pro from the shared data --------------------------------------------


def load_gsm8k_500(mode: str = "robust", data_dir: str | os.PathLike | None = None):
    """GSM8K-500 items (``questions/gsm8k_500.json``); gold is the text after ``####``
    normalized in ``mode`` (8 of the 500 golds carry thousands separators, e.g. ``40,000``).

    Returns:
      tuple of :class:`Item`, ids ``gsm8k500-000`` ... ``gsm8k500-499``.
    """
    path = data_file("questions/gsm8k_500.json", data_dir)
    items = []
    for where, row in _read_records(path):
        index = len(items)
        question = _field(row, where, "question")
        solution = _field(row, where, "answer")
        reference = solution.rsplit("####", 1)[-1].strip() if "####" in solution else solution
        if mode == "reference":
            # The lineage normalizes the text after "####" (commas deleted): "40,000" -> "40000",
            # while its extractor reads "#### 40,000" in a response as "40" (METHODS §8.3).
            gold = normalize_gsm8k_reference(reference) or None
        else:
            gold = extract_gsm8k("#### " + reference, "robust").answer
        items.append(Item(f"gsm8k500-{index:03d}", {"question": question}, reference, gold))
    return tuple(items)


def load_math_500(mode: str = "robust", data_dir: str | os.PathLike | None = None):
    """MATH-500 items (``questions/math_500.json``); gold is the ``answer`` field normalized
    in ``mode`` (METHODS §8.2 default; the lineage's ``solution_boxed`` option is not offered).
    Ids are the dataset's ``unique_id``.
    """
    path = data_file("questions/math_500.json", data_dir)
    items = []
    for where, row in _read_records(path):
        answer = _field(row, where, "answer")
        gold = normalize_math_answer(answer, mode) or None  # type: ignore[arg-type]
        items.append(
            Item(_field(row, where, "unique_id"), {"question": _field(row, where, "problem")},
                 answer, gold)
        )  # fmt: skip
    return tuple(items)


def load_mmlu_pro(
    data_dir: str | os.PathLike | None = None,
    categories: Sequence[str] | None = None,
    limit: int | None = None,
):
    """MMLU-Pro items (``questions/mmlu_pro_questions.jsonl``), up to 10 choices A–J.

    Args:
      data_dir: the shared data directory (see :mod:`slmmux_run.data.paths`).
      categories: keep only these categories (e.g. ``["math", "physics"]``).
      limit: keep at most this many items, in file order.
    """
    path = data_file("questions/mmlu_pro_questions.jsonl", data_dir)
    wanted = None if categories is None else set(categories)
    items = []
    for where, row in _read_records(path):
        if wanted is not None and row.get("category") not in wanted:
            continue
        options = _field(row, where, "options", kind=list)
        letters = LETTERS[: len(options)]
        answer = _field(row, where, "answer")
        if answer not in letters:
            raise UserError(f"{where}: field 'answer' is {answer!r}, not one of {letters}")
        question_id = f"mmlupro-{_field(row, where, 'question_id')}"
        inputs = {"question": _field(row, where, "question"), "choices": tuple(options)}
        items.append(Item(question_id, inputs, answer, answer, letters))
        if limit is not None and len(items) >= limit:
            break
    return tuple(items)


# ---- user-supplied files -----------------------------------------------------------------------


def load_gpqa(path: str | os.PathLike):
    """Multiple-choice items from a user-supplied JSON array or JSONL file (GPQA is not shipped).

    Each record needs ``question`` (string), ``choices`` (2–10 strings, optionally already
    prefixed ``"A) ..."``) and ``answer`` (a letter, or a 0-based index); ``id`` is optional.

    Raises:
      UserError: naming the file, the line (JSONL) or record (JSON array) and the field.
    """
    items = []
    for index, (where, row) in enumerate(_read_records(path)):
        question = _field(row, where, "question")
        choices = _field(row, where, "choices", "options", kind=list)
        if not 2 <= len(choices) <= len(LETTERS) or not all(isinstance(c, str) for c in choices):
            raise UserError(f"{where}: field 'choices' must be a list of 2 to 10 strings")
        letters = LETTERS[: len(choices)]
        answer = _field(row, where, "answer", kind=(str, int))
        if isinstance(answer, int):
            if not 0 <= answer < len(choices):
                raise UserError(f"{where}: field 'answer' index {answer} is out of range")
            answer = letters[answer]
        answer = answer.strip().strip("()").upper()
        if answer not in letters:
            raise UserError(f"{where}: field 'answer' is {answer!r}, not one of {letters}")
        question_id = str(row.get("id", f"gpqa-{index:04d}"))
        inputs = {"question": question, "choices": tuple(choices)}
        items.append(Item(question_id, inputs, answer, answer, letters))
    _check_unique(items, path)
    return tuple(items)


def load_numeric_problems(path: str | os.PathLike):
    """Numeric word problems (SVAMP-style) from a user-supplied JSON array or JSONL file.

    Each record needs ``question`` (or SVAMP's ``Body`` + ``Question``) and ``answer`` (a
    number or a numeric string; SVAMP writes ``8.0``); ``id``/``ID`` is optional. Field names
    are matched case-insensitively. Gold answers are canonical decimals (``8.0`` -> ``8``).
    """
    items = []
    for index, (where, row) in enumerate(_read_records(path)):
        lowered = {str(key).lower() for key in row}
        if "body" in lowered:
            body = _field(row, where, "body")
            question = f"{body.strip()} {_field(row, where, 'question').strip()}"
        else:
            question = _field(row, where, "question")
        raw = _field(row, where, "answer", kind=(str, int, float))
        gold = canonical_decimal(repr(raw) if isinstance(raw, float) else str(raw))
        if gold is None:
            raise UserError(f"{where}: field 'answer' is {raw!r}, not a plain number")
        question_id = str(row.get("id", row.get("ID", f"numeric-{index:04d}")))
        items.append(Item(question_id, {"question": question}, str(raw), gold))
    _check_unique(items, path)
    return tuple(items)


def _check_unique(items: Sequence[Item], path: str | os.PathLike) -> None:
    seen: set[str] = set()
    for item in items:
        if item.question_id in seen:
            raise UserError(f"{path}: field 'id' repeats the question id {item.question_id!r}")
        seen.add(item.question_id)


# ---- task factories ----------------------------------------------------------------------------


def _style(style: str) -> str:
    if style not in ("chat", "completion"):
        raise ValueError(f"style must be 'chat' or 'completion', got {style!r}")
    return style


def gsm8k_task(
    mode: str = "robust", style: str = "chat", data_dir=None, n_questions: int | None = None
) -> Task:
    """GSM8K-500 with the ``####`` prompt (chat) or a 2-shot completion prompt.

    Chat responses are read by the GSM8K extractor in ``mode``; completion responses (one line)
    by the lenient extractor.
    """
    items = load_gsm8k_500(mode, data_dir)[:n_questions]
    if _style(style) == "chat":
        return Task("gsm8k-500", items, GSM8K_CHAT, get_extractor("gsm8k", mode))  # type: ignore[arg-type]
    return Task("gsm8k-500", items, GSM8K_COMPLETION, get_extractor("lenient_number"))


def math_task(
    mode: str = "robust",
    data_dir=None,
    n_questions: int | None = None,
    boxed_position: str = "first",
    grading_layers: tuple[str, ...] = ("exact",),
) -> Task:
    """MATH-500 with the boxed prompt; ``grading_layers=("exact", "symbolic")`` adds layer 2."""
    items = load_math_500(mode, data_dir)[:n_questions]
    extractor = get_extractor("math", mode, boxed_position)  # type: ignore[arg-type]
    return Task("math-500", items, MATH_CHAT, extractor, tuple(grading_layers))


def mmlu_pro_task(mode: str = "robust", data_dir=None, categories=None, n_questions=None) -> Task:
    """MMLU-Pro with the ``##Answer: X##`` prompt."""
    items = load_mmlu_pro(data_dir, categories, n_questions)
    extractor = get_extractor("multiple_choice", mode)  # type: ignore[arg-type]
    return Task("mmlu-pro", items, MULTIPLE_CHOICE_CHAT, extractor)


def gpqa_task(path: str | os.PathLike, mode: str = "robust") -> Task:
    """GPQA (or any 2–10-way multiple choice) from a user-supplied file."""
    extractor = get_extractor("multiple_choice", mode)  # type: ignore[arg-type]
    return Task("gpqa", load_gpqa(path), MULTIPLE_CHOICE_CHAT, extractor)


def numeric_task(path: str | os.PathLike, style: str = "chat", name: str = "numeric") -> Task:
    """SVAMP-style numeric problems from a user-supplied file, read leniently."""
    prompt = NUMERIC_CHAT if _style(style) == "chat" else NUMERIC_COMPLETION
    return Task(name, load_numeric_problems(path), prompt, get_extractor("lenient_number"))
