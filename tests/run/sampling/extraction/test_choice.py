"""Tests for slmmux_run.sampling.extraction.choice: multiple-choice letters."""

from __future__ import annotations

from slmmux_run.sampling.extraction.choice import extract_multiple_choice


def test_multiple_choice_letters_come_from_the_item():
    assert extract_multiple_choice("##Answer: E##", "ABCDE").answer == "E"
    assert extract_multiple_choice("##Answer: E##", "ABCD").answer is None
