"""SLM-MUX's level laws (engines/levels.py): the subset sweep and jit/vmap consistency."""

import jax
import numpy as np

from slmmux_theory.engines.counts import multinomial_counts
from slmmux_theory.engines.levels import (
    MuxLevels,
    mux_accuracy_from_levels,
    mux_levels,
    mux_subset_accuracy,
)
from slmmux_theory.rules.slm_mux import mux_accuracy_exact


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
    direct = mux_accuracy_from_levels(levels, np.arange(3), "model_order")
    jitted = jax.jit(mux_accuracy_from_levels, static_argnums=2)(levels, np.arange(3), "model_order")
    np.testing.assert_allclose(direct, jitted, atol=1e-14)
    per_q = jax.vmap(
        lambda a, b: mux_accuracy_from_levels(MuxLevels(a[:, None], b[:, None]), np.arange(3), "model_order")[0],
        in_axes=(1, 1),
    )(levels.level, levels.level_correct)
    np.testing.assert_allclose(direct, per_q, atol=1e-14)
