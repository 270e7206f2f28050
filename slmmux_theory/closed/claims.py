"""The papers' theoretical claims beside exact values, as rows of a table (no I/O).

Each row names a claim of the SLM-MUX paper (METHODS.md §5.1), a setting on a grid of
(k, p, error dispersion), the value the paper's binary picture gives, and the exact value of
the categorical model (:mod:`slmmux_theory.engines.exact`). ``slmmux theory`` prints the rows and draws
the figure; the book's first chapter reads the same rows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from slmmux_theory.closed.closed_forms import (
    agent_forest_binary_approximation,
    binomial_majority_accuracy,
    mux_binary_approximation,
)
from slmmux_theory.engines.exact import (
    mux_accuracy_exact,
    pooled_vote_accuracy_exact,
    self_consistency_accuracy_exact,
)

__all__ = [
    "ClaimRow",
    "categorical_with_dispersion",
    "mux_claim_rows",
    "theory_claim_rows",
    "voting_claim_rows",
]


class ClaimRow(NamedTuple):
    """One line of the claims table.

    Attributes:
      claim: short name of the paper's statement.
      setting: the grid point, human-readable.
      paper: the value of the paper's formula at that point.
      exact: the exact value under the categorical answer model.
      holds: whether the paper's qualitative statement holds at that point.
    """

    claim: str
    setting: str
    paper: float
    exact: float
    holds: bool


def categorical_with_dispersion(p_correct: float, num_wrong: int) -> np.ndarray:
    """One question's distribution: ``p`` on the correct slot, the rest spread evenly over
    ``num_wrong`` shared wrong slots, and an empty ⊥ slot. Shape [num_wrong + 2]."""
    wrong = (1.0 - p_correct) / num_wrong
    return np.array([p_correct] + [wrong] * num_wrong + [0.0])


def voting_claim_rows(
    sample_counts=(2, 3, 4, 5, 9), p_grid=(0.3, 0.45, 0.55, 0.7), dispersions=(1, 3, 7)
) -> list[ClaimRow]:
    """"Voting improves on one sample only if p > 0.5" under the categorical model.

    The paper's value is ``A(N, p)`` with ties counted as correct; the exact value is the
    plurality accuracy when wrong answers spread over ``d`` distinct strings.
    """
    rows = []
    for n in sample_counts:
        for p in p_grid:
            paper = float(binomial_majority_accuracy(n, p, "counted"))
            for d in dispersions:
                probs = categorical_with_dispersion(p, d)[None, None]
                exact = float(self_consistency_accuracy_exact(probs, n)[0, 0])
                # The claim: voting helps iff p > 0.5.
                holds = (exact > p + 1e-12) == (p > 0.5)
                rows.append(ClaimRow("voting helps iff p>0.5", f"N={n} p={p} wrong answers={d}",
                                     paper, exact, bool(holds)))
    return rows


def mux_claim_rows(sample_counts=(3, 5, 9)) -> list[ClaimRow]:
    """"SLM-MUX ≈ A(k, p_max)" and "Agent Forest ≈ A(nk, p̄) < SLM-MUX" for model pairs.

    Pairs: a stronger model with dispersed errors beside a weaker one whose errors are either
    dispersed or concentrated on one shared wrong answer (the confidently-wrong case).
    """
    pairs = {
        "strong dispersed + weak dispersed": ([0.6, 0.1, 0.1, 0.1, 0.1, 0.0],
                                               [0.4, 0.15, 0.15, 0.15, 0.15, 0.0]),
        "strong dispersed + weak concentrated": ([0.6, 0.1, 0.1, 0.1, 0.1, 0.0],
                                                  [0.3, 0.7, 0.0, 0.0, 0.0, 0.0]),
        "equal models, shared attractor": ([0.5, 0.5, 0.0, 0.0, 0.0, 0.0],
                                            [0.5, 0.3, 0.2, 0.0, 0.0, 0.0]),
    }
    rows = []
    for k in sample_counts:
        for name, (first, second) in pairs.items():
            probs = np.array([[first], [second]])
            p = probs[:, 0, 0]
            mux = float(mux_accuracy_exact(probs, k)[0])
            approx = float(mux_binary_approximation(p, k))
            rows.append(ClaimRow("SLM-MUX ~ A(k, p_max)", f"k={k} {name}", approx, mux,
                                 bool(abs(mux - approx) < 0.02)))
            forest = float(pooled_vote_accuracy_exact(probs, k)[0])
            forest_approx = float(agent_forest_binary_approximation(p, k))
            rows.append(ClaimRow("Agent Forest ~ A(nk, mean p)", f"k={k} {name}", forest_approx,
                                 forest, bool(abs(forest - forest_approx) < 0.02)))
            rows.append(ClaimRow("Agent Forest < SLM-MUX", f"k={k} {name}", float(forest_approx < approx),
                                 float(forest < mux), bool((forest < mux) == (forest_approx < approx))))
    return rows


def theory_claim_rows() -> list[ClaimRow]:
    """All rows: the voting claim and the two approximations."""
    return voting_claim_rows() + mux_claim_rows()
