"""The exact engine's front door: input validation, and the width-bucketed pair enumeration."""

import numpy as np
import pytest

from slmmux_theory.engines import exact
from slmmux_theory.engines.exact import (
    exact_accuracy,
    hypergeometric_counts,
    model_switch_exact,
    pooled_vote_accuracy_exact,
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


def test_bucketed_pairs_and_widths_equal_direct_enumeration():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(7) * 0.3, size=(2, 2, 12))
    probs[0, :, :6, 2:6] = 0
    probs /= probs.sum(-1, keepdims=True)
    direct = np.stack([np.asarray(pooled_vote_accuracy_exact(p, 3)) for p in probs])
    np.testing.assert_allclose(exact.pooled_vote_pairs_exact(probs, 3), direct, atol=1e-12)
    switched = exact.by_question_width(probs[0], lambda g: model_switch_exact(g, 2).per_question)
    np.testing.assert_allclose(switched, model_switch_exact(probs[0], 2).per_question, atol=1e-12)
