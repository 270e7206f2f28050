"""The runner's figures: the plan, the replays and the studies of the main job (presentation only).

Runner layer. Each function takes numbers the theory or the records produced and returns a
``Figure`` in the package style (:mod:`slmmux_run.figures`): legends beside the axes (off the
data), whole-number ticks on axes of counts, titles that say how many questions were scored.
They compute nothing; ``slmmux reproduce`` and ``slmmux plan`` save what they return.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import MaxNLocator

from slmmux_run import figures
from slmmux_run.figures import integer_ticks, place_legend

__all__ = [
    "local_run_figure",
    "model_switch_figure",
    "pareto_figure",
    "plan_figure",
    "replay_figure",
    "search_figure",
]


def _label(models, names) -> str:
    return " + ".join(str(names[m]) if names is not None else str(m) for m in models)


def plan_figure(candidates, names=None, truth=None, front=(), top: int = 12):
    """The plan: each candidate's predicted accuracy with its 90 % interval, labelled.

    Args:
      candidates: ranked candidates (``Plan.candidates``: models, k, rule, predicted_accuracy,
        interval, p_best, cost); the first ``top`` are drawn, best at the top.
      names: model names by index (None: indices).
      truth: the replayed accuracy of each drawn candidate (same order), or None.
      front: ``Plan.front`` tuples (cost, accuracy, models, k, rule); drawn in a second panel,
        each point labelled, when given.
      top: how many candidates to draw.

    Returns:
      the figure.
    """
    shown = list(candidates)[:top]
    labels = [f"{_label(c.models, names)} ({c.rule}, k={c.k}, p_best {c.p_best:.2f})"
              for c in shown]
    # Long model names take the width they need beside a plot area of about 4 inches.
    width = 8.0 + 0.06 * max((len(label) for label in labels), default=0)
    fig, axes = figures.figure(1, 2 if front else 1, layout="constrained",
                               figsize=(width + (5.5 if front else 0.0),
                                        1.2 + 0.38 * max(len(shown), 4)))
    ax = axes[0] if front else axes
    y = np.arange(len(shown))[::-1]
    mean = np.array([c.predicted_accuracy for c in shown])
    low = np.array([c.interval[0] for c in shown])
    high = np.array([c.interval[1] for c in shown])
    ax.errorbar(mean, y, xerr=[mean - low, high - mean], fmt="o", capsize=3,
                label="predicted, 90 % interval")
    if truth is not None:
        ax.plot(np.asarray(truth)[:len(shown)], y, "x", color="C1", markersize=8,
                label="replayed (all recorded samples)")
    ax.set_yticks(y, labels, fontsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    span = max(float(high.max() - low.min()), 0.02) if len(shown) else 1.0
    if len(shown):
        ax.set_xlim(low.min() - 0.08 * span, high.max() + 0.08 * span)
    ax.set_xlabel("predicted accuracy over the population")
    ax.set_title(f"plan: top {len(shown)} of {len(candidates)} candidates")
    place_legend(ax)
    if front:
        _front_panel(axes[1], front, names)
    return fig


def _front_panel(ax, front, names):
    costs = [f[0] for f in front]
    accuracy = [f[1] for f in front]
    ax.plot(costs, accuracy, marker="o", label="Pareto front (predicted)")
    for cost, acc, members, k, rule in front:
        ax.annotate(f"{_label(members, names)}\n{rule}, k={k}", (cost, acc), fontsize=6,
                    textcoords="offset points", xytext=(4, -10))
    span = max(max(accuracy) - min(accuracy), 0.02)
    ax.set_ylim(min(accuracy) - 0.3 * span, max(accuracy) + 0.3 * span)
    ax.set_xlabel("cost per question")
    ax.set_ylabel("predicted accuracy")
    ax.set_title(f"Pareto front: {len(front)} (subset, k) choices")
    place_legend(ax)


def pareto_figure(front, path, candidates=None, names=None):
    """Accuracy vs cost per question: the Pareto front, each point labelled, written to ``path``.

    Args:
      front: (cost, accuracy, models, k, rule) tuples, e.g. ``Plan.front``.
      path: output file (.png/.svg).
      candidates: ranked plan candidates; with them the figure is :func:`plan_figure` (each
        candidate's interval beside the front).
      names: model names by index (None: indices).

    Returns:
      the written path.
    """
    if candidates:
        return figures.save(plan_figure(candidates, names, front=front), path)
    fig, ax = figures.figure(layout="constrained")
    _front_panel(ax, front, names)
    return figures.save(fig, path)


def replay_figure(ks, real, theory, paper, *, models: int, questions: int, pairs: int):
    """Rule accuracy vs k on real samples (exact replay) beside the papers' curves.

    Args:
      ks: samples per model, shape [K].
      real: {rule label: accuracy (%) per k} of the exact replay.
      theory: {rule label: accuracy (%) per k} under the plug-in law (drawn dotted grey).
      paper: {series label: [(k, accuracy %)]} of the papers' table.
      models, questions, pairs: what was scored (for the title).
    """
    fig, (left, right) = figures.figure(1, 2, layout="constrained", figsize=(12.5, 4.2))
    for index, (rule, values) in enumerate(real.items()):
        left.plot(ks, values, marker="o", label=f"{rule} (real replay)")
        left.plot(ks, theory[rule], linestyle=":", color="grey",
                  label="plug-in law (theory)" if index == 0 else None)
    left.set_xlabel("samples per model k")
    left.set_ylabel(f"accuracy (%), mean over the {pairs} pairs")
    left.set_title(f"{models} real models, GSM8K train: {questions} questions scored")
    for series, marker in zip(paper, ("*", "P", "X", "D")):
        xs, ys = zip(*sorted(paper[series]))
        right.plot(xs, ys, marker=marker, linestyle="-", color="black", alpha=0.7, label=series)
    right.set_xlabel("samples per model k")
    right.set_ylabel("accuracy (%)")
    right.set_title("the paper's curves (other models, GSM8K test)")
    for ax in (left, right):
        integer_ticks(ax.xaxis)
        place_legend(ax)
    return fig


def model_switch_figure(rows, budget: int, *, questions: int):
    """ModelSwitch's accuracy vs expected samples on pairs, beside SLM-MUX at 2 x budget.

    Args:
      rows: one dict per pair with ``real.expected_samples``, ``real.switch_accuracy`` and
        ``real.slm_mux_accuracy`` (fractions).
      budget: samples per model.
      questions: questions scored per pair (for the title).
    """
    fig, ax = figures.figure(layout="constrained", figsize=(8.0, 4.0))
    ax.scatter([r["real"]["expected_samples"] for r in rows],
               [100 * r["real"]["switch_accuracy"] for r in rows], label="ModelSwitch (real replay)")
    ax.scatter([2 * budget] * len(rows), [100 * r["real"]["slm_mux_accuracy"] for r in rows],
               marker="s", label=f"SLM-MUX, 2 x {budget} samples (real replay)")
    ax.set_xlabel("expected samples per question")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"ModelSwitch early stopping: {len(rows)} pairs of weak models, "
                 f"{questions} questions scored")
    place_legend(ax)
    return fig


def search_figure(table, paper, *, models: int, questions: int):
    """The paper's search objective per subset size K: union and score, ours beside the paper's.

    Args:
      table: one dict per K with ``K``, ``union`` and ``score`` (fractions).
      paper: {quantity: [(K, value)]} of the paper's table (may be empty).
      models, questions: what was searched and scored (for the labels and title).
    """
    fig, ax = figures.figure(layout="constrained", figsize=(8.0, 4.0))
    ks = [row["K"] for row in table]
    ax.plot(ks, [row["union"] for row in table], marker="o", label=f"union ({models} real models)")
    ax.plot(ks, [row["score"] for row in table], marker="o", label="score (real)")
    for (quantity, points), marker in zip(paper.items(), ("*", "P")):
        xs, ys = zip(*sorted(points))
        ax.plot(xs, ys, marker=marker, color="black", linestyle="--", alpha=0.7,
                label=f"paper {quantity} (GSM8K, 5 other SLMs)")
    ax.set_xlabel("subset size K")
    ax.set_ylabel("fraction of questions")
    ax.set_title(f"Search objective (λ = 1, penalty per union-correct): {questions} questions scored")
    integer_ticks(ax.xaxis)
    place_legend(ax)
    return fig


def local_run_figure(rows, title: str, questions: int | None = None):
    """Exact-replay accuracy ± SE vs k of each rule on a local run.

    Args:
      rows: replay rows (rule, models, k, exact, exact_se, questions scored).
      title: what ran; the number of questions scored is appended.
      questions: questions in the run (the ones not scored set the tie ranks), or None.
    """
    fig, ax = figures.figure(layout="constrained", figsize=(8.0, 4.0))
    by_rule: dict = {}
    for row in rows:
        label = row.rule if row.rule != "self-consistency" else f"SC {row.models[0]}"
        by_rule.setdefault(label, []).append((row.k, 100 * row.exact, 100 * row.exact_se))
    for label, points in by_rule.items():
        ks, values, errors = zip(*sorted(points))
        ax.errorbar(ks, values, yerr=errors, marker="o", capsize=3, label=label)
    scored = "/".join(str(n) for n in sorted({row.questions for row in rows}))
    ax.set_xlabel("samples per model k")
    ax.set_ylabel("accuracy (%), exact replay ± SE")
    ax.set_title(f"{title}\n{scored} questions scored" if questions is None else
                 f"{title}\n{scored} of {questions} questions scored (the rest set the tie ranks)")
    integer_ticks(ax.xaxis)
    place_legend(ax)
    return fig
