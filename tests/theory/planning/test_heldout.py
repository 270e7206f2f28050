"""Tests of slmmux_theory.planning.heldout: the held-out test of a predictor."""

from __future__ import annotations

import jax
import numpy as np

from slmmux_theory.planning import heldout
from slmmux_theory.planning.predictors import plug_in_predictor


def _counts(seed, samples):
    rng = np.random.default_rng(seed)
    probs = np.array([[0.7, 0.2, 0.1, 0.0], [0.5, 0.1, 0.3, 0.1], [0.3, 0.5, 0.2, 0.0]])
    return np.stack([rng.multinomial(samples, probs[m], size=8) for m in range(3)])


def test_observed_self_consistency_is_the_hypergeometric_replay_by_hand():
    # One model, held-out pool (2 correct, 1 wrong), k = 2: {c,c} 1/3 right; {c,w} 2/3 a tie
    # won by c half the time: 1/3 + 1/3 = 2/3.
    observed = heldout.observed_accuracies(np.array([[[2, 1, 0]]]), 2, ("self-consistency",))
    assert list(observed) == [((0,), "self-consistency")]
    assert abs(observed[((0,), "self-consistency")] - 2 / 3) < 1e-12


def test_heldout_test_rows_cover_every_cell_and_the_plug_in_is_a_point():
    fit, held = _counts(0, 4), _counts(1, 5)
    test = heldout.heldout_test(jax.random.PRNGKey(0), fit, held, 3, plug_in_predictor,
                                model_names=["a", "b", "c"])
    cells = {(r.models, r.rule) for r in test.rows}
    assert len(test.rows) == 3 + 3 + 3 and len(cells) == 9
    for row in test.rows + test.baseline:
        assert row.interval[0] == row.predicted == row.interval[1]
    # The baseline is the plug-in: the same rows when the predictor is the plug-in.
    assert [r.predicted for r in test.rows] == [r.predicted for r in test.baseline]
    summary = heldout.summarise(test.rows, "slm-mux")
    assert summary["cells"] == 3 and 0.0 <= summary["mae"] <= 1.0


def test_point_prediction_from_the_true_laws_matches_a_large_held_out_replay():
    # Predicting with the laws that generated a large held-out set: the observed exact replay
    # and the prediction agree to sampling noise.
    probs = np.array([[[0.7, 0.2, 0.1, 0.0]] * 4, [[0.5, 0.1, 0.3, 0.1]] * 4])
    rng = np.random.default_rng(2)
    held = np.stack([rng.multinomial(4000, probs[m, 0], size=4) for m in range(2)])
    observed = heldout.observed_accuracies(held, 3)
    predicted = heldout.predicted_accuracies(None, probs[None], held.sum(-1), 3)
    for cell, value in observed.items():
        assert abs(predicted[cell][0] - value) < 0.02, cell


def test_each_predictive_draw_is_the_observed_replay_of_its_own_replication():
    # The draws are replayed together (stacked along the questions); each draw's value must be
    # what replaying its replicated held-out set alone gives, with the replication's own seed.
    probs = np.stack([_counts(s, 6) + 0.5 for s in range(3)])
    probs /= probs.sum(-1, keepdims=True)  # [draws, models, questions, answers]
    sizes = _counts(4, 5).sum(-1)
    key = jax.random.PRNGKey(3)
    predicted = heldout.predicted_accuracies(key, probs, sizes, 3)
    for d, draw_key in enumerate(jax.random.split(key, 3)):
        rng = np.random.default_rng(np.asarray(jax.random.key_data(draw_key)).ravel())
        observed = heldout.observed_accuracies(rng.multinomial(sizes, probs[d]), 3)
        assert set(observed) == set(predicted)
        for cell, value in observed.items():
            assert abs(predicted[cell][d] - value) < 1e-12, (d, cell)


def test_replayed_subset_accuracy_equals_brute_force_replay():
    from tests.theory import reference_rules as ref

    counts = np.array([[[2, 1, 0], [0, 2, 1]], [[1, 2, 0], [2, 0, 1]], [[3, 0, 0], [1, 1, 1]]])
    priority = np.array([1, 2, 0])
    subsets = [(0, 1), (1, 2), (0, 2)]
    got = heldout.replayed_subset_accuracy(counts, subsets, 2, priority)
    for value, subset in zip(got, subsets):
        want = np.mean([
            ref.replay_expectation(
                [[s for s, c in enumerate(counts[m, q]) for _ in range(c)] for m in subset], 2,
                lambda seqs: ref.mux_correct(seqs, 2, [priority[m] for m in subset]))[0]
            for q in range(2)])
        assert abs(value - want) < 1e-12


def test_score_plan_by_hand():
    # Truth 0.65 / 0.75 / 0.5; the plan predicts the first best: regret 0.75 - 0.65.
    score = heldout.score_plan([0.7, 0.6, 0.4], [(0.6, 0.8), (0.5, 0.55), (0.45, 0.5)],
                               [0.65, 0.75, 0.5])
    assert isinstance(score, heldout.PlanScore)
    assert abs(score.mae - (0.05 + 0.15 + 0.1) / 3) < 1e-12
    assert score.coverage == 2 / 3  # the interval's end is covered
    assert abs(score.regret - 0.1) < 1e-12
    assert heldout.score_plan([0.6, 0.7], [(0, 1), (0, 1)], [0.6, 0.7]).regret == 0.0


def test_replayed_rule_accuracy_matches_the_subset_replay_and_brute_force():
    from slmmux_theory.planning.heldout import replayed_rule_accuracy, replayed_subset_accuracy

    rng = np.random.default_rng(5)
    # 3 models x 6 questions, 3 samples each over (correct, wrong, ⊥).
    counts = np.stack([rng.multinomial(3, [0.5, 0.4, 0.1], size=6) for _ in range(3)])
    priority = np.array([1, 0, 2])
    subsets = [(0, 1), (0, 2), (1, 2)]
    np.testing.assert_allclose(
        replayed_rule_accuracy(counts, "slm-mux", subsets, 3, priority),
        replayed_subset_accuracy(counts, subsets, 3, priority), atol=1e-12)
    # k = 3 of 3 samples: self-consistency of one model is its plurality on the recorded row,
    # ties between the plurality answers split uniformly, ⊥ (the last slot) never a vote
    # (METHODS.md §1.3(a)); brute force over the rows.
    def plurality(row):
        votes = row[:-1]
        if votes.max() == 0:
            return 0.0
        winners = [a for a in range(len(votes)) if votes[a] == votes.max()]
        return (0 in winners) / len(winners)

    expected = [np.mean([plurality(counts[m, q]) for q in range(6)]) for m in range(3)]
    np.testing.assert_allclose(
        replayed_rule_accuracy(counts, "self-consistency", [(0,), (1,), (2,)], 3, priority),
        expected, atol=1e-12)
    # Agent Forest with k = 3 of 3: plurality over both rows pooled.
    pooled = [np.mean([plurality(counts[a, q] + counts[b, q]) for q in range(6)])
              for a, b in subsets]
    np.testing.assert_allclose(
        replayed_rule_accuracy(counts, "agent-forest", subsets, 3, priority), pooled, atol=1e-12)
