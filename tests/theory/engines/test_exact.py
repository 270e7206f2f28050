"""The exact engine's front door: input validation (the width-bucketed pair enumeration is
tested in test_replay.py and test_buckets.py)."""

import pytest

from slmmux_theory.engines.exact import (
    exact_accuracy,
    hypergeometric_counts,
)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: exact_accuracy("slm-mux", [[[0.5, 0.6]]], 3), "sums to"),
        (lambda: exact_accuracy("slm-mux", [[[0.5, 0.5]]], 0), "k"),
        (lambda: exact_accuracy("nope", [[[0.5, 0.5]]], 3), "unknown rule"),
        (lambda: exact_accuracy("slm-mux", [[0.5, 0.5]], 3), "shape"),
        (lambda: exact_accuracy("slm-mux", [[[-0.5, 1.5]]], 3), "negative"),
        (lambda: hypergeometric_counts([[[1, -1, 2]]], 1), "negative"),
        (lambda: hypergeometric_counts([[[1, 1, 0]]], 3), "fewer than"),
        (lambda: exact_accuracy("slm-mux", [[[0.5, 0.5]], [[0.5, 0.5]]], 3, validation_accuracy=[0.1]), "validation_accuracy"),
    ],
)
def test_invalid_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
