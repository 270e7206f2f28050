"""Agent Forest's exact law (rules/agent_forest.py): the spec's test vectors and brute force."""

import itertools

import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts
from slmmux_theory.rules.agent_forest import AGENT_FOREST, pooled_vote_accuracy_exact
from slmmux_theory.rules.rule import RuleContext
from tests.theory import reference_rules as ref
from tests.theory.rules.cases import CASES, P1, P2, P3, question, random_question


def test_spec_vectors_agent_forest():
    np.testing.assert_allclose(pooled_vote_accuracy_exact(question(P1, P2), 3), 0.241292, atol=1e-12)
    np.testing.assert_allclose(pooled_vote_accuracy_exact(question(P1, P3), 3), 0.6895, atol=1e-12)


@pytest.mark.parametrize("num_models,k", CASES)
@pytest.mark.parametrize("tie", ["random", "first_seen"])
def test_pooled_vote_equals_brute_force(num_models, k, tie):
    rng = np.random.default_rng(7 + k)
    probs = random_question(rng, num_models, 3)
    got = float(pooled_vote_accuracy_exact(probs[:, None], k, tie=tie)[0])
    want, _ = ref.expectation(probs.tolist(), k, lambda s: ref.pooled_correct(s, 2, tie))
    assert abs(got - want) < 1e-9


def test_four_slots_brute_force_pooled():
    rng = np.random.default_rng(42)
    probs = random_question(rng, 2, 4)
    got = float(pooled_vote_accuracy_exact(probs[:, None], 3)[0])
    want, _ = ref.expectation(probs.tolist(), 3, lambda s: ref.pooled_correct(s, 3))
    assert abs(got - want) < 1e-9


@pytest.mark.parametrize("tie", ["random", "first_seen"])
def test_known_counts_equal_every_ordering_and_the_exact_law(tie):
    # Brute force (the reference vote on every ordering of the known samples) and the exact
    # law of drawing k of exactly k recorded samples (every count vector enumerated).
    cases = np.array([[[1, 1, 1, 0, 0], [0, 1, 1, 0, 1]],
                      [[3, 0, 0, 0, 0], [0, 2, 0, 1, 0]],
                      [[0, 2, 0, 1, 0], [1, 0, 1, 1, 0]],
                      [[1, 0, 0, 0, 2], [1, 1, 1, 0, 0]]])
    pools = cases.transpose(1, 0, 2)
    got = AGENT_FOREST.known_counts(pools, RuleContext(pooled_tie=tie))
    exact = pooled_vote_accuracy_exact(hypergeometric_counts(pools, 3), tie=tie)
    np.testing.assert_allclose(got.per_question, exact, atol=1e-12)
    np.testing.assert_allclose(got.expected_samples, 6.0)
    for q, (first, second) in enumerate(cases):
        orders = [list(itertools.permutations(np.repeat(np.arange(5), row).tolist()))
                  for row in (first, second)]
        want = np.mean([ref.pooled_correct([list(a), list(b)], 4, tie)
                        for a in orders[0] for b in orders[1]])
        assert abs(float(got.per_question[q]) - want) < 1e-9
