r"""Grading: a normalized answer against a normalized reference, layer by layer (METHODS §8.6).

Floor 2 of the runner; pure functions, no I/O. Layer 1 is normalized exact match, the package
default and the only layer ever used for votes (METHODS §1.5). Layer 2, symbolic equivalence, is
optional and only grades: it parses both sides as LaTeX into SymPy and tests *mathematical*
equality (an exact difference of zero for constants; agreement at five seeded random points for
expressions with variables, ``simplify(a - b) == 0`` when no point evaluates). Every :class:`Grade` names the layer that decided.

SymPy's own LaTeX parser needs the ``antlr4`` runtime (4.11), which is not a dependency. A small
parser of our own does the work, so verdicts do not depend on the environment; SymPy's parser is
an opt-in fallback (``antlr_fallback=True``) for what ours rejects. Ours handles
the common forms: integers, decimals, repeating decimals (``0.\overline{3}``), ``\frac``, mixed
numbers (``3\frac{1}{2}``), ``\sqrt``, ``\pi``, powers, implicit products, tuples and intervals
element-wise, unions of intervals, ``x \in [a, b]``, unordered answer lists.

ModelSwitch parity graders (METHODS §7.7) are here too.

Example:
  >>> grade("8000", "8000").layer
  'exact'
  >>> g = grade(r"\frac{1}{2}", "0.5", layers=("exact", "symbolic"))
  >>> g.correct, g.layer
  (True, 'symbolic')
  >>> grade(None, "3").layer
  'abstain'
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from slmmux_run.sampling.extract import normalize_math_answer, remove_digit_group_separators

__all__ = [
    "LAYERS",
    "Equivalence",
    "Grade",
    "grade",
    "grade_exact",
    "latex_to_sympy",
    "modelswitch_math_equal",
    "modelswitch_numeric_equal",
    "modelswitch_string_equal",
    "symbolic_equivalence",
]

LAYERS: tuple[str, ...] = ("exact", "symbolic")
SYMBOLIC_VERSION = "symbolic/1"

# SymPy is imported by the symbolic layer only, on first use: importing the runner (and
# starting the CLI) must not pay for it.
_FUNCTIONS = ("sqrt", "root", "sin", "cos", "tan", "log", "exp", "pi", "oo")
"""Names the symbolic parser reads as SymPy functions and constants (never as letters)."""


@functools.cache
def _sympy_names() -> dict:
    """The SymPy objects named in :data:`_FUNCTIONS`."""
    import sympy

    return {name: getattr(sympy, name) for name in _FUNCTIONS}


@functools.cache
def _transformations() -> tuple:
    from sympy.parsing.sympy_parser import (
        implicit_multiplication_application,
        rationalize,
        standard_transformations,
    )

    return (*standard_transformations, implicit_multiplication_application, rationalize)

# Seeded once, explicitly: the random-point check must give the same verdict on every run.
_POINT_SEED = 20260
_MAX_LENGTH = 300


@dataclass(frozen=True)
class Grade:
    """Verdict on one answer.

    Attributes:
      correct: whether the answer counts as correct; ⊥ is never correct.
      layer: the layer that decided: ``"abstain"`` (no answer), ``"exact"`` or ``"symbolic"``.
      detail: a short reason, e.g. ``"match"``, ``"mismatch"``, ``"simplify"``, ``"unparsed"``.
    """

    correct: bool
    layer: str
    detail: str


@dataclass(frozen=True)
class Equivalence:
    """Result of the symbolic layer.

    Attributes:
      equal: ``True``/``False`` when decided, ``None`` when either side could not be parsed.
      method: how it was decided (``"canonical_form"`` when SymPy builds the same expression,
        ``"exact_difference"``, ``"simplify"``, ``"random_points"``,
        ``"numeric"``, ``"structure"``) or why not (``"unparsed"``).
    """

    equal: bool | None
    method: str


# ---- layer 1 -------------------------------------------------------------------------------


def grade_exact(answer: str | None, reference: str | None) -> Grade:
    """Layer 1: normalized exact match. ⊥ abstains and is graded wrong (METHODS §1.3b).

    >>> grade_exact("18", "18.00")
    Grade(correct=False, layer='exact', detail='mismatch')
    """
    if answer is None:
        return Grade(False, "abstain", "no answer")
    if reference is None:
        return Grade(False, "exact", "no reference")
    if answer == reference:
        return Grade(True, "exact", "match")
    return Grade(False, "exact", "mismatch")


def grade(answer: str | None, reference: str | None, layers: Sequence[str] = ("exact",)) -> Grade:
    """Grade through the requested layers, recording which one decided.

    The exact layer always runs first. The symbolic layer, when requested, decides only if it
    could parse both sides; otherwise the exact mismatch stands.

    Args:
      answer: the normalized answer, or ``None`` (⊥).
      reference: the normalized reference answer.
      layers: a subset of :data:`LAYERS`, e.g. ``("exact", "symbolic")``.

    >>> grade("2", "3", layers=("exact", "symbolic"))
    Grade(correct=False, layer='symbolic', detail='exact_difference')
    """
    unknown = set(layers) - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown grading layers {sorted(unknown)}; choose from {LAYERS}")
    first = grade_exact(answer, reference)
    if first.correct or first.layer == "abstain" or reference is None:
        return first
    if "symbolic" not in layers:
        return first
    verdict = symbolic_equivalence(answer, reference)  # type: ignore[arg-type]
    if verdict.equal is None:
        return Grade(False, "exact", f"mismatch; symbolic {verdict.method}")
    return Grade(verdict.equal, "symbolic", verdict.method)


# ---- layer 2: parsing ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sequence:
    """A bracketed tuple or interval, or an unordered list (brackets empty)."""

    left: str
    right: str
    items: tuple
    ordered: bool


def _antlr_available() -> bool:
    return importlib.util.find_spec("antlr4") is not None


def _read_group(text: str, start: int) -> tuple[str, int] | None:
    """A braced group or a single character at ``start``: (content, index after it)."""
    while start < len(text) and text[start] == " ":
        start += 1
    if start >= len(text):
        return None
    if text[start] != "{":
        return text[start], start + 1
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : index], index + 1
    return None


def _rewrite_commands(text: str) -> str | None:
    r"""Rewrite ``\frac`` and ``\sqrt`` (recursively) into function-call syntax."""
    output = []
    index = 0
    while index < len(text):
        if text.startswith("\\frac", index):
            numerator = _read_group(text, index + 5)
            if numerator is None:
                return None
            denominator = _read_group(text, numerator[1])
            if denominator is None:
                return None
            top, bottom = _rewrite_commands(numerator[0]), _rewrite_commands(denominator[0])
            if top is None or bottom is None:
                return None
            output.append(f"(({top})/({bottom}))")
            index = denominator[1]
        elif text.startswith("\\sqrt", index):
            index += 5
            degree = None
            if index < len(text) and text[index] == "[":
                close = text.find("]", index)
                if close < 0:
                    return None
                degree = _rewrite_commands(text[index + 1 : close])
                index = close + 1
            argument = _read_group(text, index)
            if argument is None:
                return None
            inner = _rewrite_commands(argument[0])
            if inner is None:
                return None
            output.append(f"sqrt({inner})" if degree is None else f"root({inner},{degree})")
            index = argument[1]
        else:
            output.append(text[index])
            index += 1
    return "".join(output)


_CLEANUP_REPLACEMENTS = (
    ("\\left", ""),
    ("\\right", ""),
    ("\\displaystyle", ""),
    ("\\dfrac", "\\frac"),
    ("\\tfrac", "\\frac"),
    ("\\!", ""),
    ("\\,", ""),
    ("\\;", ""),
    ("\\:", ""),
    ("\\ ", ""),
    ("^{\\circ}", ""),
    ("^\\circ", ""),
    ("°", ""),
    ("\\%", ""),
    ("%", ""),
    ("\\$", ""),
    ("$", ""),
)
_COMMAND_REPLACEMENTS = (
    ("\\cdot", "*"),
    ("\\times", "*"),
    ("\\div", "/"),
    ("\\pi", " pi "),
    ("\\infty", " oo "),
    ("\\ln", " log "),
    ("\\log", " log "),
    ("\\sin", " sin "),
    ("\\cos", " cos "),
    ("\\tan", " tan "),
    ("\\exp", " exp "),
)


def _repeating_decimal(match: re.Match) -> str:
    r"""``0.1\overline{6}`` -> the exact fraction ``(1/6)``."""
    sign, integer, fixed, period = (
        match.group(1),
        match.group(2) or "0",
        match.group(3),
        match.group(4),
    )
    # x = integer.fixed(period)(period)...: shift out the fixed digits, then one period.
    whole = int(integer + fixed + period) - int(integer + fixed)
    denominator = (10 ** len(period) - 1) * 10 ** len(fixed)
    return f"({sign}{whole}/{denominator})"


def _clean(text: str) -> str:
    for old, new in _CLEANUP_REPLACEMENTS:
        text = text.replace(old, new)
    # Units and words: drop \text{...}, \mbox{...}, \mathrm{...} groups entirely.
    text = re.sub(r"\\(?:text|mbox|mathrm|textbf)\{[^{}]*\}", "", text)
    text = remove_digit_group_separators(text).strip()
    # "x \in [2, 5]" states the answer set [2, 5].
    text = re.sub(r"^[A-Za-z]\s*\\in\s*", "", text)
    text = re.sub(r"(-?)(\d*)\.(\d*)\\overline\{(\d+)\}", _repeating_decimal, text)
    # A whole number directly before a proper fraction of integers is a mixed number (MATH
    # writes 3\frac{1}{2} for 7/2); a product would be written with \cdot or a variable.
    return re.sub(
        r"(?<![\d.^_{])(\d+)\s*\\frac\{(\d+)\}\{(\d+)\}",
        lambda m: (
            f"({m.group(1)}+\\frac{{{m.group(2)}}}{{{m.group(3)}}})"
            if int(m.group(2)) < int(m.group(3))
            else m.group(0)
        ),
        text,
    )


def _expression(text: str):
    """One scalar expression -> SymPy, or ``None``."""
    text = text.strip()
    if not text:
        return None
    if text.count("=") == 1 and len(text.split("=")[0].strip()) <= 2:
        text = text.split("=")[1]
    rewritten = _rewrite_commands(text)
    if rewritten is None:
        return None
    for old, new in _COMMAND_REPLACEMENTS:
        rewritten = rewritten.replace(old, new)
    rewritten = rewritten.replace("^", "**").replace("{", "(").replace("}", ")")
    if "\\" in rewritten or re.search(r"[^0-9A-Za-z+\-*/().\s,]", rewritten):
        return None
    if re.search(r"\.(?!\d)|(?<!\d)\.", rewritten):
        return None  # a dot outside a decimal could reach attributes through eval
    if rewritten.count("**") > 3 or any(
        len(exponent) > 3 for exponent in re.findall(r"\*\*\s*\(?\s*(\d+)", rewritten)
    ):
        return None  # keep exact powers small enough to evaluate instantly

    def split_word(match: re.Match) -> str:
        word = match.group(0)
        if word in _FUNCTIONS:
            return f" {word} "
        if len(word) <= 4:
            return " ".join(word)  # "2ab" is 2*a*b
        raise ValueError(word)

    try:
        rewritten = re.sub(r"[A-Za-z]+", split_word, rewritten)
    except ValueError:
        return None
    import sympy
    from sympy.parsing.sympy_parser import parse_expr

    letters = {letter: sympy.Symbol(letter) for letter in set(re.findall(r"[A-Za-z]", rewritten))}
    names = {**letters, **_sympy_names()}
    try:
        return parse_expr(rewritten, local_dict=names, transformations=_transformations())
    except Exception:  # noqa: BLE001 - any parse failure means "not parsed"
        return None


def _split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, start = [], 0, 0
    index = 0
    while index < len(text):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            start = index + len(separator)
            index = start
            continue
        index += 1
    parts.append(text[start:])
    return parts


def _value(text: str):
    """Parse an answer into an expression, a :class:`_Sequence`, or a union tuple."""
    if "\\pm" in text or "\\mp" in text:
        return None
    unions = _split_top_level(text, "\\cup")
    if len(unions) > 1:
        pieces = [_value(piece.strip()) for piece in unions]
        return None if any(p is None for p in pieces) else ("union", tuple(pieces))
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]":
        inner = text[1:-1]
        items = _split_top_level(inner, ",")
        if len(items) > 1:
            values = tuple(_expression(item) for item in items)
            if any(v is None for v in values):
                return None
            return _Sequence(text[0], text[-1], values, True)
    items = _split_top_level(text, ",")
    if len(items) > 1:
        values = tuple(_expression(item) for item in items)
        return None if any(v is None for v in values) else _Sequence("", "", values, False)
    return _expression(text)


def _parse_with_antlr(text: str):
    """SymPy's own LaTeX parser, or ``None`` when it fails (our parser then takes over)."""
    try:
        from sympy.parsing.latex import parse_latex

        return parse_latex(text)
    except Exception:  # noqa: BLE001 - any failure hands over to our parser
        return None


