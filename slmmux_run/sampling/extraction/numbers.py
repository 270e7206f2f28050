r"""Text primitives shared by the extractors: numbers (digit-group separators, canonical decimals,
Unicode digits) and LaTeX ``\boxed{...}`` contents.

Runner layer, pure functions, no I/O; used by :mod:`~slmmux_run.sampling.extraction.gsm8k`,
:mod:`~slmmux_run.sampling.extraction.math`, :mod:`~slmmux_run.sampling.extraction.modelswitch` and
the grader.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = [
    "canonical_decimal",
    "extract_boxed",
    "normalize_gsm8k_reference",
    "remove_digit_group_separators",
]

# A robust number takes a minus sign only when the sign is not a hyphen inside a word or a range
# ("1990-2000") and not a binary minus after an operand ("10 - 3" ends in 3, not -3).
_ROBUST_NUMBER = (
    r"(?<![\w.)])(?<![\d)] )-?(?:\d+(?:\.\d+)?|\.\d+)|(?<=[\w.)])(?:\d+(?:\.\d+)?)"
    r"|(?<=[\d)] )(?:\d+(?:\.\d+)?)"
)
_ROBUST_NUMBER_RE = re.compile(_ROBUST_NUMBER)
_REFERENCE_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_DECIMAL_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")
_UNICODE_DIGIT_RE = re.compile(r"(?![0-9])\d")
_GROUP_SEPARATOR_RE = re.compile(r"(?<=\d)(?:,|\{,\}|\\,|\u2009|\u202f|\u00a0)(?=\d{3}(?!\d))")


def remove_digit_group_separators(text: str) -> str:
    r"""Delete thousands separators that sit between digit groups (METHODS §8.3, robust fix 1).

    A comma, ``{,}``, ``\,`` or a thin/no-break space is deleted only when a digit precedes it
    and exactly three digits follow, so ``1,000,000`` -> ``1000000`` but ``(1, 2)`` and
    ``3,14159`` are kept.

    >>> remove_digit_group_separators("It costs $1,234,567 or 8{,}000 (1, 2)")
    'It costs $1234567 or 8000 (1, 2)'
    """
    previous = None
    while previous != text:  # "1,000,000": each pass may expose the next separator
        previous, text = text, _GROUP_SEPARATOR_RE.sub("", text)
    return text


def canonical_decimal(number: str) -> str | None:
    """Canonical exact decimal string of a plain number, or ``None`` if it is not one.

    Drops a leading ``+``, leading zeros of the integer part, trailing fractional zeros and a
    trailing point; keeps a ``0`` before the point; maps ``-0`` to ``0`` (METHODS §8.3, robust
    fix 3; the same rule as N1 of the shared data README).

    >>> [canonical_decimal(s) for s in ["18.00", "007", "-0.0", ".5", "3.", "+2.50", "x"]]
    ['18', '7', '0', '0.5', '3', '2.5', None]
    """
    match = _DECIMAL_RE.fullmatch(number.strip())
    if match is None:
        return None
    sign, integer, fraction = match.group(1), match.group(2), match.group(3) or ""
    if not integer and not fraction:
        return None
    integer = integer.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    body = f"{integer}.{fraction}" if fraction else integer
    if body == "0":
        return "0"
    return f"-{body}" if sign == "-" else body


def normalize_gsm8k_reference(answer: str) -> str:
    """The lineage's GSM8K normalizer (METHODS §8.3, reference mode).

    Trim, drop a leading ``####``, delete every comma, map an all-zero string to ``0``, else
    delete leading zeros (so ``0.5`` becomes ``.5``, a kept quirk).

    >>> [normalize_gsm8k_reference(s) for s in ["#### 1,000", "000", "0.5", "18.00"]]
    ['1000', '0', '.5', '18.00']
    """
    answer = answer.strip()
    if answer.startswith("####"):
        answer = answer[4:].strip()
    answer = answer.replace(",", "")
    if re.fullmatch(r"0+", answer):
        return "0"
    return re.sub(r"^0+", "", answer)


def _prepare_numeric_text(text: str) -> str:
    # Unicode minus and full-width digits are common in chat output; map them before matching.
    # Python's ``\d`` matches every Unicode decimal digit ("１２", "꯰"), so digits are mapped to
    # ASCII here and the canonical answer is always an ASCII number.
    text = text.replace("\u2212", "-").replace("\u2013", "-")
    text = _UNICODE_DIGIT_RE.sub(lambda m: str(unicodedata.decimal(m.group(0))), text)
    return remove_digit_group_separators(text)


def _last_robust_number(text: str) -> str | None:
    matches = _ROBUST_NUMBER_RE.findall(text)
    return matches[-1] if matches else None


# Boxed contents (METHODS §8.2).


def _balanced_content(text: str, start: int) -> str | None:
    """Content from ``start`` (just after an opening brace) up to its closing brace."""
    depth = 1
    for index in range(start, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    return None


def extract_boxed(text: str, position: Literal["first", "last"] = "first") -> str | None:
    r"""Content of the first or last ``\boxed{...}``, nested braces kept, stripped.

    Returns ``None`` if there is no ``\boxed{`` or its braces never balance (METHODS §8.2).
    With ``position="last"`` the last *balanced* box wins.

    >>> extract_boxed(r"\boxed{1} then \boxed{\frac{2}{3}}", "last")
    '\\frac{2}{3}'
    """
    tag = "\\boxed{"
    starts = [m.start() for m in re.finditer(re.escape(tag), text)]
    if not starts:
        return None
    if position == "first":
        content = _balanced_content(text, starts[0] + len(tag))
        return None if content is None else content.strip()
    for start in reversed(starts):
        content = _balanced_content(text, start + len(tag))
        if content is not None:
            return content.strip()
    return None
