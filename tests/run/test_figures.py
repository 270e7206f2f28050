"""Every runner figure rendered (Agg) on small inputs: title, axis labels and legend set, the
legend off the plotted points (its box compared with every point's display position), whole-number
ticks on axes of counts, titles that say how many questions were scored."""

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from slmmux_run import plots
from slmmux_run.figures import figure, legend_overlaps, place_legend

ROOT = Path(__file__).resolve().parents[2]


def _candidate(models, accuracy, half_width, p_best, k=3):
    return SimpleNamespace(models=models, k=k, rule="slm-mux", cost=2.0 * k,
                           predicted_accuracy=accuracy,
                           interval=(accuracy - half_width, accuracy + half_width), p_best=p_best)


def _replay_row(rule, models, k, exact, questions=17):
    return SimpleNamespace(rule=rule, models=models, k=k, exact=exact, exact_se=0.03,
                           questions=questions)


def _plan():
    candidates = [_candidate((0, 1), 0.80, 0.25, 0.5), _candidate((0, 2), 0.78, 0.24, 0.3),
                  _candidate((1, 2), 0.60, 0.20, 0.2)]
    front = ((2.0, 0.7, (0,), 1, "slm-mux"), (6.0, 0.8, (0, 1), 3, "slm-mux"))
    return plots.plan_figure(candidates, ["a|b", "b", "c"], truth=[0.79, 0.74, 0.66], front=front)


FIGURES = {
    "plan": _plan,
    "plan without front": lambda: plots.plan_figure([_candidate((0, 1), 0.5, 0.2, 1.0)], None),
    "replay": lambda: plots.replay_figure(
        [1, 2, 3], {"slm-mux": [70, 75, 78], "agent-forest": [68, 74, 77]},
        {"slm-mux": [71, 76, 79], "agent-forest": [69, 73, 76]},
        {"paper: SLM-MUX": [(1, 80), (2, 84), (3, 85)]}, models=3, questions=20, pairs=3),
    "model switch": lambda: plots.model_switch_figure(
        [{"real": {"expected_samples": 5.0 + i, "switch_accuracy": 0.6 + 0.02 * i,
                   "slm_mux_accuracy": 0.65}} for i in range(4)], 4, questions=20),
    "search": lambda: plots.search_figure(
        [{"K": 1, "union": 0.7, "score": 0.6}, {"K": 2, "union": 0.8, "score": 0.65},
         {"K": 3, "union": 0.85, "score": 0.62}],
        {"union": [(1, 0.72), (2, 0.81)], "score": [(1, 0.6), (2, 0.66)]}, models=5, questions=30),
    "local run": lambda: plots.local_run_figure(
        [_replay_row(rule, ("smollm2", "gemma3"), k, 0.3 + 0.05 * k + 0.01 * i)
         for i, rule in enumerate(("slm-mux", "agent-forest")) for k in (1, 2, 3)],
        "live run now", questions=24),
}


def _theory_figure():
    from slmmux_run.theory_claims import voting_figure

    grid = np.linspace(0.05, 0.95, 10)
    rows = [SimpleNamespace(paper=p, exact=p + 0.01) for p in (0.5, 0.6, 0.7)]
    return voting_figure(grid, {"paper: binary majority A(5, p)": grid ** 2,
                                "exact plurality": grid ** 1.5}, rows)


def _debate_figure():
    from slmmux_run.debate_report import debate_figure

    result = json.loads((ROOT / "experiments/groupthink_real/report/result.json").read_text())
    return debate_figure(result)


FIGURES["theory claims"] = _theory_figure
FIGURES["debate report"] = _debate_figure


@pytest.mark.parametrize("name", list(FIGURES))
def test_each_figure_is_labelled_and_its_legend_hides_no_point(name):
    fig = FIGURES[name]()
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert legends, f"{name}: no legend"
    for ax in fig.axes:
        assert ax.get_title(), f"{name}: an axes without a title"
        assert ax.get_xlabel() or ax.get_xticklabels(), f"{name}: no x label"
        assert ax.get_ylabel() or any(t.get_text() for t in ax.get_yticklabels()), \
            f"{name}: no y label"
    assert legend_overlaps(fig) == []


def test_the_overlap_check_finds_a_legend_on_the_data():
    # The check must be able to fail: a legend drawn in the middle of a dense cloud of points.
    fig, ax = figure()
    grid = np.linspace(0, 1, 30)
    ax.scatter(*np.meshgrid(grid, grid), label="cloud")
    ax.set_title("cloud")
    ax.legend(loc="center")
    assert legend_overlaps(fig) and "covers" in legend_overlaps(fig)[0]
    fig, ax = figure(layout="constrained")
    ax.scatter(*np.meshgrid(grid, grid), label="cloud")
    place_legend(ax)
    assert legend_overlaps(fig) == []


def test_axes_of_counts_have_whole_number_ticks():
    fig = FIGURES["local run"]()
    fig.draw_without_rendering()
    ticks = [t for t in fig.axes[0].get_xticks() if 1 <= t <= 3]
    assert ticks and all(float(t).is_integer() for t in ticks)
    fig = FIGURES["replay"]()
    fig.draw_without_rendering()
    assert all(float(t).is_integer() for ax in fig.axes for t in ax.get_xticks())


def test_titles_say_what_was_scored():
    assert FIGURES["local run"]().axes[0].get_title().endswith(
        "17 of 24 questions scored (the rest set the tie ranks)")
    assert "20 questions scored" in FIGURES["replay"]().axes[0].get_title()


def test_the_plan_figure_labels_every_candidate_with_its_interval_in_view():
    fig = _plan()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    # ranked best first, drawn at the top
    assert labels == ["a|b + b (slm-mux, k=3, p_best 0.50)", "a|b + c (slm-mux, k=3, p_best 0.30)",
                      "b + c (slm-mux, k=3, p_best 0.20)"]
    assert [t.get_position()[1] for t in ax.get_yticklabels()] == [2, 1, 0]
    low, high = ax.get_xlim()
    # every interval is inside the view and fills most of it (no 0.226-0.233 axis for a 0.5 wide
    # interval)
    assert low <= 0.60 - 0.20 and high >= 0.80 + 0.25
    assert (0.80 + 0.25 - (0.60 - 0.20)) / (high - low) > 0.8
    front_labels = [t.get_text() for t in fig.axes[1].texts]
    assert front_labels == ["a|b\nslm-mux, k=1", "a|b + b\nslm-mux, k=3"]


def test_long_model_names_leave_the_plan_readable():
    names = [f"DeepSeek-R1-Distill-Llama-70B-Instruct-2507-{i}" for i in range(4)]
    candidates = [_candidate((0, i), 0.97 - 0.001 * i, 0.004, 0.25) for i in range(1, 4)]
    fig = plots.plan_figure(candidates, names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "constrained_layout not applied": labels cut off
        fig.draw_without_rendering()
    renderer = fig._get_renderer()
    ax = fig.axes[0]
    assert all(t.get_window_extent(renderer).x0 >= 0 for t in ax.get_yticklabels())
    ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    assert len(ticks) >= 2
    assert all(a.x1 < b.x0 for a, b in zip(ticks, ticks[1:]))  # x tick labels do not collide
    assert ax.get_window_extent(renderer).width > 250  # the plot area is not squeezed by labels
