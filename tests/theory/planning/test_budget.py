"""Budget arithmetic: hand-computed costs, the ModelSwitch identities, the Pareto front, and the
models-vs-samples optimum against a brute-force maximum over the same candidate grid."""

import itertools

import numpy as np
import pytest
from scipy.stats import binom

from slmmux_theory.planning.budget import (
    fixed_cost,
    model_switch_expected_cost,
    models_vs_samples,
    pareto_front,
    sample_cost,
    stop_probability,
)
from slmmux_theory.engines.exact import (
    model_switch_exact,
    multinomial_counts,
    mux_accuracy_exact,
    mux_levels,
    mux_subset_accuracy,
    pooled_vote_accuracy_exact,
)
from slmmux_theory.rules.base import SwitchConfig


def random_probs(seed, shape, zero_abstain=False):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(shape[-1], 0.7), size=shape[:-1])
    if zero_abstain:
        probs[..., -1] = 0.0
        probs /= probs.sum(axis=-1, keepdims=True)
    return probs


def test_sample_and_fixed_cost():
    # 0.5 $/1k × 400 tokens = 0.2; 2 $/1k × 250 = 0.5.
    np.testing.assert_allclose(sample_cost([0.5, 2.0], [400, 250]), [0.2, 0.5])
    assert fixed_cost((0, 2), 3) == 6.0
    assert fixed_cost((0, 2), 3, [1.0, 5.0, 2.0]) == 9.0


def test_model_switch_cost_example():
    # METHODS §5.4: u1 = 0.8^4 + 0.2^4 = 0.4112; E = 4 + 4 (1 − 0.4112) = 6.3552.
    probs = np.array([[[0.8, 0.2, 0.0]], [[0.8, 0.2, 0.0]]])
    np.testing.assert_allclose(stop_probability(probs, 4)[:, 0], [0.4112, 0.4112], atol=1e-15)
    cost = model_switch_expected_cost(probs, 4)
    np.testing.assert_allclose(cost.mean, 6.3552, atol=1e-12)
    np.testing.assert_allclose(cost.reach_probability[:, 0], [1.0, 0.5888], atol=1e-15)
    # Priced samples (1 and 3 per sample): 4·1 + 4·3·0.5888 = 11.0656.
    priced = model_switch_expected_cost(probs, 4, [1.0, 3.0]).mean
    np.testing.assert_allclose(priced, 11.0656, atol=1e-12)


def test_reference_b5_identity():
    # REFERENCE_NUMBERS §B.5: average samples = 16 + 16 (1 − u1). 281 of 400 questions have a
    # deterministic first model (u = 1); on 119 it only abstains (⊥ is never "unanimous", u = 0):
    # 16 + 16 · 119/400 = 20.76, the closed-source MathBench value (u1 = 0.7025).
    first = np.zeros((400, 3))
    first[:281, 0] = 1.0
    first[281:, 2] = 1.0
    second = np.tile([0.5, 0.5, 0.0], (400, 1))
    cost = model_switch_expected_cost(np.stack([first, second]), 16)
    np.testing.assert_allclose(cost.mean, 20.76, atol=1e-12)
    np.testing.assert_allclose(1 - cost.mean / 32, 0.35125, atol=1e-12)  # "saving %" 35.12


def test_three_model_reach_probabilities():
    # u1 = 0.5^2 + 0.5^2 = 0.5 (n=2), u2 = 0.9^3 + 0.1^3 = 0.73 (n=3); the last model's own
    # unanimity never matters. E = 2 + 3·0.5 + 4·0.5·0.27 = 4.04.
    probs = np.array([[[0.5, 0.5, 0.0]], [[0.9, 0.1, 0.0]], [[0.2, 0.2, 0.6]]])
    cost = model_switch_expected_cost(probs, (2, 3, 4))
    np.testing.assert_allclose(cost.reach_probability[:, 0], [1.0, 0.5, 0.135], atol=1e-15)
    np.testing.assert_allclose(cost.per_question, [4.04], atol=1e-12)


@pytest.mark.parametrize("budgets", [3, (2, 4), (4, 1)])
def test_expected_cost_matches_exact_engine(budgets):
    # Closed form (per-model stop probabilities) vs the engine's enumeration of count tuples.
    probs = random_probs(1, (2, 7, 4))
    closed = model_switch_expected_cost(probs, budgets).per_question
    engine = model_switch_exact(probs, budgets).expected_samples
    np.testing.assert_allclose(closed, engine, atol=1e-12)


