"""Tests for slmmux_run.sampling.extraction.numbers: canonical decimals."""

from __future__ import annotations

import pytest

from slmmux_run.sampling.extraction.numbers import canonical_decimal


@pytest.mark.parametrize(
    "number, expected",
    [("18.00", "18"), ("007", "7"), ("-0", "0"), ("-0.000", "0"), (".25", "0.25"),
     ("3.", "3"), ("+12", "12"), ("-1.50", "-1.5"), ("1e3", None), ("", None), ("-", None)],
)  # fmt: skip
def test_canonical_decimal(number, expected):
    assert canonical_decimal(number) == expected
