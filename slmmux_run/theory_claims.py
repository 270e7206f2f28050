"""The papers' theoretical claims beside exact values, written as a table and a figure.

Runner layer (files, figures): the claim rows and the exact curves come from the theory
(:func:`slmmux_theory.closed.claims.theory_claim_rows`, the exact engine); this module draws and
writes them. Used by ``slmmux theory`` and by ``slmmux reproduce`` (step ``theory``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

__all__ = ["TheoryClaims", "voting_figure", "write_theory_claims"]


class TheoryClaims(NamedTuple):
    """The claim rows and where they were written.

    Attributes:
      rows: ``ClaimRow`` per (claim, grid point).
      figure: path of ``theory_claims.png``.
      table: path of ``theory_claims.json``.
    """

    rows: list
    figure: Path
    table: Path


def voting_figure(p_grid, curves, pair_rows):
    """Left: A(N,p) (paper) vs exact plurality with dispersed errors; right: SLM-MUX exact vs
    the paper's A(k, p_max).

    Args:
      p_grid: shape [points].
      curves: {label: values [points]} for the left panel.
      pair_rows: ClaimRow list of the SLM-MUX claim.
    """
    from slmmux_run.figures import figure, place_legend

    fig, (left, right) = figure(1, 2, layout="constrained", figsize=(12.5, 4.2))
    for label, values in curves.items():
        left.plot(p_grid, values, label=label, linestyle="--" if "paper" in label else "-")
    left.plot(p_grid, p_grid, color="grey", linewidth=0.8, label="one sample (y = p)")
    left.set_xlabel("per-sample accuracy p")
    left.set_ylabel("vote accuracy")
    left.set_title("Binary majority (paper) vs plurality, N = 5")
    place_legend(left)
    paper = [r.paper for r in pair_rows]
    exact = [r.exact for r in pair_rows]
    right.scatter(paper, exact)
    right.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    right.set_xlabel("paper's approximation A(k, p_max)")
    right.set_ylabel("exact SLM-MUX accuracy")
    right.set_title(f"SLM-MUX: approximation vs exact ({len(pair_rows)} settings of two models)")
    return fig


def write_theory_claims(out) -> TheoryClaims:
    """Compute the claim rows and the voting curves; write the JSON table and the figure."""
    import numpy as np

    from slmmux_run.figures import save
    from slmmux_theory.closed.claims import categorical_with_dispersion, theory_claim_rows
    from slmmux_theory.closed.closed_forms import binomial_majority_accuracy
    from slmmux_theory.engines.exact import self_consistency_accuracy_exact

    rows = theory_claim_rows()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p_grid = np.linspace(0.05, 0.95, 37)
    curves = {"paper A(5,p), ties counted": np.asarray(binomial_majority_accuracy(5, p_grid))}
    for d in (1, 3, 7):
        probs = np.stack([categorical_with_dispersion(p, d) for p in p_grid])[None]
        curves[f"exact plurality, {d} wrong answer(s)"] = np.asarray(
            self_consistency_accuracy_exact(probs, 5)[0]
        )
    pair_rows = [r for r in rows if r.claim == "SLM-MUX ~ A(k, p_max)"]
    figure_path = save(voting_figure(p_grid, curves, pair_rows), out / "theory_claims.png")
    table = out / "theory_claims.json"
    table.write_text(json.dumps([r._asdict() for r in rows], indent=1))
    return TheoryClaims(rows, figure_path, table)