def latex_to_sympy(text: str, antlr_fallback: bool = False):
    r"""Parse a LaTeX answer into SymPy (or a tuple/interval/union structure); ``None`` if not.

    With ``antlr_fallback=True``, SymPy's antlr-based parser is tried on what ours rejects (if
    ``antlr4`` 4.11 is importable). It is off by default because that parser is lenient with
    garbage: with antlr 4.11 it reads ``(1).conjugate()`` as 1 and ``\overline{3}`` as 3.

    >>> latex_to_sympy(r"\frac{\sqrt{8}}{2}")
    sqrt(2)
    >>> latex_to_sympy("0.25")
    1/4
    """
    if not isinstance(text, str) or len(text) > _MAX_LENGTH:
        return None
    cleaned = _clean(text)
    if not cleaned:
        return None
    parsed = _value(cleaned)
    if parsed is None and antlr_fallback and _antlr_available() and "," not in cleaned:
        # Our parser first, so verdicts on the common forms do not depend on the environment.
        parsed = _parse_with_antlr(cleaned)
    return parsed


# ---- layer 2: comparing ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _constant_value(expression) -> complex | None:
    """The value of a constant expression to 30 digits, or ``None`` (symbols, not finite)."""
    try:
        if expression.free_symbols:
            return None
        value = complex(expression.evalf(30))
    except Exception:  # noqa: BLE001 - not a number (a structure, an undefined value)
        return None
    return value if np.isfinite(value.real) and np.isfinite(value.imag) else None


