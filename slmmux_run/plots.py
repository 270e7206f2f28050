"""Figures of the plan from a pilot (runner layer, presentation only).

The numbers come from :func:`slmmux_theory.planning.plan.plan`; these functions only draw them
in the package style (:mod:`slmmux_run.figures`) and write the file.
"""

from __future__ import annotations

from slmmux_run import figures

__all__ = ["pareto_figure"]


def pareto_figure(front, path, candidates=None):
    """Accuracy vs cost per question: the Pareto front (and optionally all candidates).

    Args:
      front: (cost, accuracy, ...) tuples of the front, e.g. ``Plan.front``.
      path: output file (.png/.svg).
      candidates: (cost, accuracy) pairs drawn faintly behind the front.

    Returns:
      the written path.
    """
    fig, ax = figures.figure()
    if candidates:
        ax.scatter([c[0] for c in candidates], [c[1] for c in candidates], s=6, alpha=0.3,
                   label="candidates")
    ax.plot([f[0] for f in front], [f[1] for f in front], marker="o", label="Pareto front")
    ax.set_xlabel("cost per question")
    ax.set_ylabel("predicted population accuracy")
    ax.legend()
    return figures.save(fig, path)
