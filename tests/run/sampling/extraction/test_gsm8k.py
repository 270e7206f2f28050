"""Tests for slmmux_run.sampling.extraction.gsm8k: GSM8K and lenient numeric extraction (cases,
fuzzing, round trips, and the shared GSM8K-500 golds)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from slmmux_run.data.paths import data_file
from slmmux_run.errors import UserError
from slmmux_run.sampling.extraction.gsm8k import extract_gsm8k, extract_lenient_number
from tests.run.sampling.extraction.strategies import ANY_TEXT, CANONICAL_NUMBER


def test_reference_and_robust_differ_on_thousands_marker():
    text = "Adding up, #### 1,000"
    assert extract_gsm8k(text, "reference").answer == "1"
    assert extract_gsm8k(text, "robust").answer == "1000"


def test_abstention_is_none_never_a_number():
    for text in ["", "   ", "no digits at all", None]:
        result = extract_gsm8k(text)  # type: ignore[arg-type]
        assert result.answer is None and result.abstained


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
@example(text="\uabf0")  # MEETEI MAYEK DIGIT ZERO: Python's \d matches it (found by CI)
@example(text="The answer is \uff11\uff12.")  # full-width 12
def test_robust_numeric_answers_are_canonical(text):
    for result in (extract_gsm8k(text, "robust"), extract_lenient_number(text)):
        assert result.answer is None or CANONICAL_NUMBER.fullmatch(result.answer), result


def test_unicode_digits_are_read_as_ascii_numbers():
    assert extract_gsm8k("The answer is \uff11\uff12.", "robust").answer == "12"
    assert extract_gsm8k("#### \u0663\u0664", "robust").answer == "34"
    assert extract_lenient_number("x = \uabf0").answer == "0"


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_reference_numeric_answers_are_numbers(text):
    result = extract_gsm8k(text, "reference")
    assert result.answer is None or re.fullmatch(r"-?\d*(\.\d+)?", result.answer), result


@settings(max_examples=300, deadline=None)
@given(
    value=st.integers(min_value=-(10**12), max_value=10**12),
    template=st.sampled_from(
        ["#### {}", "The answer is {}.", "So it costs ${} in total", "\\boxed{{{}}}", "{}"]
    ),
    separator=st.sampled_from([",", "\u2009", "{,}", ""]),
)
def test_robust_round_trips_formatted_integers(value, template, separator):
    formatted = f"{abs(value):,}".replace(",", separator)
    if value < 0:
        formatted = "-" + formatted
    text = template.format(formatted)
    assert extract_gsm8k(text, "robust").answer == str(value)
    assert extract_lenient_number(text).answer == str(value)


@settings(max_examples=200, deadline=None)
@given(
    integer=st.integers(min_value=0, max_value=10**6),
    digits=st.text(alphabet="0123456789", max_size=4),
    zeros=st.integers(min_value=0, max_value=3),
)
def test_robust_decimal_canonicalization_keeps_the_value(integer, digits, zeros):
    from decimal import Decimal

    written = f"{integer}.{digits}{'0' * zeros}" if digits or zeros else str(integer)
    answer = extract_gsm8k(f"#### {written}").answer
    assert Decimal(answer) == Decimal(written)
    assert CANONICAL_NUMBER.fullmatch(answer)


def _gsm8k_rows():
    try:
        path = data_file("questions/gsm8k_500.json")
    except UserError:
        pytest.skip("shared data directory not available")
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("mode", ["reference", "robust"])
def test_all_gsm8k_500_gold_solutions_extract_to_numbers(mode):
    rows = _gsm8k_rows()
    assert len(rows) == 500
    for row in rows:
        tail = row["answer"].split("####")[-1].strip()
        answer = extract_gsm8k(row["answer"], mode).answer
        assert answer is not None and re.fullmatch(r"-?\d+(\.\d+)?", answer), (tail, answer)
        if mode == "robust" or "," not in tail:
            # Independent reading of the tail: delete separators, read as a Python integer.
            assert answer == str(int(tail.replace(",", ""))), (tail, answer)
        else:
            assert answer == tail.split(",")[0], (tail, answer)  # the "#### 1,000" -> "1" quirk