def _expressions_equal(first, second) -> tuple[bool, str]:
    import sympy

    if first == second:
        return True, "canonical_form"
    try:
        numbers = getattr(first, "is_Number", False) and getattr(second, "is_Number", False)
        left, right = (None, None) if numbers else (_constant_value(first), _constant_value(second))
        if left is not None and right is not None:
            if abs(left - right) > 1e-12 * max(1.0, abs(left), abs(right)):
                # Clearly different constants: SymPy's exact test (is_zero) can take a second
                # on radicals, and a regrade compares thousands of pairs.
                return False, "numeric"
        difference = first - second
        if difference == 0:
            return True, "exact_difference"
        if not difference.free_symbols:
            zero = difference.is_zero
            if zero is not None:
                return bool(zero), "exact_difference"
            value = complex(difference.evalf(50))
            scale = max(1.0, abs(complex(first.evalf(30))))
            return abs(value) < 1e-25 * scale, "numeric"
        # Random points first: they refute a false identity at once, where simplify() can take
        # a minute on powers such as (x + y + 1)^99; simplify() only runs if no point evaluates.
        generator = np.random.default_rng(_POINT_SEED)
        symbols = sorted(difference.free_symbols, key=str)
        evaluated = 0
        for _ in range(5):
            point = {s: sympy.Float(generator.uniform(0.5, 2.5)) for s in symbols}
            left = complex(first.evalf(30, subs=point))
            right = complex(second.evalf(30, subs=point))
            if not all(map(np.isfinite, (left.real, left.imag, right.real, right.imag))):
                continue  # a pole or an undefined value at this point says nothing
            evaluated += 1
            if abs(left - right) > 1e-9 * max(1.0, abs(left), abs(right)):
                return False, "random_points"
        if evaluated:
            return True, "random_points"
        return sympy.simplify(difference) == 0, "simplify"
    except Exception:  # noqa: BLE001 - e.g. TypeError comparing a number with a structure
        return False, "structure"


