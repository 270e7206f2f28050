"""Tests of experiments.pilot_eval.hard_laws: level laws of predicted laws."""

from __future__ import annotations

import numpy as np

from experiments.pilot_eval.hard_laws import law_levels
from slmmux_theory.engines.replay import replay_levels


def test_law_levels_fold_draws_draw_major():
    rng = np.random.default_rng(1)
    pools = rng.multinomial(6, [0.5, 0.3, 0.1, 0.1], size=(2, 3, 4))  # [draws, models, q, A]
    levels = law_levels(pools, True, 3)
    want = replay_levels(pools[1, 2][None], 3)  # draw 1, model 2
    assert np.allclose(levels.level_correct[2, 4:8], want.level_correct[0], atol=1e-12)


def test_beta_tree_predictor_gives_pools_of_the_recorded_size():
    import jax
    import pytest

    from experiments.pilot_eval.hard_laws import RECORDED, predicted_laws

    rng = np.random.default_rng(2)
    pilot = np.zeros((2, 10, 6), dtype=np.int64)
    for m in range(2):
        for q in range(10):
            pilot[m, q] = rng.multinomial(4, [0.6, 0.2, 0.1, 0.05, 0.0, 0.05])
    values, hypergeometric = predicted_laws("beta-tree/bootstrap", jax.random.PRNGKey(0), pilot,
                                            12, 2, 0, None)
    assert hypergeometric and values.shape[:3] == (2, 2, 12)
    assert (values.sum(-1) == RECORDED).all()
    assert (values[:, :, :10, 0] >= pilot[None, :, :, 0]).all()
    levels = law_levels(values, True, 3)
    assert levels.level_correct.shape[:2] == (2, 2 * 12)
    with pytest.raises(ValueError, match="bootstrap"):
        predicted_laws("beta-tree/stratified", jax.random.PRNGKey(0), pilot, 12, 2, 0, None)
