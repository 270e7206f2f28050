"""Tests of slmmux_theory.inference.checks on hand-made arrays with hand-computed values."""

import jax.numpy as jnp
import numpy as np
import pytest

from slmmux_theory.inference.checks import (
    counts_from_samples,
    predictive_check,
    sample_statistics,
)

# Two models, three questions, A = 4 slots (correct, w1, w2, ⊥), 4 samples each.
#   model 0: q0 = 4 correct; q1 = 2 w1, 2 w2 (tie); q2 = 3 correct, 1 ⊥
#   model 1: q0 = 4 w1;      q1 = 3 w1, 1 correct;  q2 = 4 ⊥
COUNTS = np.array(
    [
        [[4, 0, 0, 0], [0, 2, 2, 0], [3, 0, 0, 1]],
        [[0, 4, 0, 0], [1, 3, 0, 0], [0, 0, 0, 4]],
    ]
)
SAMPLES = np.array(
    [
        [[0, 0, 0, 0], [1, 2, 1, 2], [0, 3, 0, 0]],
        [[1, 1, 1, 1], [1, 0, 1, 1], [3, 3, 3, 3]],
    ]
)


def test_counts_from_samples_matches_hand_counts():
    assert counts_from_samples(SAMPLES, 4).tolist() == COUNTS.tolist()


def test_counts_from_samples_ignores_missing():
    assert counts_from_samples(np.array([[[2, -1, 2, -1]]]), 3).tolist() == [[[0, 0, 2]]]


def test_per_model_statistics_by_hand():
    stats = sample_statistics(COUNTS)
    # model 0 agrees on q0 only; model 1 on q0 only (q1 has one dissent, q2 is all ⊥).
    np.testing.assert_allclose(stats.all_agree_rate, [1 / 3, 1 / 3])
    # mode frequencies: model 0: 4/4, 2/4, 3/4; model 1: 4/4, 3/4, 0/4.
    np.testing.assert_allclose(stats.mean_mode_frequency, [(1 + 0.5 + 0.75) / 3, (1 + 0.75) / 3])
    # distinct valid answers: model 0: 1, 2, 1; model 1: 1, 2, 0.
    np.testing.assert_allclose(stats.mean_distinct_answers, [4 / 3, 1.0])
    np.testing.assert_allclose(stats.sample_accuracy, [7 / 12, 1 / 12])


def test_same_wrong_mode_rate_by_hand():
    stats = sample_statistics(COUNTS)
    # q0: modes correct vs w1 -> 0. q1: model 0 ties w1/w2 (1/2 each), model 1 mode w1 -> 1/2.
    # q2: model 1 has no valid answer -> 0. Rate = (0 + 1/2 + 0) / 3.
    assert stats.same_wrong_mode_rate[0, 1] == pytest.approx(1 / 6)
    assert stats.same_wrong_mode_rate[1, 0] == pytest.approx(1 / 6)


def test_questions_without_samples_are_skipped():
    counts = np.concatenate([COUNTS, np.zeros((2, 1, 4), dtype=int)], axis=1)
    for got, want in zip(sample_statistics(counts), sample_statistics(COUNTS)):
        np.testing.assert_allclose(got, want)


def test_batched_statistics_equal_one_by_one():
    batch = np.stack([COUNTS, COUNTS[::-1]])
    stats = sample_statistics(batch)
    single = sample_statistics(COUNTS[::-1])
    np.testing.assert_allclose(stats.all_agree_rate[1], single.all_agree_rate)
    np.testing.assert_allclose(stats.same_wrong_mode_rate[1], single.same_wrong_mode_rate)


def test_predictive_check_intervals_and_inside():
    # Replicates whose model-0 all-agree rates are 0, 1/3, 2/3, 1 (x5 each): the central 90 %
    # interval is [quantile 0.05, quantile 0.95] = [0, 1] after linear interpolation.
    replicas = []
    for agree in range(4):
        rep = np.zeros_like(COUNTS)
        rep[:, :, 1] = 2
        rep[:, :, 2] = 2
        rep[0, :agree] = [4, 0, 0, 0]
        replicas += [rep] * 5
    check = predictive_check(COUNTS, np.stack(replicas), level=0.9)
    assert float(check.lower.all_agree_rate[0]) == pytest.approx(0.0)
    assert float(check.upper.all_agree_rate[0]) == pytest.approx(1.0)
    assert bool(check.inside.all_agree_rate[0])
    # Model 1 always has 0 correct samples in the replicates but 1/12 observed: outside.
    assert not bool(check.inside.sample_accuracy[1])
    fractions = check.inside_fraction()
    assert fractions.sample_accuracy == pytest.approx(0.5)


def test_predictive_check_of_identical_replicates_covers_everything():
    check = predictive_check(COUNTS, np.stack([COUNTS] * 3))
    assert check.coverage() == 1.0


def test_predictive_check_rejects_bad_level():
    with pytest.raises(ValueError, match="level"):
        predictive_check(COUNTS, np.stack([COUNTS]), level=1.5)


def test_counts_as_jax_arrays_work():
    stats = sample_statistics(jnp.asarray(COUNTS))
    assert stats.same_wrong_mode_rate.shape == (2, 2)