def _values_equal(first, second) -> tuple[bool, str]:
    if isinstance(first, _Sequence) or isinstance(second, _Sequence):
        if not (isinstance(first, _Sequence) and isinstance(second, _Sequence)):
            return False, "structure"
        if (first.left, first.right, first.ordered) != (second.left, second.right, second.ordered):
            return False, "structure"
        if len(first.items) != len(second.items):
            return False, "structure"
        if first.ordered:
            verdicts = [_expressions_equal(a, b) for a, b in zip(first.items, second.items)]
            return all(v for v, _ in verdicts), "elementwise"
        remaining = list(second.items)
        for item in first.items:  # unordered lists: greedy matching of equal elements
            match = next(
                (i for i, r in enumerate(remaining) if _expressions_equal(item, r)[0]), None
            )
            if match is None:
                return False, "elementwise"
            remaining.pop(match)
        return True, "elementwise"
    if isinstance(first, tuple) or isinstance(second, tuple):
        if not (isinstance(first, tuple) and isinstance(second, tuple)):
            return False, "structure"
        if len(first[1]) != len(second[1]):
            return False, "structure"
        verdicts = [_values_equal(a, b) for a, b in zip(first[1], second[1])]
        return all(v for v, _ in verdicts), "elementwise"
    return _expressions_equal(first, second)


