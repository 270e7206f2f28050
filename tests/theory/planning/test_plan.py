"""Tests of slmmux_theory.planning.plan: the plan from a pilot (library level).

Fixture: 4 synthetic models on 30 questions × 6 samples. Models 0 and 1 ("strong") are right
95 % of the time and wrong on DIFFERENT questions; models 2 and 3 ("weak") are right 40 % of
the time and otherwise give the same wrong answer. So the best pair is (0, 1) by construction,
far ahead of every pair with a weak model. (The same generator as the runner's plan fixture.)
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from slmmux_theory.planning import plan as planning

QUESTIONS, SAMPLES = 30, 6


def toy_counts() -> np.ndarray:
    """Counts [4 models, 30 questions, 3 slots (correct, the one wrong answer, ⊥)]."""
    rng = np.random.default_rng(1234)
    shaky = {0: set(range(0, 10)), 1: set(range(10, 20))}
    counts = np.zeros((4, QUESTIONS, 3), dtype=np.int64)
    for model in range(4):
        for q in range(QUESTIONS):
            p_right = (0.6 if q in shaky[model] else 1.0) if model in shaky else 0.4
            right = sum(rng.random() < p_right for _ in range(SAMPLES))
            counts[model, q] = [right, SAMPLES - right, 0]
    return counts


def test_draw_pilot_is_seeded_and_without_replacement():
    first, again = planning.draw_pilot(50, 20, 3), planning.draw_pilot(50, 20, 3)
    np.testing.assert_array_equal(first, again)
    assert len(set(first.tolist())) == 20
    assert not np.array_equal(first, planning.draw_pilot(50, 20, 4))


def test_plug_in_interval_shrinks_to_a_point_when_the_pilot_is_the_population():
    result = planning.plan(jax.random.PRNGKey(0), toy_counts(), QUESTIONS,
                           replay_samples=SAMPLES, k=3, subset_sizes=(2,), predictor="plug-in")
    for candidate in result.candidates:
        assert candidate.interval[0] == pytest.approx(candidate.interval[1], abs=1e-12)
    assert result.candidates[0].models == (0, 1)


def test_plan_ranks_pair_rules_and_prices_model_switch_early_stopping():
    counts = toy_counts()
    result = planning.plan(jax.random.PRNGKey(0), counts, counts.shape[1],
                           replay_samples=SAMPLES, k=3, subset_sizes=(2,), predictor="plug-in",
                           rules=("agent-forest", "model-switch"))
    for rule in ("agent-forest", "model-switch"):
        group = [c for c in result.candidates if c.rule == rule]
        assert len(group) == 6  # every pair once
        assert set(group[0].models) == {0, 1}
    switch = [c for c in result.candidates if c.rule == "model-switch"]
    forest = [c for c in result.candidates if c.rule == "agent-forest"]
    assert all(c.cost == 6.0 for c in forest)
    # Early stopping: the strong models are unanimous on most questions, so a chain that
    # starts with one of them pays much less than both models' 6 samples.
    assert all(3.0 <= c.cost < 6.0 for c in switch)
    assert min(c.cost for c in switch if c.models[0] == 0) < 4.5


def test_budget_split_lets_model_switch_compete_at_its_expected_cost():
    # Budget 4 samples per question: SLM-MUX affords a pair at k = 2 at most, ModelSwitch a
    # strong -> strong chain at n = 3 whenever the first model is usually unanimous.
    counts = toy_counts()
    result = planning.plan(jax.random.PRNGKey(0), counts, counts.shape[1],
                           replay_samples=SAMPLES, k=3, subset_sizes=(2,), predictor="plug-in",
                           rules=("slm-mux", "model-switch"), budgets=(4,), max_budget_size=2)
    (choice,) = result.budget
    # By construction the strong pair is unanimous on 2/3 of the questions: its chain at n = 3
    # costs ~3.6 in expectation, below the budget that caps SLM-MUX at k = 2.
    assert choice.rule == "model-switch"
    assert set(choice.models) == {0, 1}
    assert choice.k == 3 and choice.expected_cost <= 4.0
    assert "best SLM-MUX choice" in choice.reason
    assert all(len(point) == 5 for point in result.front)
    assert any(point[4] == "model-switch" and point[3] == 3 for point in result.front)


def test_slm_mux_budget_choice_says_why():
    counts = toy_counts()
    result = planning.plan(jax.random.PRNGKey(0), counts, counts.shape[1],
                           replay_samples=SAMPLES, k=3, subset_sizes=(2,), predictor="plug-in",
                           budgets=(6,))
    (choice,) = result.budget
    assert choice.rule == "slm-mux" and len(choice.models) * choice.k <= 6
    assert "one more model" in choice.reason and "one more sample" in choice.reason
    costs = [point[0] for point in result.front]
    assert costs == sorted(costs) and max(costs) <= 6 * 4


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(rules=("debate",)), "rules must be a non-empty subset"),
        (dict(k=7), "exceeds the replayed samples"),
        (dict(subset_sizes=(5,)), "subset sizes must lie in 1..4"),
        (dict(predictor="oracle"), "predictor must be one of"),
    ],
)
def test_plan_rejects_bad_arguments(kwargs, message):
    options = dict(replay_samples=SAMPLES, subset_sizes=(2,), predictor="plug-in") | kwargs
    with pytest.raises(ValueError, match=message):
        planning.plan(jax.random.PRNGKey(0), toy_counts(), QUESTIONS, **options)


def test_tied_candidates_share_p_best_and_the_plan_warns():
    # Four copies of one model: every pair has the same accuracy in every draw, so each of the
    # six pairs is "best" in a sixth of the credit, not the first in all of it.
    counts = np.repeat(toy_counts()[2:3], 4, axis=0)
    result = planning.plan(jax.random.PRNGKey(0), counts, QUESTIONS, replay_samples=SAMPLES,
                           k=3, subset_sizes=(2,), predictor="plug-in")
    shares = [c.p_best for c in result.candidates]
    np.testing.assert_allclose(shares, 1 / 6, rtol=1e-12)
    assert result.indistinct["slm-mux/K=2/k=3"]
    assert any("too small to tell" in line for line in result.warnings)


def test_expected_tokens_follow_the_cost_model_with_early_stopping():
    counts = toy_counts()
    tokens = np.array([10.0, 20.0, 40.0, 80.0])
    result = planning.plan(jax.random.PRNGKey(0), counts, QUESTIONS, replay_samples=SAMPLES,
                           k=3, subset_sizes=(2,), predictor="plug-in",
                           rules=("slm-mux", "model-switch"), cost_per_sample=tokens,
                           tokens_per_sample=tokens)
    for c in result.candidates:
        # Cost per sample equal to tokens per sample: the two must agree.
        assert c.expected_tokens == pytest.approx(c.cost, rel=1e-12)
        if c.rule == "slm-mux":  # every model pays k samples
            assert c.expected_tokens == pytest.approx(3 * tokens[list(c.models)].sum())
        else:  # first model always, second only when the first did not stop
            first, second = tokens[list(c.models)]
            assert 3 * first <= c.expected_tokens < 3 * (first + second)
    unpriced = planning.plan(jax.random.PRNGKey(0), counts, QUESTIONS, replay_samples=SAMPLES,
                             k=3, subset_sizes=(2,), predictor="plug-in")
    assert all(np.isnan(c.expected_tokens) for c in unpriced.candidates)


def test_a_one_model_pilot_plans_its_single_model():
    result = planning.plan(jax.random.PRNGKey(0), toy_counts()[:1], QUESTIONS,
                           replay_samples=SAMPLES, k=3, subset_sizes=(1,), predictor="plug-in",
                           rules=("slm-mux", "model-switch"))
    (only,) = result.candidates
    assert only.models == (0,) and only.p_best == 1.0


def test_fresh_samples_beyond_the_pilot_follow_the_binomial_majority():
    # One model, two pilot samples per question over (correct, one wrong answer, ⊥): the plug-in
    # plan of k = 3 fresh samples is the 3-sample majority of the pilot frequency p,
    # p^3 + 3 p^2 (1 - p), averaged over the questions (k exceeds the pilot's 2 samples).
    right = np.array([0, 1, 2, 2, 1, 0, 2, 1])
    counts = np.stack([right, 2 - right, np.zeros_like(right)], axis=-1)[None]
    result = planning.plan(jax.random.PRNGKey(0), counts, len(right), replay_samples=3, k=3,
                           subset_sizes=(1,), predictor="plug-in", fresh_samples=True)
    p = right / 2
    (only,) = result.candidates
    assert only.predicted_accuracy == pytest.approx(np.mean(p**3 + 3 * p**2 * (1 - p)), abs=1e-12)
