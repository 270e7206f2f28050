"""Tests for slmmux_theory.discussion.variants: the catalogue and the fit-half choices."""

import numpy as np
import pytest

from slmmux_theory.discussion.variants import (
    SELECTION_MEASURES,
    VARIANTS,
    agent_groups_of,
    choose_smoothing,
    main_fit_options,
    select_variant,
    variant_options,
)


def test_select_variant_minimises_the_largest_miss_not_the_mean():
    measured = dict.fromkeys(SELECTION_MEASURES, 0.5)
    steady = {m: 0.55 for m in SELECTION_MEASURES}  # every miss 0.05
    spiky = {m: 0.5 for m in SELECTION_MEASURES} | {"lost_correct": 0.6}  # one miss 0.10
    chosen = select_variant({"spiky": {"fit_half": spiky}, "steady": {"fit_half": steady}},
                            measured)
    assert chosen["name"] == "steady"
    assert chosen["largest_fit_half_miss"]["spiky"] == pytest.approx(0.1)


def test_per_group_options_get_the_agent_groups():
    groups = agent_groups_of(["a", "b", "a"])
    assert groups == (0, 1, 0)
    assert variant_options(VARIANTS["revision"], groups)["agent_groups"] == groups
    assert "agent_groups" not in variant_options(VARIANTS["state_law"], groups)
    options = main_fit_options({"recognition": True, "revision": True}, groups)
    assert options["agent_groups"] == groups and options["private_law"] is False


def test_choose_smoothing_picks_the_closest_round_one_plurality():
    # Measured round-1 plurality 1.0. Two agents with p(correct) p: p**2 + (a 1-1 tie, half)
    # p (1 - p) = p, so 0.6 predicts 0.6 and 0.9 predicts 0.9; the closer one wins.
    answers = np.array([[[0, 0]]])
    probs = lambda p: np.array([[[p, 1 - p, 0.0]] * 2])
    choice = choose_smoothing([(1.0, probs(0.6), answers), (0.0, probs(0.9), answers)], 3)
    assert choice["chosen"] == 0.0
    assert [row["predicted"] for row in choice["rows"]] == pytest.approx([0.6, 0.9])
