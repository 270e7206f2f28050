"""Tests of slmmux_theory.engines.pair_curves against brute force over explicit sample draws."""

from __future__ import annotations

import numpy as np
import pytest

from slmmux_theory.engines import pair_curves
from slmmux_theory.rules.base import SwitchConfig
from tests.theory import reference_rules as ref

# Three models, three questions, four slots (0 correct, 1-2 wrong, 3 = ⊥), 3 recorded samples.
COUNTS = np.array([
    [[2, 1, 0, 0], [1, 1, 1, 0], [0, 2, 0, 1]],
    [[1, 2, 0, 0], [3, 0, 0, 0], [1, 0, 1, 1]],
    [[0, 1, 2, 0], [1, 0, 2, 0], [2, 0, 0, 1]],
])
ABSTAIN = 3


def _recorded(counts_row):
    """The recorded samples of one (model, question) as slot indices."""
    return [slot for slot, count in enumerate(counts_row) for _ in range(int(count))]


def _brute(counts, models, k, fn, hypergeometric):
    """Mean over questions of E[fn(seqs)] (and of the samples spent) for the given models."""
    values, spent = [], []
    for q in range(counts.shape[1]):
        if hypergeometric:
            value, cost = ref.replay_expectation([_recorded(counts[m, q]) for m in models], k, fn)
        else:
            probs = [list(counts[m, q] / counts[m, q].sum()) for m in models]
            value, cost = ref.expectation(probs, k, fn)
        values.append(value)
        spent.append(cost)
    return float(np.mean(values)), float(np.mean(spent))


@pytest.mark.parametrize("hypergeometric", [True, False])
def test_pair_rule_curves_equal_brute_force(hypergeometric):
    priority = np.array([2, 0, 1])
    curves = pair_curves.pair_rule_curves(COUNTS, [1, 2, 3], priority,
                                          hypergeometric=hypergeometric)
    assert curves.pairs.tolist() == [[0, 1], [0, 2], [1, 2]]
    assert curves.slm_mux.shape == curves.agent_forest.shape == (3, 3)
    assert curves.self_consistency.shape == (3, 3)
    for i, k in enumerate(curves.ks.tolist()):
        single = [_brute(COUNTS, [m], k, lambda s: ref.plurality_correct(s[0], ABSTAIN),
                         hypergeometric)[0] for m in range(3)]
        np.testing.assert_allclose(curves.self_consistency[i], single, atol=1e-9)
        for j, (a, b) in enumerate(curves.pairs.tolist()):
            mux = _brute(COUNTS, [a, b], k,
                         lambda s, a=a, b=b: ref.mux_correct(s, ABSTAIN, [priority[a], priority[b]]),
                         hypergeometric)[0]
            forest = _brute(COUNTS, [a, b], k, lambda s: ref.pooled_correct(s, ABSTAIN),
                            hypergeometric)[0]
            assert abs(curves.slm_mux[i, j] - mux) < 1e-9, (k, a, b)
            assert abs(curves.agent_forest[i, j] - forest) < 1e-9, (k, a, b)
            assert abs(curves.best_single_self_consistency[i, j] - max(single[a], single[b])) < 1e-9
            assert curves.best_single_self_consistency[i, j] == curves.self_consistency[i, [a, b]].max()


def test_the_tie_priority_matters_in_the_curves():
    # Guards the priority argument: reversing it changes SLM-MUX on these counts.
    first = pair_curves.pair_rule_curves(COUNTS, [1], np.array([0, 1, 2]))
    second = pair_curves.pair_rule_curves(COUNTS, [1], np.array([2, 1, 0]))
    assert not np.allclose(first.slm_mux, second.slm_mux)
    np.testing.assert_array_equal(first.agent_forest, second.agent_forest)


@pytest.mark.parametrize("weighting", ["plain", "entropy"])
@pytest.mark.parametrize("hypergeometric", [True, False])
def test_model_switch_pair_savings_equal_brute_force(hypergeometric, weighting):
    # "plain" goes through the pass over slots, "entropy" through the tuple kernel.
    budget = 2
    pairs = [(0, 1), (2, 0)]
    result = pair_curves.model_switch_pair_savings(COUNTS, pairs, budget,
                                                   hypergeometric=hypergeometric,
                                                   config=SwitchConfig(weighting=weighting))
    for p, (a, b) in enumerate(pairs):
        accuracy, spent = _brute(
            COUNTS, [a, b], budget,
            lambda s: ref.switch_correct(s, ABSTAIN, weighting=weighting), hypergeometric)
        mux = _brute(COUNTS, [a, b], budget, lambda s: ref.mux_correct(s, ABSTAIN, [0, 1]),
                     hypergeometric)[0]
        assert abs(result.switch_accuracy[p] - accuracy) < 1e-9
        assert abs(result.expected_samples[p] - spent) < 1e-9
        assert abs(result.saving[p] - (1 - spent / (2 * budget))) < 1e-9
        assert abs(result.slm_mux_accuracy[p] - mux) < 1e-9


