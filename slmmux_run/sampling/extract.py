r"""Answer extractors: raw model text -> normalized answer string, or ⊥ (``None``).

Runner layer, pure functions, no I/O. This module is the front door: the registry
(:func:`get_extractor`, :data:`EXTRACTORS`) and every extractor's public name, re-exported from
the module of its answer format in :mod:`slmmux_run.sampling.extraction` (``gsm8k``: GSM8K and
lenient numbers; ``math``; ``choice``: multiple choice; ``modelswitch``: ModelSwitch parity;
shared text primitives in ``numbers``; the contract in ``contract``). Every extractor follows
the contract of METHODS §8.1: it never raises, it carries a version string that is stored in every
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

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from slmmux_run.sampling.extraction.choice import choice_letters, extract_multiple_choice
from slmmux_run.sampling.extraction.contract import Extraction, Mode, _check_mode, _version
from slmmux_run.sampling.extraction.gsm8k import extract_gsm8k, extract_lenient_number
from slmmux_run.sampling.extraction.math import extract_math, normalize_math_answer
from slmmux_run.sampling.extraction.modelswitch import (
    extract_modelswitch_letter,
    extract_modelswitch_math,
    extract_modelswitch_numeric,
)
from slmmux_run.sampling.extraction.numbers import (
    canonical_decimal,
    extract_boxed,
    normalize_gsm8k_reference,
    remove_digit_group_separators,
)

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
