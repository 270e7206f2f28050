"""The oracles' exact laws (rules/oracle.py) against brute-force enumeration."""

import numpy as np
import pytest

from slmmux_theory.rules.oracle import oracle_accuracy_exact
from tests.theory import reference_rules as ref
from tests.theory.rules.cases import CASES, random_question


@pytest.mark.parametrize("num_models,k", CASES)
def test_oracles_equal_brute_force(num_models, k):
    rng = np.random.default_rng(11 + k)
    probs = random_question(rng, num_models, 3)
    for kind, fn in [("any_mode", ref.oracle_mode_correct), ("any_sample", ref.oracle_sample_correct)]:
        got = float(oracle_accuracy_exact(probs[:, None], k, kind)[0])
        want, _ = ref.expectation(probs.tolist(), k, lambda s: fn(s, 2))
        assert abs(got - want) < 1e-9
