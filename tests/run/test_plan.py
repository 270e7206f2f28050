"""Tests of ``slmmux plan`` (slmmux_run.plan and slmmux_run.commands.plan).

Fixture: 4 synthetic models on 30 questions × 6 samples, written in the samples schema. Models
"strong-a" and "strong-b" are right 95 % of the time and wrong on DIFFERENT questions; "weak-c"
and "weak-d" are right 40 % of the time and otherwise give the same wrong answer. So the best
pair is (strong-a, strong-b) by construction, far ahead of every pair with a weak model.
"""

from __future__ import annotations

import itertools
import json

import jax
import numpy as np
import pytest

from slmmux_run import plan as planning
from slmmux_run.cli import main
from slmmux_run.data.datasets import load_samples

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


def test_replay_levels_match_hand_counts():
    # Pool (2 correct, 1 wrong), k = 2: draws {c,c} 1/3 (level 2, correct), {c,w} 2/3 (level 1,
    # tie between c and w: correct with probability 1/2).
    levels = planning.replay_levels(np.array([[[2, 1, 0]]]), 2)
    np.testing.assert_allclose(levels.level[0, 0], [0.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(levels.level_correct[0, 0], [0.0, 1 / 3, 1 / 3])


def test_replay_levels_all_samples_in_distinct_slots():
    # Every slot below total - k - 1 used to break the log-factorial table; 5 distinct answers.
    levels = planning.replay_levels(np.array([[[1, 1, 1, 1, 1, 0]]]), 1)
    np.testing.assert_allclose(levels.level_correct[0, 0], [0.0, 0.2])


def test_draw_pilot_is_seeded_and_without_replacement():
    first, again = planning.draw_pilot(50, 20, 3), planning.draw_pilot(50, 20, 3)
    np.testing.assert_array_equal(first, again)
    assert len(set(first.tolist())) == 20
    assert not np.array_equal(first, planning.draw_pilot(50, 20, 4))


def test_plug_in_interval_shrinks_to_a_point_when_the_pilot_is_the_population(fixture_file):
    counts = np.asarray(load_samples(fixture_file).counts)
    result = planning.plan(jax.random.PRNGKey(0), counts, QUESTIONS, replay_samples=SAMPLES,
                           k=3, subset_sizes=(2,), predictor="plug-in")
    for candidate in result.candidates:
        assert candidate.interval[0] == pytest.approx(candidate.interval[1], abs=1e-12)
    assert result.candidates[0].models == (0, 1)


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
        (["--pilot-questions", "0"], "--pilot-questions must lie in 1..30"),
        (["--pilot-samples", "7"], "--pilot-samples must lie in 1..6"),
        (["--k", "9"], "--k must lie in 1..6"),
        (["--subset-sizes", "2,5"], "--subset-sizes: 5 is outside 1..4"),
        (["--subset-sizes", "two"], "--subset-sizes: expected comma-separated integers"),
        (["--rules", "debate"], "--rules: unknown rule(s)"),
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


# ----------------------------------------------------------------------------- pair rules


def test_agent_forest_pair_replay_by_hand():
    # Model a's pool (c, w1), model b's pool (w2, w2), k = 1: a draws c or w1 (1/2 each), b
    # draws w2. {c, w2} is a two-way tie won by c with probability 1/2; {w1, w2} never wins.
    pools = np.array([[[1, 1, 0, 0]], [[0, 0, 2, 0]]])
    accuracy, cost = planning.pair_rule_values("agent-forest", pools, [[0, 1]], 1)
    np.testing.assert_allclose(accuracy, [[0.25]])
    np.testing.assert_allclose(cost, [[2.0]])


def test_model_switch_pair_replay_by_hand():
    # a's two samples are (c, w1): not unanimous, so b is called; b's (c, c) carries entropy
    # weight 1 against a's 0, so c wins. Cost: both models, 2 samples each, b costs 5.
    pools = np.array([[[1, 1, 0, 0]], [[2, 0, 0, 0]]])
    accuracy, cost = planning.pair_rule_values("model-switch", pools, [[0, 1]], 2,
                                               cost_per_sample=[1.0, 5.0])
    np.testing.assert_allclose(accuracy, [[1.0]])
    np.testing.assert_allclose(cost, [[12.0]])
    # a unanimous on a wrong answer: ModelSwitch stops there, wrong, having paid for a only.
    pools = np.array([[[0, 2, 0, 0]], [[2, 0, 0, 0]]])
    accuracy, cost = planning.pair_rule_values("model-switch", pools, [[0, 1]], 2,
                                               cost_per_sample=[1.0, 5.0])
    np.testing.assert_allclose(accuracy, [[0.0]])
    np.testing.assert_allclose(cost, [[2.0]])


def test_model_switch_expected_cost_counts_the_second_model_only_when_needed():
    # a's pool (c, c, w1), k = 2 without replacement: unanimous (c, c) with probability 1/3.
    pools = np.array([[[2, 1, 0]], [[0, 3, 0]]])
    _, cost = planning.pair_rule_values("model-switch", pools, [[0, 1]], 2)
    np.testing.assert_allclose(cost, [[2.0 + 2.0 * (2 / 3)]])


def test_pair_rule_values_rejects_unknown_rules():
    with pytest.raises(ValueError, match="rule must be one of"):
        planning.pair_rule_values("debate", np.ones((2, 1, 3)), [[0, 1]], 1)


def test_plan_ranks_pair_rules_and_prices_model_switch_early_stopping(fixture_file):
    sample_set = load_samples(fixture_file)
    counts = np.asarray(sample_set.counts)
    result = planning.plan(jax.random.PRNGKey(0), counts, counts.shape[1],
                           replay_samples=SAMPLES, k=3, subset_sizes=(2,), predictor="plug-in",
                           rules=("agent-forest", "model-switch"))
    for rule in ("agent-forest", "model-switch"):
        group = [c for c in result.candidates if c.rule == rule]
        assert len(group) == 6  # every pair once
        assert {MODELS[m] for m in group[0].models} == {"strong-a", "strong-b"}
    switch = [c for c in result.candidates if c.rule == "model-switch"]
    forest = [c for c in result.candidates if c.rule == "agent-forest"]
    assert all(c.cost == 6.0 for c in forest)
    # Early stopping: the strong models are unanimous on most questions, so a chain that
    # starts with one of them pays much less than both models' 6 samples.
    assert all(3.0 <= c.cost < 6.0 for c in switch)
    assert min(c.cost for c in switch if "strong-a" == MODELS[c.models[0]]) < 4.5


def test_budget_split_lets_model_switch_compete_at_its_expected_cost(fixture_file):
    # Budget 4 samples per question: SLM-MUX affords a pair at k = 2 at most, ModelSwitch a
    # strong -> strong chain at n = 3 whenever the first model is usually unanimous.
    sample_set = load_samples(fixture_file)
    counts = np.asarray(sample_set.counts)
    result = planning.plan(jax.random.PRNGKey(0), counts, counts.shape[1],
                           replay_samples=SAMPLES, k=3, subset_sizes=(2,), predictor="plug-in",
                           rules=("slm-mux", "model-switch"), budgets=(4,), max_budget_size=2)
    (choice,) = result.budget
    # By construction the strong pair is unanimous on 2/3 of the questions: its chain at n = 3
    # costs ~3.6 in expectation, below the budget that caps SLM-MUX at k = 2.
    assert choice.rule == "model-switch"
    assert {MODELS[m] for m in choice.models} == {"strong-a", "strong-b"}
    assert choice.k == 3 and choice.expected_cost <= 4.0
    assert "best SLM-MUX choice" in choice.reason
    assert all(len(point) == 5 for point in result.front)
    assert any(point[4] == "model-switch" and point[3] == 3 for point in result.front)


# ----------------------------------------------------------------------------- unseen questions


def test_stratified_population_draws_put_generic_failures_among_unseen_questions():
    # A pilot where every model is right on every question: the plain bootstrap predicts 100 %
    # for every draw, the stratified law predicts some unseen questions that all models miss.
    counts = np.zeros((2, 6, 3), dtype=int)
    counts[:, :, 0] = 2
    kwargs = dict(num_draws=20, svi_steps=30)
    plain = planning.population_draws(jax.random.PRNGKey(7), counts, 40, 2, unseen="bootstrap",
                                      **kwargs)
    strat = planning.population_draws(jax.random.PRNGKey(7), counts, 40, 2, unseen="stratified",
                                      **kwargs)
    assert plain.shape == strat.shape == (2, 20 * 40, 3)
    # Questions on which every model gave both samples to the shared wrong answer: the plain
    # bootstrap gets them only by chance from the pilot posteriors (near-certain correct); the
    # stratified law puts ~0.5/7 of the 34 x 20 unseen questions there.
    plain_failed = int((plain[:, :, 1] == 2).all(axis=0).sum())
    strat_failed = int((strat[:, :, 1] == 2).all(axis=0).sum())
    assert plain_failed <= 5
    assert 15 <= strat_failed <= 34 * 20 / 4


def test_plan_command_offers_every_unseen_law():
    from slmmux_run.cli import build_parser

    parser = build_parser()
    plan_parser = parser._subparsers._group_actions[0].choices["plan"]
    (unseen,) = [a for a in plan_parser._actions if a.dest == "unseen"]
    assert set(unseen.choices) == {*planning.UNSEEN_LAWS, "population"}