def _strip_unit_words(text: str) -> str:
    """Drop trailing unit words after a number ("5 cm", "\\text{12 square feet}").

    Runs before the normalizer deletes spaces, while "5 cm" and 5*c*m still differ; a word
    must have two or more letters and not be a function name, so "2 x" and "2 pi" survive.
    """
    text = text.strip()
    if text.startswith("\\text{") and text.endswith("}") and text.count("{") == 1:
        text = text[len("\\text{") : -1].strip()
    match = re.fullmatch(r"(.*[\d}])((?:\s+[A-Za-z]{2,})+)\.?", text)
    if match and not set(match.group(2).split()) & set(_FUNCTIONS):
        return match.group(1)
    return text


@functools.lru_cache(maxsize=1 << 16)
def _parsed(text: str, antlr_fallback: bool = False):
    """One answer through the normalizer and the parser, cached: a regrade compares each
    distinct string with many others, and SymPy parsing is the slow step. SymPy expressions
    are immutable, so sharing them is safe."""
    return latex_to_sympy(normalize_math_answer(_strip_unit_words(text), "robust"), antlr_fallback)


def _final_side(answer: str, reference: str) -> str:
    """The value an equation states last, unless the reference is itself an equation, the
    answer is a list (``x=3,x=5`` is read element by element) or the last side is 0."""
    if "=" not in answer or "=" in reference or len(_split_top_level(answer, ",")) > 1:
        return answer
    side = answer.rsplit("=", 1)[1]
    # "x^3-8x-16=0" is an equation, not the value 0.
    return side if side.strip(" \\;,.") not in ("", "0") else answer