def test_majority_share_stop_rule():
    # Threshold 0.85 with n = 10 stops when some valid answer has >= 9 votes.
    probs = np.array([[[0.7, 0.2, 0.1]], [[0.5, 0.5, 0.0]]])
    config = SwitchConfig(stop_rule="majority_share", share_threshold=0.85)
    hand = binom.sf(8, 10, 0.7) + binom.sf(8, 10, 0.2)
    np.testing.assert_allclose(stop_probability(probs, 10, config)[0, 0], hand, atol=1e-13)
    cost = model_switch_expected_cost(probs, 10, config=config).mean
    np.testing.assert_allclose(cost, 10 + 10 * (1 - hand), atol=1e-12)
    engine = model_switch_exact(probs, 10, config=config).expected_samples[0]
    np.testing.assert_allclose(cost, engine, atol=1e-12)


def test_pareto_front_by_hand():
    costs = [1, 2, 2, 3, 4, 4, 5, 0.5]
    accuracies = [0.5, 0.4, 0.6, 0.6, 0.7, 0.7, 0.65, 0.3]
    # (2, .4) loses to (1, .5); (3, .6) to (2, .6); (5, .65) to (4, .7); duplicates both stay.
    front = pareto_front(costs, accuracies)
    assert front.tolist()[:3] == [7, 0, 2]
    assert sorted(front.tolist()[3:]) == [4, 5]
    assert pareto_front([], []).tolist() == []


def test_pareto_front_against_definition():
    rng = np.random.default_rng(3)
    costs = rng.integers(0, 6, 60).astype(float)
    accuracies = rng.integers(0, 6, 60) / 5
    dominated = [
        any(
            costs[j] <= costs[i] and accuracies[j] >= accuracies[i]
            and (costs[j] < costs[i] or accuracies[j] > accuracies[i])
            for j in range(60)
        )
        for i in range(60)
    ]
    expected = [i for i in range(60) if not dominated[i]]
    assert sorted(pareto_front(costs, accuracies).tolist()) == expected


# Every models-vs-samples test uses this shape: two posterior draws, three models, three
# questions, four slots. Sharing one shape lets JAX reuse its compilations across tests.
SHAPE = (2, 3, 3, 4)


def fold(probs_draws):
    """[draws, models, questions, answers] -> [models, draws*questions, answers]."""
    draws, models, questions, answers = probs_draws.shape
    return np.transpose(probs_draws, (1, 0, 2, 3)).reshape(models, draws * questions, answers)


def brute_force(probs_draws, budget, costs, rules, max_k=8):
    """Per-draw accuracy of every (rule, subset, k) whose (expected) cost fits the budget.

    SLM-MUX uses the engine's subset evaluator once per k on unpadded level laws; Agent Forest
    and ModelSwitch call their engines per subset. Costs are recomputed here by hand.
    """
    draws, num_models, questions, _ = probs_draws.shape
    folded = fold(probs_draws)
    subsets = [
        subset
        for size in range(1, num_models + 1)
        for subset in itertools.combinations(range(num_models), size)
    ]
    padded = np.array([list(s) + [-1] * (num_models - len(s)) for s in subsets])
    results = {}

    def per_draw(per_question):
        return np.asarray(per_question).reshape(draws, questions).mean(axis=1)

    for k in range(1, max_k + 1):
        affordable = [s for s in subsets if k * sum(costs[m] for m in s) <= budget]
        if "slm-mux" in rules and affordable:
            levels = mux_levels(multinomial_counts(folded, k))
            values = mux_subset_accuracy(levels, padded, np.arange(num_models))
            for subset, value in zip(subsets, values):
                if subset in affordable:
                    results[("slm-mux", subset, k)] = per_draw(value)
        if "agent-forest" in rules:
            for subset in affordable:
                if len(subset) >= 2:
                    value = pooled_vote_accuracy_exact(folded[list(subset)], k)
                    results[("agent-forest", subset, k)] = per_draw(value)
    if "model-switch" in rules:
        for order in itertools.permutations(range(num_models), 2):
            for n in range(1, max_k + 1):
                # E[cost] = n c_a + n c_b (1 − u_a),  u_a = Σ_{y≠⊥} π_a(y)^n.
                u_first = np.sum(folded[order[0], :, :-1] ** n, axis=-1)
                cost = np.mean(n * costs[order[0]] + n * costs[order[1]] * (1 - u_first))
                if cost <= budget:
                    value = model_switch_exact(folded[list(order)], n).per_question
                    results[("model-switch", order, n)] = per_draw(value)
    return results


