"""``slmmux theory``: the papers' theoretical claims beside exact values, as a table and a figure."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "run", "voting_figure"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "theory", help="table of the paper's theoretical claims beside exact values, and a figure"
    )
    parser.add_argument("--out", default="out/theory", help="folder for the figure and JSON")
    parser.add_argument("--all-rows", action="store_true", help="print every grid row")
    parser.set_defaults(handler=run)


def voting_figure(p_grid, curves, pair_rows):
    """Left: A(N,p) (paper) vs exact plurality with dispersed errors; right: SLM-MUX exact vs
    the paper's A(k, p_max).

    Args:
      p_grid: shape [points].
      curves: {label: values [points]} for the left panel.
      pair_rows: ClaimRow list of the SLM-MUX claim.
    """
    from slmmux_run.figures import figure

    fig, (left, right) = figure(1, 2)
    for label, values in curves.items():
        left.plot(p_grid, values, label=label, linestyle="--" if "paper" in label else "-")
    left.plot(p_grid, p_grid, color="grey", linewidth=0.8, label="one sample (y = p)")
    left.set_xlabel("per-sample accuracy p")
    left.set_ylabel("vote accuracy")
    left.set_title("Binary majority (paper) vs plurality, N = 5")
    left.legend()
    paper = [r.paper for r in pair_rows]
    exact = [r.exact for r in pair_rows]
    right.scatter(paper, exact)
    right.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
    right.set_xlabel("paper's approximation A(k, p_max)")
    right.set_ylabel("exact SLM-MUX accuracy")
    right.set_title("SLM-MUX: approximation vs exact (model pairs)")
    fig.tight_layout()
    return fig


def run(args) -> int:
    import numpy as np

    import slmmux_theory  # noqa: F401
    from slmmux_run.figures import save
    from slmmux_theory.closed.claims import categorical_with_dispersion, theory_claim_rows
    from slmmux_theory.closed.closed_forms import binomial_majority_accuracy
    from slmmux_theory.engines.exact import self_consistency_accuracy_exact

    rows = theory_claim_rows()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'claim':32} {'setting':48} {'paper':>8} {'exact':>8}  holds")
    by_claim: dict[str, list] = {}
    for row in rows:
        by_claim.setdefault(row.claim, []).append(row)
    for claim, members in by_claim.items():
        shown = members if args.all_rows else [r for r in members if not r.holds][:4] + [
            r for r in members if r.holds][:2]
        for r in shown:
            print(f"{r.claim:32} {r.setting:48} {r.paper:8.4f} {r.exact:8.4f}  {'yes' if r.holds else 'NO'}")
    print()
    print("summary: claim held at how many grid points")
    for claim, members in by_claim.items():
        held = sum(r.holds for r in members)
        gap = max(abs(r.paper - r.exact) for r in members)
        print(f"  {claim:32} {held:3d} / {len(members):3d}   largest |paper - exact| = {gap:.4f}")
    p_grid = np.linspace(0.05, 0.95, 37)
    curves = {"paper A(5,p), ties counted": np.asarray(binomial_majority_accuracy(5, p_grid))}
    for d in (1, 3, 7):
        probs = np.stack([categorical_with_dispersion(p, d) for p in p_grid])[None]
        curves[f"exact plurality, {d} wrong answer(s)"] = np.asarray(
            self_consistency_accuracy_exact(probs, 5)[0]
        )
    fig = voting_figure(p_grid, curves, by_claim["SLM-MUX ~ A(k, p_max)"])
    figure_path = save(fig, out / "theory_claims.png")
    (out / "theory_claims.json").write_text(json.dumps([r._asdict() for r in rows], indent=1))
    print(f"\nfigure: {figure_path}\ntable:  {out / 'theory_claims.json'}")
    return 0
