"""Multiple-choice answers: the chosen letter, reference and robust modes (METHODS §8.4).

Runner layer, pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from slmmux_run.sampling.extraction.contract import Mode, _check_mode, _guarded

__all__ = ["choice_letters", "extract_multiple_choice"]

def choice_letters(choices: Iterable[str]) -> str:
    """Valid letters of an item: the upper-cased first character of each choice string.

    >>> choice_letters(["A) 4", "B) 5", "C) 6"])
    'ABC'
    """
    return "".join(choice.strip()[:1].upper() for choice in choices if choice.strip())


def _reference_letter(text: str, valid: str) -> tuple[str | None, str]:
    # Rule 1: the whole pattern ignores case, letter included; only the first match counts.
    match = re.search(r"answer[^A-Za-z0-9]*([A-D])", text, flags=re.IGNORECASE)
    if match and match.group(1).upper() in valid:
        return match.group(1).upper(), "answer_word"
    match = re.search(r"##\s*([A-D])\s*##", text)
    if match and match.group(1) in valid:
        return match.group(1), "double_hash"
    for line in text.splitlines():
        letter = line.strip().upper()
        if len(letter) == 1 and letter in valid:
            return letter, "letter_line"
    for letter in reversed(re.findall(r"\(([A-D])\)", text)):
        if letter in valid:
            return letter, "last_parenthesized"
    for letter in reversed(re.findall(r"\s([A-D])", text)):
        if letter in valid:
            return letter, "last_after_space"
    match = re.search(r"Final Answer: \(([A-Z])\)", text)
    if match and match.group(1) in valid:
        return match.group(1), "final_answer"
    return None, "no_match"


_ROBUST_MARKER_RE = re.compile(r"##\s*(?i:answer)\s*:\s*\(?\s*([A-Z])\s*\)?\s*##")
_ROBUST_BOXED_LETTER_RE = re.compile(
    r"\\boxed\{\s*(?:\\(?:text|textbf|mathrm)\{)?\s*\(?([A-Z])\)?\s*\}?\s*\}"
)
_ROBUST_ANSWER_IS_RE = re.compile(
    r"(?i:answer)(?:\s+(?i:is)\s*:?|\s*:)\s*[*_]*\s*\(?([A-Z])\)?(?![A-Za-z0-9])"
)


def _robust_letter(text: str, valid: str) -> tuple[str | None, str]:
    for pattern, rule in (
        (_ROBUST_MARKER_RE, "answer_marker"),
        (_ROBUST_BOXED_LETTER_RE, "boxed_letter"),
        (_ROBUST_ANSWER_IS_RE, "answer_is"),
    ):
        letters = [letter for letter in pattern.findall(text) if letter in valid]
        if letters:
            return letters[-1], rule
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines:
        match = re.fullmatch(r"\(?([A-Z])\)?", lines[-1])
        if match and match.group(1) in valid:
            return match.group(1), "final_letter_line"
    return None, "no_match"


def extract_multiple_choice(text: str, letters: str | Iterable[str], mode: Mode = "robust"):
    """Extract a choice letter (METHODS §8.4).

    Args:
      text: the raw response.
      letters: the item's valid letters, e.g. ``"ABCD"`` (see :func:`choice_letters`).
      mode: ``"reference"`` (the lineage's six-rule cascade) or ``"robust"`` (explicit markers
        only).

    Returns:
      An :class:`Extraction` whose answer is one upper-case valid letter, or ⊥.

    >>> extract_multiple_choice("Let us read the answer choices first.", "ABCD", "reference").answer
    'C'
    >>> extract_multiple_choice("Let us read the answer choices first.", "ABCD").answer is None
    True
    """
    _check_mode(mode)

    def body() -> tuple[str | None, str]:
        valid = "".join(str(letter).strip()[:1].upper() for letter in letters)
        if not isinstance(text, str) or not text.strip():
            return None, "empty"
        if mode == "reference":
            return _reference_letter(text, valid)
        return _robust_letter(text, valid)

    return _guarded("multiple_choice", mode, body)
