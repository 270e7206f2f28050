"""Tests of ``slmmux plan`` (slmmux_run.commands.plan; the library is tested in
tests/theory/planning/test_plan.py on the same generator).

Fixture: 4 synthetic models on 30 questions × 6 samples, written in the samples schema. Models
"strong-a" and "strong-b" are right 95 % of the time and wrong on DIFFERENT questions; "weak-c"
and "weak-d" are right 40 % of the time and otherwise give the same wrong answer. So the best
pair is (strong-a, strong-b) by construction, far ahead of every pair with a weak model.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from slmmux_run.cli import main
from slmmux_run.data.datasets import load_samples
from slmmux_theory.planning.predictors import UNSEEN_LAWS

MODELS = ("strong-a", "strong-b", "weak-c", "weak-d")
QUESTIONS, SAMPLES = 30, 6


def _write_fixture(path):
    rng = np.random.default_rng(1234)
    rows = []
    # Each strong model is unreliable on its own disjoint third of the questions.
    shaky = {"strong-a": set(range(0, 10)), "strong-b": set(range(10, 20))}
    for model in MODELS:
        for q in range(QUESTIONS):
            gold = str(100 + q)
            if model in shaky:
                p_right = 0.6 if q in shaky[model] else 1.0
            else:
                p_right = 0.4
            answers = [gold if rng.random() < p_right else str(q) for _ in range(SAMPLES)]
            rows.append({"task": "toy", "question_id": str(q), "model": model, "gold": gold,
                         "answers": answers, "is_correct": [a == gold for a in answers]})
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def fixture_file(tmp_path_factory):
    return _write_fixture(tmp_path_factory.mktemp("plan") / "toy.jsonl")


def _run_plan(fixture_file, tmp_path, *extra):
    out = tmp_path / "plan.json"
    code = main(["plan", "--samples", str(fixture_file), "--pilot-questions", "20",
                 "--pilot-samples", "3", "--seed", "0", "--k", "3", "--subset-sizes", "2,3",
                 "--json", str(out), *extra])
    assert code == 0
    return json.loads(out.read_text())


def _check_contract(result):
    candidates = result["candidates"]
    # Every subset of the requested sizes, once.
    expected = {tuple(s) for size in (2, 3) for s in itertools.combinations(MODELS, size)}
    assert {tuple(c["models"]) for c in candidates} == expected
    assert len(candidates) == len(expected)
    pairs = [c for c in candidates if len(c["models"]) == 2]
    best = max(pairs, key=lambda c: c["predicted_accuracy"])
    assert tuple(best["models"]) == ("strong-a", "strong-b")
    for c in candidates:
        assert c["k"] == 3 and c["rule"] == "slm-mux"
        assert 0.0 <= c["interval"][0] <= c["predicted_accuracy"] <= c["interval"][1] <= 1.0
    # p_best is a distribution over the candidates of one size.
    for size in (2, 3):
        total = sum(c["p_best"] for c in candidates if len(c["models"]) == size)
        assert total == pytest.approx(1.0)
    assert isinstance(result["too_small_to_tell"], bool)


def test_end_to_end_plan_plug_in_contract_budget_and_front(fixture_file, tmp_path):
    result = _run_plan(fixture_file, tmp_path, "--predictor", "plug-in", "--budget", "6",
                       "--figure", str(tmp_path / "front.png"))
    _check_contract(result)
    choice = result["budget"][0]
    assert choice["K"] * choice["k"] <= 6
    assert "one more model" in choice["reason"] and "one more sample" in choice["reason"]
    costs = [point["cost"] for point in result["pareto_front"]]
    assert costs == sorted(costs) and max(costs) <= 6 * 4
    assert (tmp_path / "front.png").stat().st_size > 0


@pytest.mark.slow
def test_end_to_end_plan_hierarchical_finds_the_best_pair(fixture_file, tmp_path):
    result = _run_plan(fixture_file, tmp_path, "--draws", "20", "--svi-steps", "100")
    _check_contract(result)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--pilot-questions", "31"], "--pilot-questions must lie in 1..30"),
        (["--pilot-samples", "7"], "--pilot-samples must lie in 1..6"),
        (["--k", "9"], "--k must lie in 1..6"),
        (["--subset-sizes", "2,5"], "--subset-sizes: 5 is outside 1..4"),
        (["--subset-sizes", "two"], "--subset-sizes: expected comma-separated integers"),
        (["--budget", "0"], "--budget must be positive"),
        (["--cost-per-sample", "nobody=2"], "--cost-per-sample: unknown model 'nobody'"),
        (["--price-per-1k", "strong-a=1"],
         "--price-per-1k and --mean-tokens must be given together"),
    ],
)
def test_invalid_flags_give_one_line_errors(fixture_file, capsys, flags, message):
    code = main(["plan", "--samples", str(fixture_file), "--predictor", "plug-in", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err
    assert "\n" not in err


def test_plan_command_offers_every_unseen_law():
    from slmmux_run.cli import build_parser

    parser = build_parser()
    plan_parser = parser._subparsers._group_actions[0].choices["plan"]
    (unseen,) = [a for a in plan_parser._actions if a.dest == "unseen"]
    assert set(unseen.choices) == {*UNSEEN_LAWS, "population"}


def test_fixture_file_holds_the_library_tests_counts(fixture_file):
    from tests.theory.planning.test_plan import toy_counts

    np.testing.assert_array_equal(load_samples(fixture_file).counts, toy_counts())


# --- planning from a pilot file (--population) -------------------------------------------------

PILOT_QUESTIONS, PILOT_SAMPLES = 20, 3


def _write_pilot(source, path, *, tokens=None, copies_of=None):
    """The first 20 questions x 3 samples of ``source`` as a pilot file of its own.

    ``tokens``: {model: tokens of every sample} adds a ``tokens`` list to those models' rows.
    ``copies_of``: write this model's rows under every model name (a pilot of tied models).
    """
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    out = []
    for row in rows:
        if int(row["question_id"]) >= PILOT_QUESTIONS:
            continue
        if copies_of is not None and row["model"] != copies_of:
            continue
        row = dict(row, answers=row["answers"][:PILOT_SAMPLES],
                   is_correct=row["is_correct"][:PILOT_SAMPLES])
        if tokens and row["model"] in tokens:
            row["tokens"] = [tokens[row["model"]]] * PILOT_SAMPLES
        for name in (MODELS if copies_of is not None else (row["model"],)):
            out.append(dict(row, model=name))
    path.write_text("".join(json.dumps(row) + "\n" for row in out))
    return path


def _strict_json(path):
    """The JSON of ``path``; a NaN or Infinity literal fails (they are not JSON)."""
    def refuse(name):
        raise AssertionError(f"{path} holds the non-JSON literal {name}")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_pilot_only_plan_meets_the_output_contract(fixture_file, tmp_path, capsys):
    tokens = {model: 100.0 * (i + 1) for i, model in enumerate(MODELS)}
    pilot = _write_pilot(fixture_file, tmp_path / "pilot.jsonl", tokens=tokens)
    out = tmp_path / "plan.json"
    # k = 5 exceeds the pilot's 3 samples per question: the answer law extrapolates.
    code = main(["plan", "--samples", str(pilot), "--population", "30", "--k", "5",
                 "--subset-sizes", "2,3", "--predictor", "plug-in", "--json", str(out)])
    assert code == 0
    result = _strict_json(out)
    candidates = result["candidates"]
    expected = {tuple(s) for size in (2, 3) for s in itertools.combinations(MODELS, size)}
    assert {tuple(c["models"]) for c in candidates} == expected
    assert len(candidates) == len(expected)
    for c in candidates:
        assert set(c) >= {"models", "k", "rule", "predicted_accuracy", "interval", "p_best",
                          "expected_tokens"}
        assert c["k"] == 5 and c["rule"] == "slm-mux"
        assert 0.0 <= c["interval"][0] <= c["predicted_accuracy"] <= c["interval"][1] <= 1.0
        # k samples of every member at its measured tokens per sample.
        assert c["expected_tokens"] == pytest.approx(5 * sum(tokens[m] for m in c["models"]))
    best_pair = max((c for c in candidates if len(c["models"]) == 2),
                    key=lambda c: c["predicted_accuracy"])
    assert tuple(best_pair["models"]) == ("strong-a", "strong-b")
    for size in (2, 3):
        assert sum(c["p_best"] for c in candidates if len(c["models"]) == size) == \
            pytest.approx(1.0)
    assert result["pilot"]["unseen_questions"] == 10
    assert result["pilot"]["samples_per_model"] == [3, 3]
    assert result["chosen"] == candidates[0]
    assert len(result["pilot"]["sha256"]) == 64
    assert "p_best: the share of posterior draws" in capsys.readouterr().out


def test_pilot_without_tokens_writes_null_expected_tokens(fixture_file, tmp_path):
    pilot = _write_pilot(fixture_file, tmp_path / "pilot.jsonl")
    out = tmp_path / "plan.json"
    assert main(["plan", "--samples", str(pilot), "--questions", "30", "--k", "3",
                 "--subset-sizes", "2", "--predictor", "plug-in", "--json", str(out)]) == 0
    result = _strict_json(out)
    assert all(c["expected_tokens"] is None for c in result["candidates"])
    assert result["population"]["questions"] == 30


def test_tied_pilot_models_share_p_best_and_the_plan_says_it_cannot_tell(fixture_file, tmp_path,
                                                                         capsys):
    pilot = _write_pilot(fixture_file, tmp_path / "pilot.jsonl", copies_of="weak-c")
    out = tmp_path / "plan.json"
    assert main(["plan", "--samples", str(pilot), "--population", "30", "--k", "3",
                 "--subset-sizes", "2", "--predictor", "plug-in", "--json", str(out)]) == 0
    result = _strict_json(out)
    # Six pairs of one model's copies: each is the best in a sixth of the credit.
    assert [c["p_best"] for c in result["candidates"]] == pytest.approx([1 / 6] * 6)
    assert result["too_small_to_tell"]
    assert "pilot too small to tell" in capsys.readouterr().out


def test_question_file_sets_the_population_and_holds_the_pilot(fixture_file, tmp_path, capsys):
    pilot = _write_pilot(fixture_file, tmp_path / "pilot.jsonl")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question_id": str(q)}) + "\n" for q in range(40)))
    out = tmp_path / "plan.json"
    assert main(["plan", "--samples", str(pilot), "--questions", str(questions), "--k", "3",
                 "--subset-sizes", "2", "--predictor", "plug-in", "--json", str(out)]) == 0
    result = _strict_json(out)
    assert result["population"]["question_ids"] == [str(q) for q in range(40)]
    assert result["pilot"]["unseen_questions"] == 20
    # A population that lacks a pilot question is refused, naming it.
    questions.write_text("".join(f"{q}\n" for q in range(5, 40)))
    code = main(["plan", "--samples", str(pilot), "--questions", str(questions),
                 "--predictor", "plug-in"])
    err = capsys.readouterr().err
    assert code == 2 and "pilot question '0' is not in the population's 35 questions" in err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--population", "10"], "--population 10 is smaller than the pilot's 20 questions"),
        (["--population", "30", "--pilot-questions", "5"], "drop them"),
        (["--population", "30", "--cost-per-sample", "2"], "a pilot is priced by --config"),
        (["--config", "models.toml"], "give --population N as well"),
        (["--population", "30", "--task", "arithmetic"], "--task needs --config"),
    ],
)
def test_pilot_plan_errors_are_one_line(fixture_file, tmp_path, capsys, flags, message):
    pilot = _write_pilot(fixture_file, tmp_path / "pilot.jsonl")
    code = main(["plan", "--samples", str(pilot), "--predictor", "plug-in", *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err
    assert "\n" not in err


def test_an_exact_law_out_of_reach_is_one_user_error():
    from slmmux_run.errors import UserError
    from slmmux_run.plan_study import _planned
    from slmmux_theory.engines.replay import ExactOutOfReach

    def plan(*args, **kwargs):
        raise ExactOutOfReach("model-switch at k = 9 needs 10 tuples")

    with pytest.raises(UserError, match="^--rules: model-switch at k = 9 .*; use --population"):
        _planned(plan, 1, k=9, note="use --population")
