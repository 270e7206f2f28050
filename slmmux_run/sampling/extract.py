r"""Answer extractors: raw model text -> normalized answer string, or ⊥ (``None``).

This module sits on floor 1 of the runner: pure functions, no I/O. Every extractor follows the
contract of METHODS §8.1: it never raises, it carries a version string that is stored in every
record, and it returns an :class:`Extraction` naming the rule that decided. ``None`` is the
abstention ⊥ of METHODS §1.3(a): it never votes and is never replaced by a random number.

Two modes exist for the SLM-MUX lineage (METHODS §8.2–8.4):

* ``reference`` reproduces the lineage, quirks included (``#### 1,000`` -> ``"1"``,
  ``\sqrt12`` -> ``\sqrt{1}2``, "the answer choices..." -> ``"C"``), for parity studies;
* ``robust`` (the default) applies the fixes of METHODS §8.3–8.4 plus the few MATH fixes listed
  in :func:`normalize_math_answer`.

Further extractors: :func:`extract_lenient_number` for tiny models that answer "7 + 5 = 12"
(``../shared/models/README.md``), and the ModelSwitch parity extractors of METHODS §7.7.

Example:
  >>> extract_gsm8k("So the total is #### 1,000").answer
  '1000'
  >>> extract_gsm8k("So the total is #### 1,000", mode="reference").answer
  '1'
  >>> extract_math(r"Thus $\boxed{\dfrac{1}{2}}$.").answer
  '\\frac{1}{2}'
  >>> extract_multiple_choice("##Answer: B##", letters="ABCD").answer
  'B'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "EXTRACTORS",
    "Extraction",
    "Extractor",
    "Mode",
    "canonical_decimal",
    "choice_letters",
    "extract_boxed",
    "extract_gsm8k",
    "extract_lenient_number",
    "extract_math",
    "extract_modelswitch_letter",
    "extract_modelswitch_math",
    "extract_modelswitch_numeric",
    "extract_multiple_choice",
    "get_extractor",
    "normalize_gsm8k_reference",
    "normalize_math_answer",
    "remove_digit_group_separators",
]

Mode = Literal["reference", "robust"]
MODES: tuple[str, ...] = ("reference", "robust")

# One version per extractor family; bump when any output for any input can change.
_VERSIONS = {
    "gsm8k": "1",
    "math": "1",
    "multiple_choice": "1",
    "lenient_number": "1",
    "modelswitch_numeric": "1",
    "modelswitch_math": "1",
    "modelswitch_letter": "1",
}


@dataclass(frozen=True)
class Extraction:
    """Result of one extraction.

    Attributes:
      answer: the normalized answer string, or ``None`` for ⊥ (no answer; abstains).
      rule: the rule that decided, e.g. ``"hash_marker"``, ``"last_number"``, ``"no_match"``.
      extractor: the extractor family, e.g. ``"gsm8k"``.
      mode: ``"reference"``, ``"robust"`` or ``"parity"`` (ModelSwitch) / ``"lenient"``.
      version: ``"<extractor>-<mode>/<n>"``, stored in every record.
    """

    answer: str | None
    rule: str
    extractor: str
    mode: str
    version: str

    @property
    def abstained(self) -> bool:
        """True when nothing was extracted (⊥)."""
        return self.answer is None

    def record_fields(self) -> dict[str, str | None]:
        """The fields a record stores next to the raw text.

        >>> extract_lenient_number("7 + 5 = 12").record_fields()["extractor_version"]
        'lenient_number-lenient/1'
        """
        return {
            "answer": self.answer,
            "extraction_rule": self.rule,
            "extractor_version": self.version,
        }


def _version(extractor: str, mode: str) -> str:
    return f"{extractor}-{mode}/{_VERSIONS[extractor]}"


def _result(answer: str | None, rule: str, extractor: str, mode: str) -> Extraction:
    # An empty normalized string is an empty output: ⊥ (METHODS §1.3a), never a vote.
    if answer is not None and answer == "":
        answer, rule = None, f"{rule}:empty"
    return Extraction(answer, rule, extractor, mode, _version(extractor, mode))


def _guarded(extractor: str, mode: str, body: Callable[[], tuple[str | None, str]]) -> Extraction:
    """Run ``body`` and turn any unexpected exception into ⊥ with a visible rule name.

    The contract says extractors never raise; a bug must still be visible in the records,
    so the rule becomes ``internal_error:<type>`` (the fuzz tests assert it never occurs).
    """
    try:
        answer, rule = body()
    except Exception as error:  # noqa: BLE001 - the contract forbids raising
        return _result(None, f"internal_error:{type(error).__name__}", extractor, mode)
    return _result(answer, rule, extractor, mode)


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


# ---- numbers -------------------------------------------------------------------------------

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


# ---- boxed ---------------------------------------------------------------------------------


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


# ---- GSM8K ---------------------------------------------------------------------------------

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


# ---- lenient numbers for tiny models ---------------------------------------------------------

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


# ---- MATH ----------------------------------------------------------------------------------


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


# ---- multiple choice -------------------------------------------------------------------------


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


# ---- ModelSwitch parity (METHODS §7.7) -------------------------------------------------------


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


# ---- registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extractor:
    """A configured extractor: ``extractor(text, letters)`` -> :class:`Extraction`.

    Attributes:
      name: the family, one of :data:`EXTRACTORS`.
      mode: ``"reference"``/``"robust"`` for the lineage; ``"parity"``/``"lenient"`` otherwise.
      version: the version string stored in records.
      boxed_position: which box MATH extraction reads.
    """

    name: str
    mode: str
    version: str
    boxed_position: str = "first"

    def __call__(self, text: str, letters: str | Iterable[str] = "") -> Extraction:
        """Extract from ``text``; ``letters`` are the valid choices (multiple choice only)."""
        if self.name == "gsm8k":
            return extract_gsm8k(text, self.mode)  # type: ignore[arg-type]
        if self.name == "math":
            return extract_math(text, self.mode, self.boxed_position)  # type: ignore[arg-type]
        if self.name == "multiple_choice":
            return extract_multiple_choice(text, letters, self.mode)  # type: ignore[arg-type]
        return _PLAIN[self.name](text)


_PLAIN: dict[str, Callable[[str], Extraction]] = {
    "lenient_number": extract_lenient_number,
    "modelswitch_numeric": extract_modelswitch_numeric,
    "modelswitch_math": extract_modelswitch_math,
    "modelswitch_letter": extract_modelswitch_letter,
}
EXTRACTORS: tuple[str, ...] = ("gsm8k", "math", "multiple_choice", *_PLAIN)


def get_extractor(name: str, mode: Mode = "robust", boxed_position: str = "first") -> Extractor:
    """Look up an extractor by family name.

    Args:
      name: one of :data:`EXTRACTORS`.
      mode: ``"reference"`` or ``"robust"``; ignored by the lenient and ModelSwitch families.
      boxed_position: ``"first"`` or ``"last"`` (MATH only).

    Raises:
      ValueError: for an unknown name, mode or position.

    >>> get_extractor("gsm8k", "reference").version
    'gsm8k-reference/1'
    """
    if name not in EXTRACTORS:
        raise ValueError(f"unknown extractor {name!r}; choose one of {EXTRACTORS}")
    if boxed_position not in ("first", "last"):
        raise ValueError(f"boxed_position must be 'first' or 'last', got {boxed_position!r}")
    if name in ("gsm8k", "math", "multiple_choice"):
        _check_mode(mode)
        effective = mode
    else:
        effective = "lenient" if name == "lenient_number" else "parity"
    return Extractor(name, effective, _version(name, effective), boxed_position)
