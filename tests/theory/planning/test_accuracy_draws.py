"""Tests of slmmux_theory.planning.accuracy_draws (best_share against a brute-force count)."""

from __future__ import annotations

import itertools

import numpy as np

from slmmux_theory.planning.accuracy_draws import best_share


def _brute_share(values):
    candidates, draws = values.shape
    credit = np.zeros(candidates)
    for d in range(draws):
        winners = [c for c in range(candidates) if values[c, d] == max(values[:, d])]
        for c in winners:
            credit[c] += 1 / len(winners)
    return credit / draws


def test_best_share_matches_brute_force_on_every_small_grid():
    # Every 3 x 2 table over the values {0, 1}: ties of two and three in one draw included.
    for cells in itertools.product((0.0, 1.0), repeat=6):
        values = np.array(cells).reshape(3, 2)
        np.testing.assert_allclose(best_share(values), _brute_share(values), atol=1e-15)


def test_best_share_sums_to_one_and_equals_argmax_without_ties():
    values = np.random.default_rng(0).random((5, 200))
    share = best_share(values)
    assert abs(share.sum() - 1) < 1e-12
    np.testing.assert_allclose(share, np.bincount(values.argmax(0), minlength=5) / 200)
