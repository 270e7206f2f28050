"""Tests for slmmux_run.sampling.extraction.math: the MATH normalizer."""

from __future__ import annotations

from hypothesis import given, settings

from slmmux_run.sampling.extraction.math import normalize_math_answer
from tests.run.sampling.extraction.strategies import CANONICAL_NUMBER, TRICKY


@settings(max_examples=200, deadline=None)
@given(text=TRICKY)
def test_robust_math_normalizer_is_idempotent_on_numbers(text):
    once = normalize_math_answer(text, "robust")
    if CANONICAL_NUMBER.fullmatch(once):
        assert normalize_math_answer(once, "robust") == once