_SPACING = ("\\left", "\\right", "\\displaystyle", "\\,", "\\;", "\\:", "\\!", "\\ ", " ")


@functools.lru_cache(maxsize=1 << 16)
def _normal_form(text: str) -> str:
    """The normalizer's string without spacing commands and one-token braces (``x^{8}`` is
    ``x^8``): what remains are the same characters in the same order, never fewer words."""
    text = normalize_math_answer(_strip_unit_words(text), "robust")
    for command in _SPACING:
        text = text.replace(command, "")
    return re.sub(r"([_^])\{([A-Za-z0-9]+)\}", r"\1\2", text)


def symbolic_equivalence(answer: str, reference: str, antlr_fallback: bool = False) -> Equivalence:
    r"""Layer 2: are two answers mathematically equal?

    Both sides go through the robust MATH normalizer first (so ``\dfrac``, ``\left``, units
    and degree marks are gone), then :func:`latex_to_sympy`. Never raises.

    An answer written as an equation (``m+n=5+24=29``) states its value last: against a
    reference that is not itself an equation, the side after the last ``=`` is compared. When
    either side cannot be parsed, equal *normal forms* (the normalizer's string without spacing
    commands and without braces around a one-token subscript or exponent: ``2516_{8}`` is
    ``2516_8``) still decide equality.

    >>> symbolic_equivalence(r"2\sqrt{2}", r"\sqrt{8}")
    Equivalence(equal=True, method='canonical_form')
    >>> symbolic_equivalence("(1,2]", "(1,2)").equal
    False
    >>> symbolic_equivalence("2516_{8}", "2516_8")
    Equivalence(equal=True, method='normalized_form')
    """
    try:
        answer = _final_side(answer, reference)
        left, right = _parsed(answer, antlr_fallback), _parsed(reference, antlr_fallback)
        if left is None or right is None:
            if _normal_form(answer) and _normal_form(answer) == _normal_form(reference):
                return Equivalence(True, "normalized_form")
            return Equivalence(None, "unparsed")
        equal, method = _values_equal(left, right)
        return Equivalence(equal, method)
    except Exception:  # noqa: BLE001 - grading must not crash a run
        return Equivalence(None, "unparsed")


# ---- ModelSwitch parity (METHODS §7.7) -------------------------------------------------------


def modelswitch_numeric_equal(answer: str | None, reference: str | None) -> bool:
    """ModelSwitch numeric correctness: ``|answer - reference| < 1e-6`` after removing commas.

    >>> modelswitch_numeric_equal("18.00", "18")
    True
    """
    if answer is None or reference is None:
        return False
    try:
        return abs(float(answer.replace(",", "")) - float(reference.replace(",", ""))) < 1e-6
    except ValueError:
        return False


def modelswitch_string_equal(answer: str | None, reference: str | None) -> bool:
    """ModelSwitch's rule for other tasks: unwrap a ``{...}``, drop spaces, lower-case, compare.

    >>> modelswitch_string_equal("{ B }", "b")
    True
    """
    if answer is None or reference is None:
        return False
    match = re.search(r"\{(.*?)\}", answer)
    if match:
        answer = match.group(1)
    return answer.replace(" ", "").lower() == reference.replace(" ", "").lower()


def modelswitch_math_equal(answer: str | None, reference: str | None) -> bool:
    r"""ModelSwitch MATH correctness without its SymPy step: Hendrycks-style cleanup of both
    sides (the reference-mode normalizer) and string equality.

    ModelSwitch also tries a *structural* SymPy comparison of parsed LaTeX first; it only
    accepts identical trees, which the cleanup mostly already equates [decision: omitted].

    >>> modelswitch_math_equal(r"\dfrac{1}{2}", "0.5")
    True
    """
    if answer is None or reference is None:
        return False
    return normalize_math_answer(answer, "reference") == normalize_math_answer(
        reference.replace(" ", ""), "reference"
    )
