"""ModelSwitch's exact law and cost (rules/model_switch.py): spec vector and brute force; its
value on known counts (``known_counts``) against every ordering, the exact law and Monte Carlo."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.engines.counts import hypergeometric_counts
from slmmux_theory.rules.base import SwitchConfig, first_seen_positions
from slmmux_theory.rules.model_switch import MODEL_SWITCH, model_switch_exact
from slmmux_theory.rules.rule import RuleContext
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


def _orderings(counts):
    """Every ordering of the samples a count vector holds (with repeats: equally likely)."""
    samples = np.repeat(np.arange(len(counts)), counts).tolist()
    return list(itertools.permutations(samples))


@pytest.mark.parametrize("config", SWITCH_CONFIGS, ids=lambda c: f"{c.stop_rule}-{c.weighting}-{c.tie}")
def test_known_counts_equal_every_ordering_of_the_samples(config):
    # Brute force: the reference rule on every ordering of the two models' known samples.
    cases = np.array([[[1, 1, 1, 0, 0], [0, 1, 1, 0, 1]],
                      [[3, 0, 0, 0, 0], [0, 2, 0, 1, 0]],
                      [[0, 2, 0, 1, 0], [1, 0, 1, 1, 0]],
                      [[1, 0, 0, 0, 2], [1, 1, 1, 0, 0]]])
    prior = [1.3, 0.7]
    got = MODEL_SWITCH.known_counts(cases.transpose(1, 0, 2),
                                    RuleContext(switch_config=config, prior_weights=prior))
    for q, (first, second) in enumerate(cases):
        values = [ref.switch_correct([list(a), list(b)], 4, config.stop_rule,
                                     config.share_threshold, config.weighting, config.tie, prior)
                  for a in _orderings(first) for b in _orderings(second)]
        want, spent = np.mean(values, axis=0)
        assert abs(float(got.per_question[q]) - want) < 1e-9
        assert abs(float(got.expected_samples[q]) - spent) < 1e-9


def test_known_counts_equal_the_exact_law_of_k_of_k_samples():
    # The exact law (every count vector enumerated) of drawing k of exactly k recorded samples.
    rng = np.random.default_rng(8)
    pools = np.stack([rng.multinomial(3, rng.dirichlet(np.ones(5)), size=6) for _ in range(2)])
    context = RuleContext()
    want = MODEL_SWITCH.exact(hypergeometric_counts(pools, 3), context)
    got = MODEL_SWITCH.known_counts(pools, context)
    np.testing.assert_allclose(got.per_question, want.per_question, atol=1e-12)
    np.testing.assert_allclose(got.expected_samples, want.expected_samples, atol=1e-12)


def test_known_counts_of_a_wide_pair_against_monte_carlo():
    # k = 9 samples over up to 20 slots per pair: the selection on random sample orders.
    rng = np.random.default_rng(9)
    pools = np.stack([rng.multinomial(9, rng.dirichlet(np.full(20, 0.5)), size=4)
                      for _ in range(2)])
    pools[:, 0] = [[5, 0, 4] + [0] * 17, [5, 4, 0] + [0] * 17]  # ties decided by first seen
    got = MODEL_SWITCH.known_counts(pools, RuleContext())
    draws = 4000
    orders = [[rng.permutation(np.repeat(np.arange(20), pools[m, q])) for _ in range(draws)]
              for m in range(2) for q in range(4)]
    for q in range(4):
        samples = np.stack([np.stack(orders[q]), np.stack(orders[4 + q])], axis=1)  # [d, 2, 9]
        counts = np.broadcast_to(pools[:, q], (draws, 2, 20))
        first = jax.vmap(lambda s: first_seen_positions(s, 20))(jnp.asarray(samples))
        keys = jax.random.split(jax.random.PRNGKey(q), draws)
        chosen = jax.jit(jax.vmap(lambda c, f, s: MODEL_SWITCH.select(c, f, s, RuleContext())))(
            jnp.asarray(counts), first, keys)
        correct = np.asarray(chosen.answer == 0, dtype=float)
        error = max(correct.std() / np.sqrt(draws), 1e-3)
        assert abs(correct.mean() - float(got.per_question[q])) < 4 * error
        assert np.asarray(chosen.samples_spent).mean() == pytest.approx(
            float(got.expected_samples[q]))
