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