@pytest.mark.parametrize("hypergeometric", [True, False])
def test_plain_model_switch_by_slots_equals_the_tuple_kernel_on_wider_rows(hypergeometric):
    rng = np.random.default_rng(3)
    counts = rng.integers(0, 3, size=(4, 25, 7))
    counts[..., -1] += np.maximum(0, 3 - counts.sum(-1))
    pairs = np.array([(0, 1), (2, 1), (3, 0)])
    fast = pair_curves._plain_switch_and_mux(counts, pairs, 3, hypergeometric)
    kernel = pair_curves._switch_and_mux_by_kernel(counts, pairs, 3, hypergeometric,
                                                   SwitchConfig(weighting="plain"))
    np.testing.assert_allclose(fast, kernel, atol=1e-12)


def test_weakest_models_are_the_lowest_per_sample_accuracies():
    # Per-sample accuracy: 3/9, 5/9, 3/9; stable order breaks the tie of models 0 and 2.
    assert pair_curves.weakest_models(COUNTS, 2) == [0, 2]
    assert pair_curves.weakest_models(COUNTS, 1) == [0]


def test_cross_fitted_ranks_never_come_from_the_scored_question():
    from slmmux_theory.engines.pair_curves import cross_fitted_pair_curves, pair_rule_curves

    # Hand-worked: both questions are SLM-MUX ties (confidence 2/3 vs 2/3, then 1 vs 1).
    # Ranked on all questions, model 1 (4 of 6 right) wins both ties: wrong, then right: 0.5.
    # Ranked on the other question only: q0 is scored with q1's ranks (model 1 first: wrong),
    # q1 with q0's (model 0 first: wrong): 0.0. In-sample ranks flatter the rule.
    counts = np.array([[[2, 1, 0], [0, 3, 0]], [[1, 2, 0], [3, 0, 0]]])
    in_sample = pair_rule_curves(counts, [3], np.array([1, 0]))
    folds = [(np.array([1]), np.array([0])), (np.array([0]), np.array([1]))]
    crossed = cross_fitted_pair_curves(counts, [3], folds)
    assert in_sample.slm_mux.tolist() == [[0.5]]
    assert crossed.slm_mux.tolist() == [[0.0]]
    # The rules without ranks are unchanged.
    np.testing.assert_array_equal(crossed.agent_forest, in_sample.agent_forest)
    np.testing.assert_array_equal(crossed.self_consistency, in_sample.self_consistency)


def test_cross_fitted_curves_refuse_folds_that_miss_a_question():
    from slmmux_theory.engines.pair_curves import cross_fitted_pair_curves

    counts = np.array([[[2, 1, 0], [0, 3, 0]], [[1, 2, 0], [3, 0, 0]]])
    with pytest.raises(ValueError, match="cover every question exactly once"):
        cross_fitted_pair_curves(counts, [3], [(np.array([1]), np.array([0]))])


@pytest.mark.parametrize("hypergeometric", [True, False])
def test_cross_fitted_curves_equal_per_fold_curves_weighted_by_size(hypergeometric):
    from slmmux_theory.engines.pair_curves import cross_fitted_pair_curves, pair_rule_curves
    from slmmux_theory.engines.replay_table import evaluation_folds
    from slmmux_theory.rules.base import tie_priority

    rng = np.random.default_rng(3)
    counts = np.stack([rng.multinomial(4, [0.5, 0.3, 0.15, 0.05], size=9) for _ in range(3)])
    folds = evaluation_folds(9, 0.5, seed=1, cross_fit=True)
    expected = 0.0
    for validation, evaluation in folds:
        part = counts[:, validation]
        ranks = tie_priority(part[..., 0].sum(1) / part.sum((1, 2)))
        curve = pair_rule_curves(counts[:, evaluation], [1, 2, 4], ranks,
                                 hypergeometric=hypergeometric)
        expected = expected + curve.slm_mux * len(evaluation) / 9
    crossed = cross_fitted_pair_curves(counts, [1, 2, 4], folds, hypergeometric=hypergeometric)
    np.testing.assert_allclose(crossed.slm_mux, expected, atol=1e-12)