@pytest.mark.parametrize(
    "rules, costs, budget",
    [
        (("slm-mux",), [1.0, 1.0, 1.0], 4.0),
        (("slm-mux", "agent-forest", "model-switch"), [1.0, 2.0, 1.5], 4.0),
    ],
)
def test_optimum_equals_brute_force(rules, costs, budget):
    probs = random_probs(7, SHAPE)
    split = models_vs_samples(probs, budget, costs, rules=rules)
    table = brute_force(probs, budget, costs, rules)
    table = {key: float(np.mean(value)) for key, value in table.items()}
    best_value = max(table.values())
    assert split.best.accuracy == pytest.approx(best_value, abs=1e-10)
    key = (split.best.rule, split.best.subset, split.best.k)
    assert table[key] == pytest.approx(best_value, abs=1e-10)
    evaluated = {(c.rule, c.subset, c.k): c.accuracy for c in split.candidates}
    assert set(evaluated) == set(table)
    for key, value in table.items():
        assert evaluated[key] == pytest.approx(value, abs=1e-10)
    assert all(c.feasible and c.cost <= budget + 1e-12 for c in split.candidates)


def test_candidates_match_direct_engine():
    # Two SLM-MUX candidates against mux_accuracy_exact on the subset alone (another code path
    # than the shared-level evaluator and its padding across k).
    probs = random_probs(7, SHAPE)
    split = models_vs_samples(probs, 4.0)
    by_key = {(c.subset, c.k): c for c in split.candidates}
    for subset, k in [((1,), 3), ((0, 2), 2)]:
        direct = [np.mean(mux_accuracy_exact(p[list(subset)], k, priority=np.arange(len(subset))))
                  for p in probs]
        np.testing.assert_allclose(by_key[(subset, k)].accuracy_draws, direct, atol=1e-12)
    # The paper's tie-break: better validation accuracy wins cross-model ties.
    validation = np.array([0.2, 0.9, 0.6])
    ranked = models_vs_samples(probs, 4.0, validation_accuracy=validation)
    candidate = next(c for c in ranked.candidates if c.subset == (0, 2) and c.k == 2)
    direct = [np.mean(mux_accuracy_exact(p[[0, 2]], 2, validation_accuracy=validation[[0, 2]]))
              for p in probs]
    np.testing.assert_allclose(candidate.accuracy_draws, direct, atol=1e-12)
    plain = by_key[((0, 2), 2)].accuracy_draws
    assert not np.allclose(candidate.accuracy_draws, plain)  # the priority matters here


def test_marginal_gains_and_intervals():
    probs = random_probs(7, SHAPE)
    split = models_vs_samples(probs, 4.0, interval=0.5)
    table = brute_force(probs, 100.0, [1.0, 1.0, 1.0], ("slm-mux",), max_k=5)
    best = split.best
    k, size = best.k, len(best.subset)
    base = table[("slm-mux", best.subset, k)]
    more_samples = table[("slm-mux", best.subset, k + 1)] - base
    assert split.more_samples.gain == pytest.approx(more_samples.mean(), abs=1e-10)
    assert split.more_samples.gain_interval == pytest.approx(
        tuple(np.quantile(more_samples, [0.25, 0.75])), abs=1e-10
    )
    assert split.more_samples.extra_cost == pytest.approx(size)
    if size == 3:
        assert split.more_models is None
    else:
        bigger = [value for (rule, s, kk), value in table.items() if len(s) == size + 1 and kk == k]
        best_bigger = max(bigger, key=np.mean)
        assert split.more_models.gain == pytest.approx(np.mean(best_bigger - base), abs=1e-10)
        assert split.more_models.extra_cost == pytest.approx(k)
    assert best.accuracy_draws.shape == (2,)
    assert "best: slm-mux" in split.reason


