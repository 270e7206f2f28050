"""SLM-MUX's exact law (rules/slm_mux.py): the spec's test vectors and brute-force enumeration."""

import numpy as np
import pytest

from slmmux_theory.rules.base import MuxConfig
from slmmux_theory.rules.slm_mux import mux_accuracy_exact
from tests.theory import reference_rules as ref
from tests.theory.rules.cases import CASES, P1, P2, P3, question, random_question


@pytest.mark.parametrize("intra", ["random", "first_seen"])
def test_spec_vectors_mux(intra):
    config = MuxConfig(intra_model_tie=intra, cross_model_tie="model_order")
    np.testing.assert_allclose(mux_accuracy_exact(question(P1, P2), 3, config=config), 0.337296, atol=1e-12)
    np.testing.assert_allclose(
        mux_accuracy_exact(question(P1, P2), 3, priority=[1, 0]), 0.080056, atol=1e-12
    )
    np.testing.assert_allclose(mux_accuracy_exact(question(P1, P3), 3), 0.69, atol=1e-12)
    np.testing.assert_allclose(mux_accuracy_exact(question(P1, P3), 3, priority=[1, 0]), 0.575, atol=1e-12)


def test_spec_vectors_validation_accuracy_priority():
    # Model 2 more accurate on validation: it wins ties, as with priority [1, 0].
    value = mux_accuracy_exact(question(P1, P2), 3, validation_accuracy=[0.5, 0.8])
    np.testing.assert_allclose(value, 0.080056, atol=1e-12)


@pytest.mark.parametrize("num_models,k", CASES)
@pytest.mark.parametrize("denominator", ["k", "valid"])
@pytest.mark.parametrize("cross", ["priority", "random"])
def test_mux_equals_brute_force(num_models, k, denominator, cross):
    rng = np.random.default_rng(100 * num_models + k)
    probs = random_question(rng, num_models, 3)
    priority = list(rng.permutation(num_models))
    config = MuxConfig(denominator, "random", "random" if cross == "random" else "model_order")
    got = float(mux_accuracy_exact(probs[:, None], k, config=config, priority=priority)[0])
    for intra in ["random", "first_seen"]:
        want, _ = ref.expectation(
            probs.tolist(), k,
            lambda s: ref.mux_correct(s, 2, priority, denominator, intra, cross),
        )
        assert abs(got - want) < 1e-9, (intra, got, want)


def test_four_slots_brute_force_mux():
    rng = np.random.default_rng(42)
    probs = random_question(rng, 2, 4)
    got = float(mux_accuracy_exact(probs[:, None], 3)[0])
    want, _ = ref.expectation(probs.tolist(), 3, lambda s: ref.mux_correct(s, 3, [0, 1]))
    assert abs(got - want) < 1e-9
