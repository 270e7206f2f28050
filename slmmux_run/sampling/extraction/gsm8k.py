"""Numeric answers: GSM8K extraction (reference and robust modes, METHODS §8.3) and the lenient
extraction for tiny models that answer "7 + 5 = 12".

Runner layer, pure functions, no I/O.
"""

from __future__ import annotations

import re

from slmmux_run.sampling.extraction.contract import Extraction, Mode, _check_mode, _guarded
from slmmux_run.sampling.extraction.numbers import (
    _REFERENCE_NUMBER_RE,
    _ROBUST_NUMBER,
    _ROBUST_NUMBER_RE,
    _last_robust_number,
    _prepare_numeric_text,
    canonical_decimal,
    extract_boxed,
    normalize_gsm8k_reference,
)

__all__ = ["extract_gsm8k", "extract_lenient_number"]

_REFERENCE_HASH_RE = re.compile(r"####\s*(-?\d+(?:\.\d+)?)")
_ROBUST_HASH_RE = re.compile(r"####\s*(?:[$€£]\s*)?(" + _ROBUST_NUMBER + ")")


def extract_gsm8k(text: str, mode: Mode = "robust") -> Extraction:
    r"""Extract a GSM8K numeric answer (METHODS §8.3).

    Reference: last ``#### n``, else the last number anywhere, then the lineage normalizer;
    commas are deleted only after extraction, so ``#### 1,000`` gives ``"1"``.
    Robust: digit-group separators removed first; last ``#### n`` (a currency sign may precede
    ``n``), else the last number inside the last ``\boxed{}``, else the last number anywhere;
    then :func:`canonical_decimal`.

    Args:
      text: the raw response.
      mode: ``"reference"`` or ``"robust"``.

    >>> extract_gsm8k("... so 18.00 dollars").answer, extract_gsm8k("18.00", "reference").answer
    ('18', '18.00')
    """
    _check_mode(mode)

    def body() -> tuple[str | None, str]:
        if not isinstance(text, str) or not text.strip():
            return None, "empty"
        if mode == "reference":
            marks = _REFERENCE_HASH_RE.findall(text)
            if marks:
                return normalize_gsm8k_reference(marks[-1]), "hash_marker"
            numbers = _REFERENCE_NUMBER_RE.findall(text)
            if numbers:
                return normalize_gsm8k_reference(numbers[-1]), "last_number"
            return None, "no_match"
        prepared = _prepare_numeric_text(text)
        marks = _ROBUST_HASH_RE.findall(prepared)
        if marks:
            return canonical_decimal(marks[-1]), "hash_marker"
        boxed = extract_boxed(prepared, "last")
        if boxed is not None:
            number = _last_robust_number(boxed)
            if number is not None:
                return canonical_decimal(number), "boxed"
        number = _last_robust_number(prepared)
        if number is not None:
            return canonical_decimal(number), "last_number"
        return None, "no_match"

    return _guarded("gsm8k", mode, body)


_ANSWER_IS_RE = re.compile(
    r"answer\s+is\s*:?\s*(?:[$€£]\s*)?(" + _ROBUST_NUMBER + ")", re.IGNORECASE
)


def extract_lenient_number(text: str) -> Extraction:
    """Lenient numeric extraction for tiny models (SmolLM2-135M answers "7 + 5 = 12").

    Rules, in order: the number right after "answer is"; else the first number after the last
    ``=``; else the first number in the text. Separators are removed first and the number is
    canonicalized as in robust GSM8K mode.

    >>> [extract_lenient_number(s).answer for s in ["7 + 5 = 12", "The answer is 15.", "12 apples"]]
    ['12', '15', '12']
    """

    def body() -> tuple[str | None, str]:
        if not isinstance(text, str) or not text.strip():
            return None, "empty"
        prepared = _prepare_numeric_text(text)
        match = _ANSWER_IS_RE.search(prepared)
        if match:
            return canonical_decimal(match.group(1)), "answer_is"
        if "=" in prepared:
            after = prepared[prepared.rindex("=") + 1 :]
            match = _ROBUST_NUMBER_RE.search(after)
            if match:
                return canonical_decimal(match.group(0)), "after_last_equals"
        match = _ROBUST_NUMBER_RE.search(prepared)
        if match:
            return canonical_decimal(match.group(0)), "first_number"
        return None, "no_match"

    return _guarded("lenient_number", "lenient", body)
