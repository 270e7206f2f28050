"""ModelSwitch's exact law and cost (rules/model_switch.py): spec vector and brute force."""

import itertools

import numpy as np
import pytest

from slmmux_theory.rules.base import SwitchConfig
from slmmux_theory.rules.model_switch import model_switch_exact
from tests.theory import reference_rules as ref
from tests.theory.rules.cases import CASES, question, random_question


def test_spec_vector_model_switch_cost():
    result = model_switch_exact(question([0.8, 0.2, 0.0], [0.8, 0.2, 0.0]), 4)
    np.testing.assert_allclose(result.expected_samples, 6.3552, atol=1e-12)
    # Saving against 2n is n * u_1 with u_1 = 0.8^4 + 0.2^4 = 0.4112.
    np.testing.assert_allclose(8 - result.expected_samples, 4 * 0.4112, atol=1e-12)


SWITCH_CONFIGS = [
    SwitchConfig(),
    SwitchConfig(tie="random"),
    SwitchConfig(weighting="plain"),
    SwitchConfig(stop_rule="majority_share", share_threshold=0.6),
]


@pytest.mark.parametrize("num_models,k", CASES)
@pytest.mark.parametrize("config", SWITCH_CONFIGS, ids=lambda c: f"{c.stop_rule}-{c.weighting}-{c.tie}")
def test_model_switch_equals_brute_force(num_models, k, config):
    rng = np.random.default_rng(3 + k + num_models)
    probs = random_question(rng, num_models, 3)
    prior = list(rng.uniform(0.5, 2.0, size=num_models))
    got = model_switch_exact(probs[:, None], k, config=config, prior_weights=prior)
    want, spent = ref.expectation(
        probs.tolist(), k,
        lambda s: ref.switch_correct(s, 2, config.stop_rule, config.share_threshold,
                                     config.weighting, config.tie, prior),
    )
    assert abs(float(got.per_question[0]) - want) < 1e-9
    assert abs(float(got.expected_samples[0]) - spent) < 1e-9


def test_model_switch_unequal_budgets_equal_brute_force():
    rng = np.random.default_rng(5)
    probs = random_question(rng, 3, 3)
    budgets = (2, 3, 1)
    got = model_switch_exact(probs[:, None], budgets)
    # Enumerate sequences of unequal length directly.
    per_model = [list(itertools.product(range(3), repeat=b)) for b in budgets]
    want = spent = 0.0
    for seqs in itertools.product(*per_model):
        w = np.prod([probs[m][a] for m, s in enumerate(seqs) for a in s])
        value, cost = ref.switch_correct([list(s) for s in seqs], 2)
        want += w * float(value)
        spent += w * cost
    assert abs(float(got.per_question[0]) - want) < 1e-9
    assert abs(float(got.expected_samples[0]) - spent) < 1e-9
