"""Tests of slmmux_theory.engines.replay: exact and literal replay of recorded samples.

Expected values are worked out by hand in the comments, or by brute force over every draw of
the recorded samples, never by the code under test.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from slmmux_theory.engines import replay
from slmmux_theory.engines.buckets import by_question_width
from slmmux_theory.engines.counts import hypergeometric_counts
from slmmux_theory.engines.exact import model_switch_exact, pooled_vote_accuracy_exact
from tests.theory.reference_rules import replay_by_hand


def test_replay_levels_match_hand_counts():
    # Pool (2 correct, 1 wrong), k = 2: draws {c,c} 1/3 (level 2, correct), {c,w} 2/3 (level 1,
    # tie between c and w: correct with probability 1/2).
    levels = replay.replay_levels(np.array([[[2, 1, 0]]]), 2)
    np.testing.assert_allclose(levels.level[0, 0], [0.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(levels.level_correct[0, 0], [0.0, 1 / 3, 1 / 3])


def test_replay_levels_all_samples_in_distinct_slots():
    # Every slot below total - k - 1 used to break the log-factorial table; 5 distinct answers.
    levels = replay.replay_levels(np.array([[[1, 1, 1, 1, 1, 0]]]), 1)
    np.testing.assert_allclose(levels.level_correct[0, 0], [0.0, 0.2])


def test_bucketed_pairs_and_widths_equal_direct_enumeration():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(7) * 0.3, size=(2, 2, 12))
    probs[0, :, :6, 2:6] = 0
    probs /= probs.sum(-1, keepdims=True)
    direct = np.stack([np.asarray(pooled_vote_accuracy_exact(p, 3)) for p in probs])
    np.testing.assert_allclose(replay.pooled_vote_pairs_exact(probs, 3), direct, atol=1e-12)
    switched = by_question_width(probs[0], lambda g: model_switch_exact(g, 2).per_question)
    np.testing.assert_allclose(switched, model_switch_exact(probs[0], 2).per_question, atol=1e-12)


def test_agent_forest_pair_replay_by_hand():
    # Model a's pool (c, w1), model b's pool (w2, w2), k = 1: a draws c or w1 (1/2 each), b
    # draws w2. {c, w2} is a two-way tie won by c with probability 1/2; {w1, w2} never wins.
    pools = np.array([[[1, 1, 0, 0]], [[0, 0, 2, 0]]])
    accuracy, cost = replay.pair_rule_values("agent-forest", pools, [[0, 1]], 1)
    np.testing.assert_allclose(accuracy, [[0.25]])
    np.testing.assert_allclose(cost, [[2.0]])


def test_model_switch_pair_replay_by_hand():
    # a's two samples are (c, w1): not unanimous, so b is called; b's (c, c) carries entropy
    # weight 1 against a's 0, so c wins. Cost: both models, 2 samples each, b costs 5.
    pools = np.array([[[1, 1, 0, 0]], [[2, 0, 0, 0]]])
    accuracy, cost = replay.pair_rule_values("model-switch", pools, [[0, 1]], 2,
                                             cost_per_sample=[1.0, 5.0])
    np.testing.assert_allclose(accuracy, [[1.0]])
    np.testing.assert_allclose(cost, [[12.0]])
    # a unanimous on a wrong answer: ModelSwitch stops there, wrong, having paid for a only.
    pools = np.array([[[0, 2, 0, 0]], [[2, 0, 0, 0]]])
    accuracy, cost = replay.pair_rule_values("model-switch", pools, [[0, 1]], 2,
                                             cost_per_sample=[1.0, 5.0])
    np.testing.assert_allclose(accuracy, [[0.0]])
    np.testing.assert_allclose(cost, [[2.0]])


def test_model_switch_expected_cost_counts_the_second_model_only_when_needed():
    # a's pool (c, c, w1), k = 2 without replacement: unanimous (c, c) with probability 1/3.
    pools = np.array([[[2, 1, 0]], [[0, 3, 0]]])
    _, cost = replay.pair_rule_values("model-switch", pools, [[0, 1]], 2)
    np.testing.assert_allclose(cost, [[2.0 + 2.0 * (2 / 3)]])


def test_pair_rule_values_rejects_unknown_rules():
    with pytest.raises(ValueError, match="rule must be one of"):
        replay.pair_rule_values("debate", np.ones((2, 1, 3)), [[0, 1]], 1)


# Three questions, slots [correct, wrong..., ⊥]; models a and b, three samples each (-1: none).
#   q1: a = c c w1 (gold 7, 8)        b = w1 w1 w1
#   q2: a = c c c                     b = w1 w2 w1 (4, 6)
#   q3: a = c ⊥ ⊥ (a failure, None)   b = w1 w2 w2 (1, 2)
SAMPLES = np.array([
    [[0, 0, 1], [0, 0, 0], [0, 3, 3]],
    [[1, 1, 1], [1, 2, 1], [1, 2, 2]],
])
NUM_ANSWERS = 4






@pytest.mark.parametrize("k", [1, 2])
def test_exact_replay_is_the_mean_over_every_k_subset(k):
    expected = replay_by_hand(SAMPLES, NUM_ANSWERS, k, priority=[0, 1])
    counts = replay.sample_counts(SAMPLES, NUM_ANSWERS)
    validation = np.array([0.9, 0.1])  # ranks a first, as priority [0, 1]
    got = {
        "slm-mux": replay.exact_replay(counts, "slm-mux", k, validation=validation).correct,
        "agent-forest": replay.exact_replay(counts, "agent-forest", k).correct,
        "sc-a": replay.exact_replay(counts[:1], "self-consistency", k).correct,
        "oracle": replay.exact_replay(counts, "oracle", k).correct,
        "switch": replay.exact_replay(counts, "model-switch", k).correct,
    }
    for rule in expected:
        np.testing.assert_allclose(got[rule], expected[rule], atol=1e-9, err_msg=rule)


def test_exact_replay_leaves_questions_beyond_the_slot_limit_out():
    counts = replay.sample_counts(SAMPLES, NUM_ANSWERS)
    # q2 and q3 use 2 wrong slots (A = 4), q1 one (A = 3): a limit of 3 keeps only q1.
    correct, spent = replay.exact_replay(counts, "agent-forest", 3, max_slots=3)
    assert np.isnan(correct[1:]).all() and correct[0] == 0.0
    assert spent[0] == 6.0 and np.isnan(spent[1:]).all()


def test_plug_in_replay_is_the_multinomial_law_of_the_frequencies():
    # One model, frequencies (2/3 correct, 1/3 wrong), k = 3 i.i.d.: plurality right when at
    # least 2 of 3 are correct: 3 (2/3)^2 (1/3) + (2/3)^3 = 20/27.
    values = replay.exact_replay(np.array([[[2.0, 1.0, 0.0]]]), "self-consistency", 3,
                                 hypergeometric=False)
    np.testing.assert_allclose(values.correct, [20 / 27])


def test_literal_replay_matches_the_rules_worked_by_hand():
    key = jax.random.PRNGKey(0)
    # No ties anywhere at k = 3, so every outcome is forced:
    # SLM-MUX: q1 b (3/3) -> wrong; q2 a (3/3) -> right; q3 b (2/3 > 1/3) -> wrong.
    assert replay.literal_replay(SAMPLES, NUM_ANSWERS, "slm-mux", key).correct.tolist() == [0, 1, 0]
    assert replay.literal_replay(SAMPLES, NUM_ANSWERS, "oracle", key).correct.tolist() == [1, 1, 1]
    sc = replay.literal_replay(SAMPLES, NUM_ANSWERS, "self-consistency", key, model=1)
    assert sc.correct.tolist() == [0, 0, 0] and sc.spent.tolist() == [3, 3, 3]
    switch = replay.literal_replay(SAMPLES, NUM_ANSWERS, "model-switch", key)
    # q2: a unanimous, stop after 3 samples; q1 and q3 call b too.
    assert switch.spent.tolist() == [6, 3, 6]
    with pytest.raises(ValueError, match="needs a model index"):
        replay.literal_replay(SAMPLES, NUM_ANSWERS, "self-consistency", key)


def test_sample_counts_ignore_missing_samples():
    np.testing.assert_array_equal(replay.sample_counts(np.array([[[0, -1, 2, 2]]]), 3),
                                  [[[1, 0, 2]]])


def test_mean_and_standard_error():
    assert replay.mean_and_standard_error(np.array([1.0, 1.0])) == (1.0, 0.0, 2)
    mean, error, count = replay.mean_and_standard_error(np.array([0.0, 1.0, np.nan]))
    assert (mean, count) == (0.5, 2) and error == pytest.approx(0.5)
    assert np.isnan(replay.mean_and_standard_error(np.array([np.nan]))[0])


def test_per_sample_accuracy_counts_missing_samples_as_not_correct():
    from slmmux_theory.engines.replay import per_sample_accuracy

    samples = np.array([[[0, 0, -1], [1, 0, 2]], [[-1, -1, -1], [2, 2, 2]]])
    assert per_sample_accuracy(samples).tolist() == [3 / 6, 0.0]


def test_pair_rule_values_on_pools_of_exactly_k_use_the_known_counts():
    # Pools of exactly k samples (the plan's fresh pools): the same values as the enumeration
    # of every count vector, where it runs (narrow rows).
    rng = np.random.default_rng(12)
    pools = np.stack([rng.multinomial(3, rng.dirichlet(np.ones(5)), size=8) for _ in range(3)])
    pairs = np.array([[0, 1], [2, 0], [1, 2]])
    got = replay.pair_rule_values("model-switch", pools, pairs, 3, cost_per_sample=[1, 2, 3])
    for i, (first, second) in enumerate(pairs):
        want = model_switch_exact(hypergeometric_counts(pools[[first, second]], 3))
        np.testing.assert_allclose(got.accuracy[i], want.per_question, atol=1e-12)
        costs = np.array([1, 2, 3])
        np.testing.assert_allclose(
            got.cost[i], 3 * costs[first] + (np.asarray(want.expected_samples) - 3) * costs[second],
            atol=1e-12)


def test_pair_rule_values_of_wide_pools_at_k_9():
    # 9 samples over 40 slots per row: count vectors are out of reach, the known counts are not.
    rng = np.random.default_rng(13)
    pools = np.stack([rng.multinomial(9, rng.dirichlet(np.full(40, 0.3)), size=50)
                      for _ in range(3)])
    values = replay.pair_rule_values("model-switch", pools, np.array([[0, 1], [1, 2]]), 9)
    assert np.all((values.accuracy >= 0) & (values.accuracy <= 1))
    assert np.all((values.cost >= 9) & (values.cost <= 18))


def test_agent_forest_pairs_on_pools_of_exactly_k_equal_the_pass_over_slots():
    rng = np.random.default_rng(14)
    pools = np.stack([rng.multinomial(4, rng.dirichlet(np.ones(6)), size=10) for _ in range(3)])
    pairs = np.array([[0, 1], [2, 1]])
    got = replay.pair_rule_values("agent-forest", pools, pairs, 4, cost_per_sample=[1, 2, 3])
    want = replay.pooled_vote_pairs_exact(np.stack([pools[p] for p in pairs]), 4,
                                          law="hypergeometric")
    np.testing.assert_allclose(got.accuracy, want, atol=1e-12)
    np.testing.assert_allclose(got.cost[:, 0], [12.0, 20.0])


def test_model_switch_beyond_exact_reach_is_a_clear_error():
    # 80 recorded samples over 30 slots, k = 9: the enumeration would need gigabytes; it
    # refuses before building anything.
    rng = np.random.default_rng(15)
    pools = np.stack([rng.multinomial(80, rng.dirichlet(np.full(30, 0.5)), size=2)
                      for _ in range(2)])
    with pytest.raises(replay.ExactOutOfReach, match="count-vector tuples"):
        replay.pair_rule_values("model-switch", pools, np.array([[0, 1]]), 9)
