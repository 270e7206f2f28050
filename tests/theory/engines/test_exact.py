"""The exact engine against brute-force enumeration, the spec's test vectors, and Monte Carlo."""

import itertools

import jax
import numpy as np
import pytest

from slmmux_theory.engines import exact
from slmmux_theory.engines.exact import (
    count_vectors,
    exact_accuracy,
    hypergeometric_counts,
    model_switch_exact,
    multinomial_counts,
    mux_accuracy_exact,
    mux_levels,
    mux_subset_accuracy,
    oracle_accuracy_exact,
    pooled_vote_accuracy_exact,
    self_consistency_accuracy_exact,
)
from slmmux_theory.rules.base import MuxConfig, SwitchConfig
from tests.theory import reference_rules as ref

# Test vectors of METHODS.md §5.5 (slots: c, w1 shared, w2, ⊥).
P1 = [0.6, 0.2, 0.2, 0.0]
P2 = [0.1, 0.9, 0.0, 0.0]
P3 = [0.5, 0.5, 0.0, 0.0]


def question(*rows):
    return np.array([[row] for row in rows])


def test_spec_vectors_self_consistency():
    sc = self_consistency_accuracy_exact(question(P1, P2), 3)[:, 0]
    np.testing.assert_allclose(sc, [0.696, 0.028], atol=1e-12)


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


def test_spec_vectors_agent_forest():
    np.testing.assert_allclose(pooled_vote_accuracy_exact(question(P1, P2), 3), 0.241292, atol=1e-12)
    np.testing.assert_allclose(pooled_vote_accuracy_exact(question(P1, P3), 3), 0.6895, atol=1e-12)


def test_spec_vector_model_switch_cost():
    result = model_switch_exact(question([0.8, 0.2, 0.0], [0.8, 0.2, 0.0]), 4)
    np.testing.assert_allclose(result.expected_samples, 6.3552, atol=1e-12)
    # Saving against 2n is n * u_1 with u_1 = 0.8^4 + 0.2^4 = 0.4112.
    np.testing.assert_allclose(8 - result.expected_samples, 4 * 0.4112, atol=1e-12)


def test_plurality_vectors_of_section_5_2():
    probs = np.array([[[0.4, 0.2, 0.2, 0.2, 0.0]]])
    np.testing.assert_allclose(self_consistency_accuracy_exact(probs, 5), 0.5094, atol=5e-5)
    np.testing.assert_allclose(self_consistency_accuracy_exact(probs, 9), 0.5986, atol=5e-5)
    np.testing.assert_allclose(
        self_consistency_accuracy_exact(np.array([[[0.4, 0.6, 0.0]]]), 9), 0.2666, atol=5e-5
    )


def test_count_vectors_are_all_compositions():
    for k, a in [(1, 2), (3, 3), (4, 4), (2, 5)]:
        vectors = count_vectors(k, a)
        expected = sorted(v for v in itertools.product(range(k + 1), repeat=a) if sum(v) == k)
        assert sorted(map(tuple, vectors.tolist())) == expected


def _random_question(rng, num_models, num_answers, zero_abstain=False):
    probs = rng.dirichlet(np.ones(num_answers) * 0.8, size=num_models)
    if zero_abstain:
        probs[:, -1] = 0
        probs /= probs.sum(1, keepdims=True)
    return probs


CASES = [(2, 1), (2, 2), (2, 3), (2, 4), (3, 2), (3, 3)]


@pytest.mark.parametrize("num_models,k", CASES)
@pytest.mark.parametrize("denominator", ["k", "valid"])
@pytest.mark.parametrize("cross", ["priority", "random"])
def test_mux_equals_brute_force(num_models, k, denominator, cross):
    rng = np.random.default_rng(100 * num_models + k)
    probs = _random_question(rng, num_models, 3)
    priority = list(rng.permutation(num_models))
    config = MuxConfig(denominator, "random", "random" if cross == "random" else "model_order")
    got = float(mux_accuracy_exact(probs[:, None], k, config=config, priority=priority)[0])
    for intra in ["random", "first_seen"]:
        want, _ = ref.expectation(
            probs.tolist(), k,
            lambda s: ref.mux_correct(s, 2, priority, denominator, intra, cross),
        )
        assert abs(got - want) < 1e-9, (intra, got, want)


@pytest.mark.parametrize("num_models,k", CASES)
@pytest.mark.parametrize("tie", ["random", "first_seen"])
def test_pooled_vote_equals_brute_force(num_models, k, tie):
    rng = np.random.default_rng(7 + k)
    probs = _random_question(rng, num_models, 3)
    got = float(pooled_vote_accuracy_exact(probs[:, None], k, tie=tie)[0])
    want, _ = ref.expectation(probs.tolist(), k, lambda s: ref.pooled_correct(s, 2, tie))
    assert abs(got - want) < 1e-9


@pytest.mark.parametrize("num_models,k", CASES)
def test_self_consistency_and_oracles_equal_brute_force(num_models, k):
    rng = np.random.default_rng(11 + k)
    probs = _random_question(rng, num_models, 3)
    sc = self_consistency_accuracy_exact(probs[:, None], k)[:, 0]
    for m in range(num_models):
        want, _ = ref.expectation(probs[m : m + 1].tolist(), k, lambda s: ref.plurality_correct(s[0], 2))
        assert abs(float(sc[m]) - want) < 1e-9
    for kind, fn in [("any_mode", ref.oracle_mode_correct), ("any_sample", ref.oracle_sample_correct)]:
        got = float(oracle_accuracy_exact(probs[:, None], k, kind)[0])
        want, _ = ref.expectation(probs.tolist(), k, lambda s: fn(s, 2))
        assert abs(got - want) < 1e-9


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
    probs = _random_question(rng, num_models, 3)
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
    probs = _random_question(rng, 3, 3)
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


