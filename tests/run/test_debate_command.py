"""Tests of slmmux_run.commands.debate and slmmux_run.debate_study: halves, the pseudo-count choice, cross-fit pooling.

Expected values are worked by hand (plurality of three agents, debate-weighted means), never
computed by the functions under test.
"""

from __future__ import annotations

import argparse
import json
import math

import pytest

from slmmux_run.commands.debate import register, run
from slmmux_run.debate_study import choose_smoothing, halves, pool_folds, split_questions
from slmmux_theory.discussion.checks import CHECKED_MEASURES as POOLED_MEASURES
from slmmux_run.sampling.discussion import Turn
from slmmux_run.errors import UserError

SETTINGS = {"fit_fraction": 0.5, "split_seed": 0, "max_answers": 4, "smoothing": 0.5}


def test_swap_halves_gives_the_complementary_split():
    ids = [f"q{i:02d}" for i in range(81)] * 4  # a question appears once per debate
    fit, held = halves(ids, SETTINGS)
    swapped_fit, swapped_held = halves(ids, SETTINGS | {"swap_halves": True})
    assert (fit, held) == split_questions(ids, 0.5, 0)
    assert swapped_fit == held and swapped_held == fit
    assert not set(fit) & set(held) and set(fit) | set(held) == set(ids)
    assert len(fit) == 40 and len(swapped_fit) == 41  # every question held out exactly once


def _turn(question, debate, round_, agent, answer):
    return Turn("debate", f"{question}-{debate}", question, round_, agent, f"a{agent}", "m", "",
                (), answer, answer, answer == "2", "2", 0, 0, 1, 0)


def test_smoothing_is_chosen_on_the_fit_half_by_round_one_plurality():
    # One question, all three agents correct in round 1 (measured plurality 1.0); the model's
    # samples are 3 x "2" (correct) and 1 x "5". Pseudo-count s on both seen slots gives
    # p(correct) = (3 + s) / (4 + 2 s); three agents' plurality is correct with
    # q**3 + 3 q**2 (1 - q): 27/64 + 27/64 at s = 0 (q = 3/4), 8/27 + 12/27 at s = 1 (q = 2/3).
    turns = [_turn("q", 0, 1, a, "2") for a in range(3)]
    turns += [_turn("q", 0, 2, a, "5" if a == 0 else "2") for a in range(3)]
    samples = {("q", "m"): ["2", "2", "2", "5"]}
    settings = SETTINGS | {"fit_fraction": 1.0, "smoothing_grid": [1.0, 0.0]}
    slots, choice = choose_smoothing(turns, samples, settings)
    rows = {row["smoothing"]: row for row in choice["rows"]}
    assert choice["chosen"] == 0.0
    assert rows[0.0]["predicted"] == pytest.approx(0.84375)
    assert rows[1.0]["predicted"] == pytest.approx(20 / 27)
    assert rows[0.0]["measured"] == rows[1.0]["measured"] == pytest.approx(1.0)
    assert float(slots.probs[0, 0, 0]) == pytest.approx(0.75)


def test_smoothing_ignores_the_held_out_half():
    # Question "b" (held out with swap_halves False or True, whichever holds it) must not move
    # the choice: changing only its samples leaves the chosen value and the fit-half rows.
    turns = []
    for question in ("a", "b"):
        turns += [_turn(question, 0, 1, a, "2") for a in range(3)]
        turns += [_turn(question, 0, 2, a, "2") for a in range(3)]
    settings = SETTINGS | {"smoothing_grid": [1.0, 0.0, 0.5]}
    fit, _ = halves([t.question_id for t in turns], settings)
    held = ({"a", "b"} - set(fit)).pop()
    base = {(fit[0], "m"): ["2", "2", "7", "5"], (held, "m"): ["2", "2", "2", "2"]}
    other = base | {(held, "m"): ["7", "7", "7", "2"]}
    first = choose_smoothing(turns, base, settings)[1]
    second = choose_smoothing(turns, other, settings)[1]
    assert first == second


def _fold(ids, debates, measured, se, predicted, swap=False):
    return {"held_out_question_ids": ids, "held_out_debates": debates, "fit_questions": 1,
            "held_out_questions": len(ids), "settings": {"swap_halves": swap, "smoothing": 0.1},
            "measured_held_out": dict.fromkeys(POOLED_MEASURES, measured),
            "measured_held_out_se": dict.fromkeys(POOLED_MEASURES, se),
            "model": {"predicted": {m: {"mean": predicted} for m in POOLED_MEASURES},
                      "selection": {"name": "state_law"}}}


def test_pool_folds_weights_by_debates():
    # Weights 3/4 and 1/4: measured 0.75*0.40 + 0.25*0.20 = 0.35; predicted 0.75*0.30 +
    # 0.25*0.30 = 0.30; se sqrt((0.75*0.04)**2 + (0.25*0.08)**2) = sqrt(0.0009 + 0.0004).
    pooled = pool_folds([_fold(["a", "b", "c"], 12, 0.40, 0.04, 0.30),
                         _fold(["d"], 4, 0.20, 0.08, 0.30, swap=True)])
    row = pooled["pooled"]["debate_accuracy"]
    assert row["measured"] == pytest.approx(0.35)
    assert row["predicted"] == pytest.approx(0.30)
    assert row["difference"] == pytest.approx(0.05)
    assert row["mean_abs_fold_difference"] == pytest.approx(0.75 * 0.10 + 0.25 * 0.10)
    assert row["se"] == pytest.approx(math.sqrt(0.0013))
    assert pooled["questions"] == 4 and pooled["debates"] == 16


def test_pool_folds_refuses_overlapping_folds():
    with pytest.raises(UserError, match="twice"):
        pool_folds([_fold(["a", "b"], 8, 0.4, 0.1, 0.3), _fold(["b"], 4, 0.4, 0.1, 0.3)])


def _parse(argv):
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_parses_swap_halves_and_writes_the_crossfit_table(tmp_path, capsys):
    args = _parse(["debate", "report", "--transcripts", "t.jsonl", "--out", "o",
                   "--swap-halves"])
    assert args.swap_halves is True
    assert _parse(["debate", "report", "--transcripts", "t", "--out", "o"]).swap_halves is False
    paths = []
    for name, fold in (("a", _fold(["a", "b", "c"], 12, 0.40, 0.04, 0.30)),
                       ("b", _fold(["d"], 4, 0.20, 0.08, 0.30, swap=True))):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(fold))
    args = _parse(["debate", "crossfit", "--folds", *map(str, paths), "--out",
                   str(tmp_path / "out")])
    assert run(args) == 0
    table = (tmp_path / "out" / "crossfit.md").read_text()
    row = ("| debate_accuracy | 40.0 ± 4.0 / 30.0 / 10.0 | 20.0 ± 8.0 / 30.0 / 10.0 "
           "| 35.0 ± 3.6 | 30.0 | 5.0 | **no** | 10.0 |")
    assert row in table
    stored = json.loads((tmp_path / "out" / "crossfit.json").read_text())
    assert stored["pooled"]["debate_accuracy"]["measured"] == pytest.approx(0.35)
