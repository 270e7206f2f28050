"""The extraction contract: the :class:`Extraction` result, extractor versions and the guard that
turns an unexpected exception into a visible ⊥.

Runner layer, pure functions, no I/O (METHODS §8.1): an extractor never raises, carries a
version string stored in every record, and names the rule that decided. Every answer-format
module of :mod:`slmmux_run.sampling.extraction` (``gsm8k``, ``math``, ``choice``,
``modelswitch``) builds its results here;
:mod:`slmmux_run.sampling.extract` is the front door.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["MODES", "Extraction", "Mode"]

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

        >>> from slmmux_run.sampling.extraction.gsm8k import extract_lenient_number
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
