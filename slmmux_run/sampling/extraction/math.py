r"""MATH answers: the ``\boxed{}`` content normalized (METHODS §8.2-8.4), reference and robust.

Runner layer, pure functions, no I/O.
"""

from __future__ import annotations

import re
from typing import Literal

from slmmux_run.sampling.extraction.contract import Extraction, Mode, _check_mode, _guarded
from slmmux_run.sampling.extraction.numbers import (
    _balanced_content,
    canonical_decimal,
    extract_boxed,
    remove_digit_group_separators,
)

__all__ = ["extract_math", "normalize_math_answer"]

def _unwrap_text_reference(answer: str) -> str:
    # The lineage's pattern is non-greedy but anchored, so "\text{a} or \text{b}" unwraps to
    # "a} or \text{b": a quirk kept in reference mode.
    match = re.search(r"^\\text\{(?P<text>.+?)\}$", answer)
    return match.group("text").strip() if match else answer


def _unwrap_text_robust(answer: str) -> str:
    if answer.startswith("\\text{"):
        content = _balanced_content(answer, len("\\text{"))
        if content is not None and len(content) + len("\\text{}") == len(answer) and content:
            return content.strip()
    return answer


def _fix_sqrt_reference(answer: str) -> str:
    parts = answer.split("\\sqrt")
    rebuilt = parts[0]
    for part in parts[1:]:
        if part.startswith("{") or not part:
            # An empty tail ("\sqrt" at the end) crashed the lineage; here it stays as it is.
            rebuilt += "\\sqrt" + part
        else:
            rebuilt += "\\sqrt{" + part[0] + "}" + part[1:]
    return rebuilt


def _fix_sqrt_robust(answer: str) -> str:
    # Brace the whole argument: a digit run (with decimals) or one letter, spaces skipped.
    return re.sub(r"\\sqrt\s*(\d+(?:\.\d+)?|[A-Za-z])", r"\\sqrt{\1}", answer)


def _fix_fracs(answer: str) -> str:
    parts = answer.split("\\frac")
    rebuilt = parts[0]
    for part in parts[1:]:
        rebuilt += "\\frac"
        if part.startswith("{") or len(part) < 2:
            rebuilt += part
        elif part[1] == "{":
            rebuilt += "{" + part[0] + "}" + part[1:]
        else:
            rebuilt += "{" + part[0] + "}{" + part[1] + "}" + part[2:]
    return rebuilt


def _fix_slash_reference(answer: str) -> str:
    if answer.count("/") != 1:
        return answer
    left, right = answer.split("/")
    try:  # int() as in the lineage: it also accepts "+3" and "1_0"
        return f"\\frac{{{int(left)}}}{{{int(right)}}}"
    except ValueError:
        return answer


def _fix_slash_robust(answer: str) -> str:
    match = re.fullmatch(r"(-?\d+)/(-?\d+)", answer)
    if match is None:
        return answer
    return f"\\frac{{{int(match.group(1))}}}{{{int(match.group(2))}}}"


def normalize_math_answer(answer: str, mode: Mode = "robust") -> str:
    r"""The 13-step MATH normalizer of METHODS §8.2, in order.

    Robust mode changes only these steps [decision]:

    * step 1 unwraps ``\text{...}`` only when its braces enclose the whole string, and step 5
      keeps the words of ``\text{}`` groups that start the string instead of cutting them;
    * a pair of enclosing ``$`` and a trailing full stop are dropped first; ``°`` counts as a
      degree mark;
    * step 9 braces the whole square-root argument (``\sqrt12`` -> ``\sqrt{12}``,
      ``\sqrt 3`` -> ``\sqrt{3}``) where the lineage braces one character;
    * after step 10, a plain number loses digit-group separators (``8{,}000``, ``8,000``) and
      is written as a canonical decimal (``18.00`` -> ``18``) before step 12 sees it;
    * step 13 accepts only signed integer sides (the lineage uses ``int()``, which also takes
      ``1_0``).

    >>> normalize_math_answer(r"\sqrt12", "reference"), normalize_math_answer(r"\sqrt12")
    ('\\sqrt{1}2', '\\sqrt{12}')
    >>> normalize_math_answer(r"x = \dfrac{3}{4}")
    '\\frac{3}{4}'
    """
    _check_mode(mode)
    robust = mode == "robust"
    answer = answer.strip()
    if robust:
        if len(answer) >= 2 and answer.startswith("$") and answer.endswith("$"):
            answer = answer.strip("$").strip()
        if answer.endswith(".") and not answer.endswith("\\."):
            answer = answer[:-1].rstrip()
    # 1. whole-string \text{...}
    answer = _unwrap_text_robust(answer) if robust else _unwrap_text_reference(answer)
    # 2. newlines, \!, double backslash
    answer = answer.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    # 3. tfrac/dfrac -> frac; \left, \right
    answer = answer.replace("tfrac", "frac").replace("dfrac", "frac")
    answer = answer.replace("\\left", "").replace("\\right", "")
    # 4. degrees and escaped dollars
    answer = answer.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\$", "")
    if robust:
        answer = answer.replace("°", "")
    # 5. units: keep what precedes the first \text{
    if robust and answer.startswith("\\text{"):
        # Nothing precedes it, so it is words, not a unit: keep the words ("\text{East}\text{ wing}").
        answer = re.sub(r"\\text\{([^{}]*)\}", r"\1", answer)
    if "\\text{" in answer:
        answer = answer.split("\\text{")[0]
    # 6. percent
    answer = answer.replace("\\%", "").replace("%", "")
    # 7. leading decimals
    answer = answer.replace(" .", " 0.").replace("{.", "{0.")
    if answer.startswith("."):
        answer = "0" + answer
    # 8. simple assignments "x = 5", "k=3"
    if answer.count("=") == 1 and len(answer.split("=")[0]) <= 2:
        answer = answer.split("=")[1]
    # 9. square roots
    answer = _fix_sqrt_robust(answer) if robust else _fix_sqrt_reference(answer)
    # 10. spaces
    answer = answer.replace(" ", "")
    if robust:
        answer = answer.strip()
        plain = remove_digit_group_separators(answer)
        number = canonical_decimal(plain) if re.fullmatch(r"-?[\d.]+", plain) else None
        if number is not None:
            answer = number
    # 11. \frac12 -> \frac{1}{2}
    answer = _fix_fracs(answer)
    # 12. 0.5 -> \frac{1}{2}
    if answer == "0.5":
        answer = "\\frac{1}{2}"
    # 13. a/b -> \frac{a}{b}
    return _fix_slash_robust(answer) if robust else _fix_slash_reference(answer)


def extract_math(
    text: str, mode: Mode = "robust", boxed_position: Literal["first", "last"] = "first"
) -> Extraction:
    r"""Extract a MATH answer: the first (or last) ``\boxed{}``, then :func:`normalize_math_answer`.

    No box, or a box whose braces never balance, is ⊥ (METHODS §8.2).

    >>> extract_math(r"\boxed{\sqrt12}", mode="reference").answer
    '\\sqrt{1}2'
    """
    _check_mode(mode)

    def body() -> tuple[str | None, str]:
        if not isinstance(text, str) or not text.strip():
            return None, "empty"
        content = extract_boxed(text, boxed_position)
        if content is None:
            return None, "no_boxed"
        return normalize_math_answer(content, mode), f"boxed_{boxed_position}"

    return _guarded("math", mode, body)
