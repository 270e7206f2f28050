"""Phase diagram of the discussion model: where LLM-Debate beats or loses to independent plurality.

For identical agents (METHODS §6; model in :mod:`slmmux_theory.discussion.model`) the script computes,
exactly, debate accuracy minus the accuracy of the plurality of the agents' independent round-1
answers over a grid of

* correct mass ``p`` (each agent's probability of the correct answer),
* dispersion of the wrong mass (share of it on the single most popular wrong answer, from
  ``1 / num_wrong`` = spread evenly to ``1`` = one dominant wrong answer),
* conformity (probability of a social move), for one or more ``conformity_when_correct /
  conformity`` ratios (``1`` symmetric, ``< 1`` agents holding the correct answer resist).

It saves ``groupthink_phase.json`` (the grid) and ``groupthink_phase.png`` (one panel per ratio and
conformity; red where debate loses) and prints a short table: for each panel the share of the grid
where debate wins and the largest gain and loss, plus, per dispersion, the smallest correct mass
above which debate loses. The dashed line in the figure is ``p = largest wrong mass``.

Usage::

    python -m experiments.groupthink_phase.run [--grid-size 19] [--rounds 3]
        [--conformities 0.25,0.5,1] [--correct-conformity-ratios 1,0.5] [--output-dir out/]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import TwoSlopeNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from slmmux_run.cli_args import int_in, number_in  # noqa: E402
from slmmux_theory.discussion.phase import PhaseGrid, phase_grid  # noqa: E402
from slmmux_theory.precision import enable_x64  # noqa: E402

__all__ = ["compute", "main", "phase_figure", "summary_rows"]


def _floats(text: str) -> list[float]:
    return [float(item) for item in text.split(",") if item.strip()]


def compute(args: argparse.Namespace) -> list[PhaseGrid]:
    """One :class:`PhaseGrid` per correct-conformity ratio."""
    correct_masses = np.linspace(0.05, 0.95, args.grid_size)
    shares = np.linspace(1.0 / args.num_wrong, 1.0, args.grid_size)
    return [
        phase_grid(
            correct_masses,
            shares,
            _floats(args.conformities),
            majority_weight=args.majority_weight,
            stubbornness=args.stubbornness,
            correct_conformity_ratio=ratio,
            num_agents=args.num_agents,
            num_wrong=args.num_wrong,
            rounds=args.rounds,
            presentation=args.presentation,
        )
        for ratio in _floats(args.correct_conformity_ratios)
    ]


def summary_rows(grids: list[PhaseGrid], ratios: list[float]) -> list[dict]:
    """Per (ratio, conformity) panel: win share, extreme differences, loss threshold per share."""
    rows = []
    for ratio, grid in zip(ratios, grids):
        masses = np.asarray(grid.correct_mass)
        for index, conformity in enumerate(np.asarray(grid.conformity)):
            difference = np.asarray(grid.difference[index])  # [C, D]
            thresholds = []
            for column in range(difference.shape[1]):
                losing = difference[:, column] < -1e-12
                # Smallest correct mass from which debate loses all the way up (None: never).
                tail = np.flatnonzero(~losing)
                start = tail[-1] + 1 if tail.size else 0
                thresholds.append(float(masses[start]) if start < masses.size else None)
            rows.append(
                {
                    "correct_conformity_ratio": float(ratio),
                    "conformity": float(conformity),
                    "debate_wins_share": float((difference > 1e-12).mean()),
                    "largest_gain": float(difference.max()),
                    "largest_loss": float(difference.min()),
                    "loses_from_correct_mass": thresholds,
                }
            )
    return rows


def phase_figure(grids: list[PhaseGrid], ratios: list[float]) -> Figure:
    """Heat maps of debate minus independent plurality: rows = ratios, columns = conformities."""
    num_rows, num_columns = len(grids), len(np.asarray(grids[0].conformity))
    figure, axes = plt.subplots(
        num_rows, num_columns, figsize=(3.2 * num_columns, 2.9 * num_rows), squeeze=False,
        sharex=True, sharey=True, constrained_layout=True,
    )
    limit = max(float(np.abs(np.asarray(grid.difference)).max()) for grid in grids) or 1e-3
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    image = None
    for row, (ratio, grid) in enumerate(zip(ratios, grids)):
        shares = np.asarray(grid.dominant_wrong_share)
        masses = np.asarray(grid.correct_mass)
        for column, conformity in enumerate(np.asarray(grid.conformity)):
            axis = axes[row, column]
            difference = np.asarray(grid.difference[column])
            image = axis.pcolormesh(shares, masses, difference, cmap="RdBu", norm=norm,
                                    shading="nearest")
            if difference.min() < 0 < difference.max():
                axis.contour(shares, masses, difference, levels=[0.0], colors="k", linewidths=1)
            # Where the correct mass equals the largest wrong mass: p = (1 - p) * share.
            axis.plot(shares, shares / (1.0 + shares), "k--", linewidth=0.8)
            axis.set_title(f"conformity {conformity:g}, correct/wrong {ratio:g}", fontsize=8)
            if row == num_rows - 1:
                axis.set_xlabel("top-wrong share of wrong mass")
            if column == 0:
                axis.set_ylabel("correct mass p")
    figure.colorbar(image, ax=axes, label="debate − independent plurality")
    return figure


def main(argv: list[str] | None = None) -> int:
    enable_x64()  # the theory computes in float64
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grid-size", type=int_in(2, 1000), default=19)
    parser.add_argument("--conformities", default="0.25,0.5,1")
    parser.add_argument("--correct-conformity-ratios", default="1,0.5")
    parser.add_argument("--majority-weight", type=number_in(0, 1), default=0.5)
    parser.add_argument("--stubbornness", type=number_in(0, 1), default=0.5)
    parser.add_argument("--num-agents", type=int_in(1, 100), default=3)
    parser.add_argument("--num-wrong", type=int_in(1, 100), default=4)
    parser.add_argument("--rounds", type=int_in(1, 100), default=3)
    parser.add_argument("--presentation", default="index", choices=["index", "shuffled"])
    parser.add_argument("--output-dir", type=Path, default=Path("out/groupthink_phase"))
    args = parser.parse_args(argv)

    ratios = _floats(args.correct_conformity_ratios)
    grids = compute(args)
    rows = summary_rows(grids, ratios)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    payload = {
        "settings": {key: (str(value) if isinstance(value, Path) else value)
                     for key, value in vars(args).items()},
        "correct_conformity_ratio": ratios,
        "conformity": np.asarray(grids[0].conformity).tolist(),
        "correct_mass": np.asarray(grids[0].correct_mass).tolist(),
        "dominant_wrong_share": np.asarray(grids[0].dominant_wrong_share).tolist(),
        "debate_accuracy": [np.asarray(g.debate_accuracy).tolist() for g in grids],
        "independent_accuracy": [np.asarray(g.independent_accuracy).tolist() for g in grids],
        "difference": [np.asarray(g.difference).tolist() for g in grids],
        "summary": rows,
    }
    (args.output_dir / "groupthink_phase.json").write_text(json.dumps(payload, indent=1))
    figure = phase_figure(grids, ratios)
    figure.savefig(args.output_dir / "groupthink_phase.png", dpi=120)
    plt.close(figure)

    shares = np.asarray(grids[0].dominant_wrong_share)
    print(f"N={args.num_agents} identical agents, {args.num_wrong} wrong slots, R={args.rounds}, "
          f"majority weight {args.majority_weight}, stubbornness {args.stubbornness}")
    print("loses-from p: smallest correct mass from which debate loses, per top-wrong share "
          + ", ".join(f"{s:.2f}" for s in shares[:: max(1, len(shares) // 4)]))
    header = f"{'c/w ratio':>9} {'conform':>7} {'wins':>6} {'max gain':>9} {'max loss':>9}"
    print(header + "  loses-from p")
    for row in rows:
        thresholds = row["loses_from_correct_mass"][:: max(1, len(shares) // 4)]
        text = ", ".join("never" if t is None else f"{t:.2f}" for t in thresholds)
        print(f"{row['correct_conformity_ratio']:>9g} {row['conformity']:>7g} "
              f"{row['debate_wins_share']:>6.2f} {row['largest_gain']:>+9.3f} "
              f"{row['largest_loss']:>+9.3f}  {text}")
    print(f"wrote {args.output_dir / 'groupthink_phase.json'} and groupthink_phase.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
