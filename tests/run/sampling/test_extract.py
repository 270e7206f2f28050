"""Tests for slmmux_run.sampling.extract, the front door: the tricky-case corpus through the
registry, versions, configuration errors, and fuzzing every registered extractor."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slmmux_run.sampling.extract import EXTRACTORS, Extraction, extract_math, get_extractor
from tests.run.sampling.extraction.strategies import ANY_TEXT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser ships as tomli
    tomllib = pytest.importorskip("tomli")

CORPUS = tomllib.loads((Path(__file__).parent / "extract_corpus.toml").read_text("utf-8"))["case"]


def _run_case(case: dict) -> Extraction:
    extractor = get_extractor(
        case["extractor"], case.get("mode", "robust"), case.get("boxed_position", "first")
    )
    return extractor(case["text"], case.get("letters", ""))


def test_corpus_is_large_and_covers_every_extractor():
    assert len(CORPUS) >= 60
    assert len({case["id"] for case in CORPUS}) == len(CORPUS)
    assert {case["extractor"] for case in CORPUS} == set(EXTRACTORS)
    for case in CORPUS:
        assert ("expected" in case) != bool(case.get("abstain")), case["id"]


@pytest.mark.parametrize("case", CORPUS, ids=[case["id"] for case in CORPUS])
def test_corpus_case(case):
    result = _run_case(case)
    if case.get("abstain"):
        assert result.answer is None
    else:
        assert result.answer == case["expected"]
    if "rule" in case:
        assert result.rule == case["rule"]


def test_versions_name_family_and_mode():
    assert get_extractor("gsm8k", "reference").version == "gsm8k-reference/1"
    assert get_extractor("math").version == "math-robust/1"
    assert get_extractor("lenient_number", "reference").version == "lenient_number-lenient/1"
    result = extract_math(r"\boxed{2}", "reference")
    assert (result.extractor, result.mode, result.version) == (
        "math",
        "reference",
        "math-reference/1",
    )


def test_bad_configuration_raises_value_error():
    with pytest.raises(ValueError):
        get_extractor("nonsense")
    with pytest.raises(ValueError):
        get_extractor("math", "strict")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        get_extractor("math", "robust", "middle")


_ALL_EXTRACTORS = [
    get_extractor(name, mode, position)
    for name in EXTRACTORS
    for mode in ("reference", "robust")
    for position in ("first", "last")
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT, letters=st.sampled_from(["ABCD", "ABCDEFGHIJ", "AB", ""]))
def test_no_input_crashes_any_extractor(text, letters):
    for extractor in _ALL_EXTRACTORS:
        result = extractor(text, letters)
        assert isinstance(result, Extraction)
        assert not result.rule.startswith("internal_error"), (extractor, text, result)
        assert result.answer is None or (isinstance(result.answer, str) and result.answer != "")
        if result.answer is not None and extractor.name == "multiple_choice":
            assert result.answer in letters and len(result.answer) == 1
