"""The confidence-weighted vote's exact law (rules/confidence_weighted.py) against brute force."""

import numpy as np
import pytest

from slmmux_theory.rules.base import MuxConfig
from slmmux_theory.rules.confidence_weighted import confidence_weighted_accuracy_exact
from tests.theory import reference_rules as ref
from tests.theory.rules.cases import random_question


@pytest.mark.parametrize("num_models,k", [(2, 2), (2, 3), (3, 2)])
@pytest.mark.parametrize("cross", ["priority", "random"])
def test_confidence_weighted_equals_brute_force(num_models, k, cross):
    rng = np.random.default_rng(21 + k)
    probs = random_question(rng, num_models, 4)
    priority = list(rng.permutation(num_models))
    config = MuxConfig(cross_model_tie="random" if cross == "random" else "model_order")
    got = float(confidence_weighted_accuracy_exact(probs[:, None], k, config=config, priority=priority)[0])
    want, _ = ref.expectation(
        probs.tolist(), k, lambda s: ref.confidence_weighted_correct(s, 3, priority, cross)
    )
    assert abs(got - want) < 1e-9