def test_model_switch_affords_more_samples_than_its_maximum():
    # Model 0 is nearly always unanimous: with budget 3, ModelSwitch n = 2 has maximum cost 4
    # (an SLM-MUX pair at k = 2 would not fit) but expected cost 2 + 2 (1 − u0) <= 3, with
    # u0 = 0.99^2 + 0.01^2 = 0.9802; n = 3 costs at least 3 + 3 (1 − u0) > 3.
    probs = np.array([[[0.99, 0.01, 0.0]] * 2, [[0.3, 0.7, 0.0]] * 2])
    split = models_vs_samples(probs, 3, rules=("model-switch",))
    switch = {(c.subset, c.k): c for c in split.candidates}
    assert switch[((0, 1), 2)].cost == pytest.approx(2 + 2 * (1 - 0.9802), abs=1e-12)
    assert ((0, 1), 3) not in switch
    # Visiting model 1 first: u1 = 0.3^2 + 0.7^2 = 0.58, cost 2 + 2 · 0.42 = 2.84 also fits.
    assert switch[((1, 0), 2)].cost == pytest.approx(2.84, abs=1e-12)
    # With n = 1 a single sample is always "unanimous": the chain is model 0 alone.
    assert switch[((0, 1), 1)].cost == pytest.approx(1.0)
    assert split.more_samples.candidate.subset == split.best.subset
    assert split.more_samples.candidate.k == split.best.k + 1


def test_best_per_size_keeps_the_optimum():
    probs = random_probs(7, SHAPE)
    everything = models_vs_samples(probs, 4, rules=("slm-mux", "agent-forest"))
    reduced = models_vs_samples(
        probs, 4, rules=("slm-mux", "agent-forest"), subsets="best_per_size"
    )
    slm_best = max(c.accuracy for c in everything.candidates if c.rule == "slm-mux")
    reduced_best = max(c.accuracy for c in reduced.candidates if c.rule == "slm-mux")
    assert reduced_best == pytest.approx(slm_best)
    assert reduced.best.accuracy <= everything.best.accuracy + 1e-12
    assert len(reduced.candidates) < len(everything.candidates)
    # One SLM-MUX candidate per (size, k): sizes 1..3 at k = 1, 1..2 at k = 2, 1 at k = 3, 4.
    assert sum(c.rule == "slm-mux" for c in reduced.candidates) == 3 + 2 + 1 + 1


def test_front_indexes_candidates():
    probs = random_probs(7, SHAPE)
    split = models_vs_samples(probs, 4, [1.0, 1.0, 2.0])
    costs = np.array([c.cost for c in split.candidates])
    accuracies = np.array([c.accuracy for c in split.candidates])
    assert split.candidates.index(split.best) in split.front.tolist()
    for i in range(len(costs)):
        dominated = np.any((costs <= costs[i]) & (accuracies >= accuracies[i])
                           & ((costs < costs[i]) | (accuracies > accuracies[i])))
        assert dominated == (i not in split.front.tolist())


def test_rejects_impossible_budgets():
    probs = random_probs(0, (2, 2, 3))
    with pytest.raises(ValueError, match="below the cost"):
        models_vs_samples(probs, 0.5)
    with pytest.raises(ValueError, match="rules"):
        models_vs_samples(probs, 4, rules=("debate",))
    with pytest.raises(ValueError, match="dimensions"):
        models_vs_samples(probs[0], 4)
    with pytest.raises(ValueError, match="sums to"):
        models_vs_samples(probs * 2, 4)


def test_blocked_evaluation_matches_one_block(monkeypatch):
    # Small blocks force padding of both the (k, draw, question) axis (30 cells in blocks of 4)
    # and the subset list (7 subsets in chunks of 3); the values must not change.
    from slmmux_theory.planning import budget

    probs = random_probs(7, SHAPE)
    whole = models_vs_samples(probs, 4.0)
    monkeypatch.setattr(budget, "_QUESTION_BLOCK", 4)
    monkeypatch.setattr(budget, "_SUBSET_CHUNK", 3)
    blocked = models_vs_samples(probs, 4.0)
    assert [c[:3] for c in blocked.candidates] == [c[:3] for c in whole.candidates]
    np.testing.assert_allclose(
        [c.accuracy_draws for c in blocked.candidates],
        [c.accuracy_draws for c in whole.candidates],
        atol=1e-13,
    )
