"""Hypothesis strategies shared by the extractor tests: tricky model outputs, and the canonical
number pattern of robust numeric answers."""

import re

from hypothesis import strategies as st

__all__ = ["ANY_TEXT", "CANONICAL_NUMBER", "TRICKY"]

CANONICAL_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d*[1-9])?")

TRICKY = st.lists(
    st.sampled_from(
        list("0123456789,.-−#$%{}()[]\\=/^_ \n\tABCDEFGHIJabcdxyz:*")
        + [
            "\\boxed{",
            "\\frac",
            "\\sqrt",
            "\\text{",
            "####",
            "answer",
            "Answer: ",
            "##Answer: ",
            "\\dfrac",
            "\\left(",
            "\\right)",
            "\\!",
            "\\,",
            "{,}",
            "=",
            "is ",
            "\u2009",
        ]
    ),
    max_size=40,
).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=80), TRICKY)
