"""What every importer shares: the answer format of a task, gold from a reference, and the build.

Data layer of the runner (``slmmux_run.data.importers``). Files written by other tools hold
raw model text and a reference answer in the tool's own wording; this module turns both into
the package's answer identity with the package's own extractors
(:mod:`slmmux_run.sampling.extract`) and hands the samples to the one slot builder
(:func:`slmmux_run.data.slots.build_sample_set`), so an imported file is slotted and graded
exactly like ``slmmux collect``'s records.

* :func:`answer_format`: the extractor family of a task, given or guessed from its name
  (``gsm8k`` -> ``gsm8k``, ``math``/``aime``/``minerva`` -> ``math``, ``mmlu``/``gpqa``/
  ``arc``/``choice`` -> ``multiple_choice``); an unknown name is a :class:`UserError` asking
  for one.
* :func:`gold_answer`: a reference as the task's gold (GSM8K: the text after ``####``; MATH:
  the boxed or plain answer, normalized; multiple choice: a letter, or a 0-based index; plain
  numbers: a canonical decimal).
* :func:`extract_answer`: one raw text -> the normalized answer or ``None`` (⊥).
* :func:`build_imported`: :class:`SampleAnswer` rows -> :class:`SlottedSamples`, models and
  questions in first-appearance order.

Example:
  >>> answer_format("gsm8k_cot_self_consistency"), gold_answer("gsm8k", "so #### 1,000")
  ('gsm8k', '1000')
  >>> extract_answer("gsm8k", "The total is 12.\\n#### 12"), gold_answer("multiple_choice", 2)
  ('12', 'C')
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from slmmux_run.data.jsonl_rows import choose, natural_key
from slmmux_run.data.slots import SampleAnswer, SlottedSamples, build_sample_set
from slmmux_run.errors import UserError
from slmmux_run.sampling.extract import (
    EXTRACTORS,
    canonical_decimal,
    extract_boxed,
    extract_gsm8k,
    get_extractor,
    normalize_math_answer,
)

__all__ = [
    "LETTERS", "answer_format", "build_imported", "extract_answer", "gold_answer",
    "natural_sample_order",
]

LETTERS = "ABCDEFGHIJ"
"""Choice letters of a multiple-choice question (up to ten choices, as MMLU-Pro)."""

# Checked in this order: "gsm8k" before "math" (a GSM8K task name may say "math" too).
_GUESSES = (
    ("gsm8k", "gsm8k"),
    ("math", "math"), ("aime", "math"), ("minerva", "math"),
    ("mmlu", "multiple_choice"), ("gpqa", "multiple_choice"), ("arc", "multiple_choice"),
    ("choice", "multiple_choice"),
    ("svamp", "lenient_number"), ("numeric", "lenient_number"), ("arithmetic", "lenient_number"),
)  # fmt: skip


def answer_format(task: str, given: str | None = None, *, source: str = "") -> str:
    """The extractor family for ``task``: ``given`` if set, else guessed from the task's name.

    Raises:
      UserError: for an unknown ``given`` or a name that says nothing (naming ``source``).
    """
    if given is not None:
        if given not in EXTRACTORS:
            raise UserError(f"answer format {given!r} is unknown; choose one of "
                            f"{', '.join(EXTRACTORS)}")  # fmt: skip
        return given
    lowered = task.lower()
    for word, family in _GUESSES:
        if word in lowered:
            return family
    where = f"{source}: " if source else ""
    raise UserError(
        f"{where}cannot tell the answer format of task {task!r} from its name; pass "
        f"answer_format= one of {', '.join(EXTRACTORS)}"
    )


def gold_answer(family: str, reference, letters: str = LETTERS) -> str | None:
    """A reference answer as the task's gold string, or ``None`` when it holds nothing.

    Args:
      family: the extractor family (:func:`answer_format`).
      reference: the reference as the file gives it (a string; an integer choice index or a
        number is accepted too).
      letters: the valid choice letters (multiple choice).
    """
    if reference is None:
        return None
    if family == "multiple_choice":
        if isinstance(reference, int) and not isinstance(reference, bool):
            return letters[reference] if 0 <= reference < len(letters) else None
        letter = str(reference).strip().strip("()").strip().upper()
        return letter if len(letter) == 1 and letter in letters else None
    text = str(reference).strip()
    if not text:
        return None
    if family == "gsm8k":
        # GSM8K targets are whole solutions ending in "#### n"; the gold is n (as tasks.py does).
        answer = text.rsplit("####", 1)[-1].strip()
        return extract_gsm8k("#### " + answer, "robust").answer
    if family in ("math", "modelswitch_math"):
        boxed = extract_boxed(text)
        return normalize_math_answer(boxed if boxed is not None else text) or None
    if family in ("lenient_number", "modelswitch_numeric"):
        return canonical_decimal(text) or text
    return text


def extract_answer(family: str, text, letters: str = LETTERS) -> str | None:
    """The package's extraction of one raw text (``None`` text, or nothing found, is ⊥)."""
    if not isinstance(text, str):
        return None
    return get_extractor(family)(text, letters).answer


def build_imported(
    task: str,
    rows: Iterable[SampleAnswer],
    *,
    models: Sequence[str] | None,
    source: str,
    natural_order: bool = True,
) -> SlottedSamples:
    """Slot imported samples with the one builder.

    Args:
      task: the task name stored in the sample set.
      rows: the samples (their ``line`` names the source line in errors).
      models: the models to keep, in this order; default all, in order of first appearance.
      source: the file (or folder) named in error messages.
      natural_order: order questions by the number at the end of their id
        (:func:`~slmmux_run.data.jsonl_rows.natural_key`), else by first appearance.

    Raises:
      UserError: no samples, an unknown model, or what the slot builder refuses.
    """
    rows = list(rows)
    if not rows:
        raise UserError(f"{source}: no samples")
    all_models = list(dict.fromkeys(row.model for row in rows))
    chosen = choose(source, all_models, models, "model")
    wanted = set(chosen)
    questions = list(dict.fromkeys(row.question_id for row in rows if row.model in wanted))
    if natural_order:
        questions.sort(key=natural_key)
    return build_sample_set(task, rows, models=chosen, question_ids=list(questions),
                            source=source)  # fmt: skip


def natural_sample_order(values: Iterable[int]) -> dict[int, int]:
    """Map arbitrary sample labels (epochs, say) to positions 0..n-1 in increasing order.

    >>> natural_sample_order([3, 1, 2])
    {1: 0, 2: 1, 3: 2}
    """
    return {value: i for i, value in enumerate(sorted(set(values)))}

