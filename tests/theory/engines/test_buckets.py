"""Tests of slmmux_theory.engines.buckets: the one width-bucketing engine.

Reference: the same engine applied to every question alone on the uncompacted array (no
grouping, no compaction). Compaction keeps every rule's value, so grouped == ungrouped for every
bucket policy, row chunking and padding.
"""

from __future__ import annotations

import numpy as np
import pytest

from slmmux_theory.engines import buckets
from slmmux_theory.engines.exact import (
    model_switch_exact,
    multinomial_counts,
    pooled_vote_accuracy_batched,
)


def _random_laws(rng, models, questions, answers):
    """Probabilities with a random number of used wrong slots per (model, question)."""
    probs = rng.random((models, questions, answers))
    probs[probs < 0.5] = 0.0
    probs[..., 0] += 0.1
    probs[..., -1] *= rng.random((models, questions)) < 0.3
    return probs / probs.sum(-1, keepdims=True)


def _pooled(group, k=2):
    counts = multinomial_counts(group, k)
    return np.asarray(pooled_vote_accuracy_batched(counts.probs[None], k, counts.num_answers)[0])


def _switch(group, k=2):
    result = model_switch_exact(group, k)
    return np.stack([np.asarray(result.per_question), np.asarray(result.expected_samples)], 1)


def _one_by_one(probs, fn):
    return np.concatenate([fn(probs[:, q : q + 1]) for q in range(probs.shape[1])])


POLICIES = {
    "width": dict(),
    "even": dict(bucket=buckets.even_width),
    "even from zero": dict(bucket=buckets.even_width_from_zero),
    "single": dict(bucket=buckets.single_bucket, keep_bucket_width=False),
    "narrow and wide": dict(bucket=buckets.narrow_and_wide(4, 9), keep_bucket_width=False),
    "chunked and padded": dict(max_rows=lambda slots: 3, pad_rows=True),
}


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_equals_ungrouped_on_tiny_random_cases(policy, seed):
    rng = np.random.default_rng(seed)
    probs = _random_laws(rng, 2, 9, 7)
    for fn in (_pooled, _switch):
        grouped = buckets.apply_by_width(probs, fn, **POLICIES[policy])
        np.testing.assert_allclose(grouped, _one_by_one(probs, fn), atol=1e-12,
                                   err_msg=f"{policy} {fn.__name__}")


def test_groups_are_compacted_to_their_own_width():
    # Question widths (wrong slots used by any model): 0, 1, 3.
    probs = np.zeros((2, 3, 6))
    probs[:, :, 0] = 1.0
    probs[0, 1, 2] = 1.0
    probs[1, 2, 1:4] = 1.0
    seen = []

    def record(group):
        seen.append(group.shape)
        return np.zeros(group.shape[1])

    buckets.apply_by_width(probs, record)
    assert sorted(seen) == [(2, 1, 2), (2, 1, 3), (2, 1, 5)]
    seen.clear()
    buckets.by_question_width(probs, record)  # even, at least 2: buckets 2, 2, 4
    assert sorted(seen) == [(2, 1, 6), (2, 2, 4)]


def test_skipped_questions_keep_the_fill_value():
    probs = np.zeros((1, 3, 6))
    probs[:, :, 0] = 1.0
    probs[0, 2, 1:5] = 1.0  # 4 wrong slots: 6 slots in all
    values = buckets.apply_by_width(probs, lambda g: np.ones(g.shape[1]),
                                    bucket=buckets.narrow_and_wide(3, 5),
                                    keep_bucket_width=False)
    np.testing.assert_array_equal(values[:2], [1.0, 1.0])
    assert np.isnan(values[2])


def test_padded_rows_never_reach_the_result():
    probs = np.zeros((1, 5, 3))
    probs[0, :, 0] = np.arange(1, 6)
    calls = []

    def rows(group):
        calls.append(group.shape[1])
        return group[0, :, 0].copy()

    values = buckets.apply_by_width(probs, rows, max_rows=lambda slots: 128, pad_rows=True)
    np.testing.assert_array_equal(values, np.arange(1, 6))
    assert calls == [64]  # padded to a power of two, at least 64
