"""Self-consistency's exact law (rules/self_consistency.py): spec vectors and brute force."""

import numpy as np
import pytest

from slmmux_theory.rules.self_consistency import self_consistency_accuracy_exact
from tests.theory import reference_rules as ref
from tests.theory.rules.cases import CASES, P1, P2, question, random_question


def test_spec_vectors_self_consistency():
    sc = self_consistency_accuracy_exact(question(P1, P2), 3)[:, 0]
    np.testing.assert_allclose(sc, [0.696, 0.028], atol=1e-12)


def test_plurality_vectors_of_section_5_2():
    probs = np.array([[[0.4, 0.2, 0.2, 0.2, 0.0]]])
    np.testing.assert_allclose(self_consistency_accuracy_exact(probs, 5), 0.5094, atol=5e-5)
    np.testing.assert_allclose(self_consistency_accuracy_exact(probs, 9), 0.5986, atol=5e-5)
    np.testing.assert_allclose(
        self_consistency_accuracy_exact(np.array([[[0.4, 0.6, 0.0]]]), 9), 0.2666, atol=5e-5
    )


@pytest.mark.parametrize("num_models,k", CASES)
def test_self_consistency_equals_brute_force(num_models, k):
    rng = np.random.default_rng(11 + k)
    probs = random_question(rng, num_models, 3)
    sc = self_consistency_accuracy_exact(probs[:, None], k)[:, 0]
    for m in range(num_models):
        want, _ = ref.expectation(probs[m : m + 1].tolist(), k, lambda s: ref.plurality_correct(s[0], 2))
        assert abs(float(sc[m]) - want) < 1e-9