@pytest.mark.parametrize("num_models,k", [(2, 2), (2, 3), (3, 2)])
@pytest.mark.parametrize("cross", ["priority", "random"])
def test_confidence_weighted_equals_brute_force(num_models, k, cross):
    rng = np.random.default_rng(21 + k)
    probs = _random_question(rng, num_models, 4)
    priority = list(rng.permutation(num_models))
    config = MuxConfig(cross_model_tie="random" if cross == "random" else "model_order")
    got = float(exact.confidence_weighted_accuracy_exact(probs[:, None], k, config=config, priority=priority)[0])
    want, _ = ref.expectation(
        probs.tolist(), k, lambda s: ref.confidence_weighted_correct(s, 3, priority, cross)
    )
    assert abs(got - want) < 1e-9


def test_four_slots_brute_force_mux_and_pooled():
    rng = np.random.default_rng(42)
    probs = _random_question(rng, 2, 4)
    got = float(mux_accuracy_exact(probs[:, None], 3)[0])
    want, _ = ref.expectation(probs.tolist(), 3, lambda s: ref.mux_correct(s, 3, [0, 1]))
    assert abs(got - want) < 1e-9
    got = float(pooled_vote_accuracy_exact(probs[:, None], 3)[0])
    want, _ = ref.expectation(probs.tolist(), 3, lambda s: ref.pooled_correct(s, 3))
    assert abs(got - want) < 1e-9


def test_hypergeometric_replay_equals_subset_enumeration():
    # Two models with 5 recorded samples each; drawing 3 of them without replacement.
    recorded = [[0, 0, 1, 2, 1], [1, 1, 0, 2, 2]]
    pool = np.zeros((2, 1, 3), dtype=int)
    for m, seq in enumerate(recorded):
        for a in seq:
            pool[m, 0, a] += 1
    counts = hypergeometric_counts(pool, 3)
    got = float(mux_accuracy_exact(counts)[0])
    subsets = list(itertools.combinations(range(5), 3))
    want = 0.0
    for s0 in subsets:
        for s1 in subsets:
            seqs = [[recorded[0][i] for i in s0], [recorded[1][i] for i in s1]]
            want += float(ref.mux_correct(seqs, 2, [0, 1]))
    want /= len(subsets) ** 2
    assert abs(got - want) < 1e-12
    np.testing.assert_allclose(counts.probs.sum(-1), 1.0, atol=1e-12)


def test_subset_sweep_matches_direct():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=(4, 7))
    counts = multinomial_counts(probs, 3)
    levels = mux_levels(counts)
    priority = np.array([2, 0, 3, 1])
    subsets = np.array([[0, 1, -1], [1, 2, 3], [3, -1, -1]])
    swept = mux_subset_accuracy(levels, subsets, priority)
    for row, subset in zip(swept, subsets):
        members = [m for m in subset if m >= 0]
        direct = mux_accuracy_exact(probs[members], 3, priority=priority[members])
        np.testing.assert_allclose(row, direct, atol=1e-12)


def test_exact_is_jit_and_vmap_consistent():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), size=(3, 6))
    levels = mux_levels(multinomial_counts(probs, 4))
    direct = exact.mux_accuracy_from_levels(levels, np.arange(3), "model_order")
    jitted = jax.jit(exact.mux_accuracy_from_levels, static_argnums=2)(levels, np.arange(3), "model_order")
    np.testing.assert_allclose(direct, jitted, atol=1e-14)
    per_q = jax.vmap(
        lambda a, b: exact.mux_accuracy_from_levels(exact.MuxLevels(a[:, None], b[:, None]), np.arange(3), "model_order")[0],
        in_axes=(1, 1),
    )(levels.level, levels.level_correct)
    np.testing.assert_allclose(direct, per_q, atol=1e-14)


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


def test_hypergeometric_law_of_spread_pool_sums_to_one_and_matches_combinatorics():
    from math import comb

    pool = np.array([[[2, 2, 2, 2, 2]]])  # ten samples, no slot above two
    law = hypergeometric_counts(pool, 4)
    np.testing.assert_allclose(np.asarray(law.probs).sum(), 1.0, atol=1e-12)
    vectors = count_vectors(4, 5)
    index = [i for i, v in enumerate(vectors.tolist()) if v == [2, 2, 0, 0, 0]][0]
    np.testing.assert_allclose(float(law.probs[0, 0, index]), comb(2, 2) * comb(2, 2) / comb(10, 4), atol=1e-14)


def test_bucketed_pairs_and_widths_equal_direct_enumeration():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(7) * 0.3, size=(2, 2, 12))
    probs[0, :, :6, 2:6] = 0
    probs /= probs.sum(-1, keepdims=True)
    direct = np.stack([np.asarray(pooled_vote_accuracy_exact(p, 3)) for p in probs])
    np.testing.assert_allclose(exact.pooled_vote_pairs_exact(probs, 3), direct, atol=1e-12)
    switched = exact.by_question_width(probs[0], lambda g: model_switch_exact(g, 2).per_question)
    np.testing.assert_allclose(switched, model_switch_exact(probs[0], 2).per_question, atol=1e-12)
