"""Accuracy draws of candidates: per-question values folded into population-accuracy draws.

Place in the layers: planning (pure NumPy/JAX; no I/O). The plan from a pilot scores every
candidate on every (draw, question) row of its predicted laws
(:mod:`slmmux_theory.planning.predictors`); a candidate's population accuracy in one draw is the
mean over that draw's questions. A point predictor (the plug-in) has one "draw" of the pilot
questions only: its accuracy draws are a bootstrap over pilot questions with deviations shrunk
by the finite-population factor ``1 - Q/N``. :class:`DrawFolding` holds that choice, so the plan,
its budget split and the ModelSwitch budget fold alike (the same resampled questions for every
candidate and k: gains are paired).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from slmmux_theory.engines.exact import MuxLevels, mux_subset_accuracy
from slmmux_theory.engines.replay import subset_accuracy_draws

__all__ = ["DrawFolding", "best_share", "bootstrap_means", "interval"]


def interval(values, level: float = 0.9):
    """Central ``level`` interval over the last axis: (low, high), each shape values.shape[:-1].

    >>> [round(float(x), 6) for x in interval(np.arange(11.0))]
    [0.5, 9.5]
    """
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    return low, high


def best_share(values, tolerance: float = 1e-12) -> np.ndarray:
    """Share of draws in which each candidate is the best, ties sharing the credit equally.

    In every draw the candidates within ``tolerance`` of that draw's best split one unit of
    credit; the share of a candidate is its mean credit over the draws. So four candidates tied
    in every draw get 0.25 each (``argmax`` would give the first 1.0 and hide that the pilot
    cannot tell them apart).

    Args:
      values: accuracy draws, shape [candidates, draws].
      tolerance: values this close to a draw's best count as tied.

    Returns:
      shape [candidates], summing to 1.

    >>> best_share(np.array([[0.5, 0.7], [0.5, 0.6], [0.4, 0.7]])).tolist()
    [0.5, 0.25, 0.25]
    """
    values = np.asarray(values, dtype=np.float64)
    tied = values >= values.max(axis=0, keepdims=True) - tolerance
    return (tied / tied.sum(axis=0, keepdims=True)).mean(axis=1)


def bootstrap_means(per_question: np.ndarray, num_questions: int, rng,
                    replicates: int = 400) -> np.ndarray:
    """Bootstrap of the pilot mean over pilot questions, deviations shrunk by the FPC.

    Args:
      per_question: shape [subsets, Q].
      num_questions: N, the population size.
      rng: a NumPy Generator.

    Returns:
      shape [subsets, replicates].
    """
    pilot = per_question.shape[1]
    picks = rng.integers(0, pilot, size=(replicates, pilot))
    means = per_question[:, picks].mean(-1)
    centre = per_question.mean(-1, keepdims=True)
    shrink = np.sqrt(max(0.0, 1.0 - pilot / num_questions))
    return centre + shrink * (means - centre)


class DrawFolding(NamedTuple):
    """How per-row values of candidates become accuracy draws.

    Attributes:
      num_draws: draws folded into the rows (draw-major; 1 for a point predictor).
      bootstrap: bootstrap over the pilot questions instead (the plug-in predictor).
      num_questions: N, the population size (the bootstrap's finite-population factor).
      seed: seed of the bootstrap's generator (the same for every call: paired gains).
    """

    num_draws: int
    bootstrap: bool
    num_questions: int
    seed: object

    def rows(self, per_row) -> np.ndarray:
        """Per-row values [candidates, draws*N'] -> accuracy draws [candidates, draws']."""
        if not self.bootstrap:
            return per_row.reshape(per_row.shape[0], self.num_draws, -1).mean(-1)
        return bootstrap_means(per_row, self.num_questions, np.random.default_rng(self.seed))

    def subsets(self, levels: MuxLevels, subsets, priority) -> np.ndarray:
        """SLM-MUX accuracy draws of subsets from level laws folded [models, draws*N', L].

        Returns:
          shape [subsets, draws'].
        """
        if not self.bootstrap:
            return subset_accuracy_draws(levels, subsets, priority, self.num_draws)
        # Per-question values of the pilot, then a bootstrap over pilot questions.
        per_question = np.asarray(mux_subset_accuracy(
            MuxLevels(jnp.asarray(levels.level), jnp.asarray(levels.level_correct)),
            subsets, priority, batch_size=32))
        return self.rows(per_question)
