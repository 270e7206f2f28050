"""The ModelSwitch parity extractors (METHODS §7.7): its numeric, MATH and letter rules, quirks
kept, so a replay of its runs votes on the same strings.

Runner layer, pure functions, no I/O.
"""

from __future__ import annotations

import re

from slmmux_run.sampling.extraction.contract import Extraction, _guarded
from slmmux_run.sampling.extraction.numbers import extract_boxed

__all__ = ["extract_modelswitch_letter", "extract_modelswitch_math", "extract_modelswitch_numeric"]

def extract_modelswitch_numeric(text: str) -> Extraction:
    """ModelSwitch GSM8K-like extraction: first ``boxed{...}`` (non-greedy, no nesting) or the
    whole text; commas between digits removed; the *last* number; ``"Error"`` becomes ⊥.

    The number is returned as written (``"18.00"`` stays): ModelSwitch votes on these strings
    and compares them numerically only when grading (:func:`slmmux_run.sampling.grade.modelswitch_numeric_equal`).

    >>> extract_modelswitch_numeric(r"\\boxed{1,234} and later 7").answer
    '1234'
    """

    def body() -> tuple[str | None, str]:
        if not isinstance(text, str):
            return None, "empty"
        match = re.search(r"boxed\{(.*?)\}", text)
        source, rule = (match.group(1), "first_boxed") if match else (text, "whole_text")
        source = re.sub(r"(?<=\d),(?=\d)", "", source)
        numbers = re.findall(r"-?\d+(?:\.\d+)?", source)
        if not numbers:
            return None, "no_match"
        return numbers[-1], rule

    return _guarded("modelswitch_numeric", "parity", body)


def extract_modelswitch_math(text: str) -> Extraction:
    r"""ModelSwitch MATH extraction: content of the *last* ``\boxed{`` with brace matching,
    spaces removed (its vote key). Grading then applies the Hendrycks cleanup.

    >>> extract_modelswitch_math(r"\boxed{1} so \boxed{\frac{1}{2} }").answer
    '\\frac{1}{2}'
    """

    def body() -> tuple[str | None, str]:
        if not isinstance(text, str):
            return None, "empty"
        content = extract_boxed(text, "last")
        if content is None:
            return None, "no_boxed"
        return content.replace(" ", ""), "last_boxed"

    return _guarded("modelswitch_math", "parity", body)


def extract_modelswitch_letter(text: str) -> Extraction:
    """ModelSwitch MMLU-Pro extraction: the boxed content (the first box, non-greedy; the whole
    text when there is none [decision: the source is silent]) and then its *first* character
    in A–J, although the helper's name says "last".

    >>> extract_modelswitch_letter(r"so \\boxed{(C) because}").answer
    'C'
    """

    def body() -> tuple[str | None, str]:
        if not isinstance(text, str):
            return None, "empty"
        match = re.search(r"boxed\{(.*?)\}", text)
        source, rule = (match.group(1), "first_boxed") if match else (text, "whole_text")
        letter = re.search(r"[A-J]", source)
        return (letter.group(0), rule) if letter else (None, "no_match")

    return _guarded("modelswitch_letter", "parity", body)
